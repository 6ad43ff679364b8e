"""The utility protocol: agreement of an ImageNet classifier before and after anonymization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from skimage import data

from veil.errors import InputError
from veil.evaluate import UtilityReport, classify, evaluate_utility, utility_report
from veil.io import read_image, write_image
from veil.types import ProgressUpdate

# A blur that leaves only colour blobs: no classifier can keep its answers through it.
STRONG_BLUR_SIGMA = 16
# Ten COCO photos with people are enough to see the metric move (about 20 s on a 2-core CPU).
COCO_PHOTOS = 10
# Measured on all 61 COCO photos with people: top-1 agreement 0.0 at sigma 16 (0.08 at sigma 8).
BLURRED_MAX_AGREEMENT = 0.3


def _blur(image: np.ndarray, sigma: float = STRONG_BLUR_SIGMA) -> np.ndarray:
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(sigma)))


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """Four public-domain photos with clear ImageNet subjects (scikit-image)."""
    return [
        np.ascontiguousarray(image)
        for image in (data.astronaut(), data.chelsea(), data.coffee(), data.rocket())
    ]


def test_identical_photos_agree_fully(photos: list[np.ndarray]) -> None:
    report = utility_report(photos, [photo.copy() for photo in photos])
    assert report == UtilityReport(n_photos=4, top1_agreement=1.0, top5_agreement=1.0)
    assert report.to_dict() == {
        "classifier": "efficientnet-lite0",
        "n_photos": 4,
        "top1_agreement": 1.0,
        "top1_agreement_low": pytest.approx(0.510, abs=1e-3),  # 4 of 4 agreeing proves little
        "top1_agreement_high": 1.0,
        "top5_agreement": 1.0,
    }
    assert report.top1_accuracy_drop is None


def test_agreement_interval_counts_photos() -> None:
    low, high = UtilityReport(n_photos=61, top1_agreement=52 / 61, top5_agreement=1.0).top1_agreement_interval
    assert (round(low, 3), round(high, 3)) == (0.743, 0.920)


def test_blurred_photos_agree_less(photos: list[np.ndarray]) -> None:
    report = utility_report(photos, [_blur(photo) for photo in photos])
    assert report.top1_agreement < 0.5
    assert report.top1_agreement <= report.top5_agreement < 1.0


def test_labels_give_the_accuracy_drop(photos: list[np.ndarray]) -> None:
    labels = classify(photos, top_k=1)[:, 0].tolist()  # labels the clean photos get right
    report = utility_report(photos, [_blur(photo) for photo in photos], labels=labels)
    assert report.top1_accuracy_before == report.top5_accuracy_before == 1.0
    assert report.top1_accuracy_after == report.top1_agreement
    assert report.top5_accuracy_after == report.top5_agreement
    assert report.top1_accuracy_drop == pytest.approx(1.0 - report.top1_agreement)
    assert report.top5_accuracy_drop == pytest.approx(1.0 - report.top5_agreement)
    assert set(report.to_dict()) >= {"top1_accuracy_drop", "top5_accuracy_before", "top5_accuracy_after"}


def test_wrong_labels_lower_accuracy_before(photos: list[np.ndarray]) -> None:
    right = classify(photos, top_k=1)[:, 0]
    wrong = (right + 500) % 1000
    labels = [*right[:2].tolist(), *wrong[2:].tolist()]
    report = utility_report(photos, photos, labels=labels)
    assert report.top1_accuracy_before == report.top1_accuracy_after == 0.5
    assert report.top1_accuracy_drop == 0.0


@pytest.mark.parametrize(
    ("after", "labels", "reason"),
    [
        (1, None, "4 photos before and 1 after"),
        (4, [1, 2, 3], "3 labels for 4 photos"),
        (4, [1, 2, 3, 1000], "class indices 0-999"),
        (4, [1, 2, 3, -1], "class indices 0-999"),
    ],
)
def test_bad_arguments_are_refused(
    photos: list[np.ndarray], after: int, labels: list[int] | None, reason: str
) -> None:
    with pytest.raises(InputError, match=reason):
        utility_report(photos, photos[:after], labels=labels)


def test_no_photos_is_refused() -> None:
    with pytest.raises(InputError, match="no photos"):
        utility_report([], [])


def _write_folders(root: Path, photos: list[np.ndarray], *, blur: bool = False) -> tuple[Path, Path]:
    """``root/clean`` and ``root/anonymized``, with one photo in a sub-folder; PNG so pixels survive."""
    clean, anonymized = root / "clean", root / "anonymized"
    for index, photo in enumerate(photos):
        name = f"album/{index}.png" if index == 0 else f"{index}.png"
        for folder, image in ((clean, photo), (anonymized, _blur(photo) if blur else photo)):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            write_image(image, folder / name)
    return clean, anonymized


def test_folders_are_paired_by_relative_path(tmp_path: Path, photos: list[np.ndarray]) -> None:
    clean, anonymized = _write_folders(tmp_path, photos)
    updates: list[ProgressUpdate] = []
    report = evaluate_utility(clean, anonymized, progress=updates.append)
    assert report == utility_report(photos, photos)
    assert [update.done for update in updates] == [1, 2, 3, 4]
    assert updates[-1].total == 4
    assert updates[0].current == str(Path("1.png"))


def test_a_pair_may_change_format_but_not_name(tmp_path: Path, photos: list[np.ndarray]) -> None:
    clean, anonymized = _write_folders(tmp_path, photos[:2])
    Image.fromarray(photos[1]).save(clean / "1.bmp")  # another format, as veil blur writes a GIF as PNG
    (clean / "1.png").unlink()
    assert evaluate_utility(clean, anonymized) == utility_report(photos[:2], photos[:2])
    write_image(photos[1], clean / "1.jpg")
    with pytest.raises(InputError, match=r"1\.bmp and 1\.jpg would pair with the same photo"):
        evaluate_utility(clean, anonymized)


def test_folder_labels_give_accuracies(tmp_path: Path, photos: list[np.ndarray]) -> None:
    clean, anonymized = _write_folders(tmp_path, photos, blur=True)
    top1 = classify([read_image(clean / "album/0.png"), *(read_image(clean / f"{i}.png") for i in (1, 2, 3))])
    labels_csv = tmp_path / "labels.csv"
    rows = [f"clean/{'album/0' if i == 0 else i}.png,{top1[i, 0]}" for i in range(4)]
    labels_csv.write_text("file,label\n" + "\n".join(rows) + "\n")
    report = evaluate_utility(clean, anonymized, labels_csv=labels_csv)
    assert report.top1_accuracy_before == 1.0
    assert report.top1_accuracy_drop is not None
    assert report.top1_accuracy_drop > 0


def test_a_photo_without_a_label_is_refused(tmp_path: Path, photos: list[np.ndarray]) -> None:
    clean, anonymized = _write_folders(tmp_path, photos[:2])
    labels_csv = tmp_path / "labels.csv"
    labels_csv.write_text("file,label\nclean/1.png,3\n")
    with pytest.raises(InputError, match=r"no label for .*0\.png"):
        evaluate_utility(clean, anonymized, labels_csv=labels_csv)
    labels_csv.write_text("file,label\nclean/1.png,3\nclean/album/0.png,cat\n")
    with pytest.raises(InputError, match="class indices"):
        evaluate_utility(clean, anonymized, labels_csv=labels_csv)


def test_missing_counterparts_are_named(tmp_path: Path, photos: list[np.ndarray]) -> None:
    clean, anonymized = _write_folders(tmp_path, photos[:3])
    (anonymized / "2.png").unlink()
    with pytest.raises(
        InputError, match=r"anonymized: 1 photos of .*clean have no counterpart here \(2.png\)"
    ):
        evaluate_utility(clean, anonymized)
    write_image(photos[2], anonymized / "2.png")
    write_image(photos[2], anonymized / "extra.png")
    with pytest.raises(
        InputError, match=r"clean: 1 photos of .*anonymized have no counterpart here \(extra.png\)"
    ):
        evaluate_utility(clean, anonymized)


def test_folders_must_exist_and_hold_photos(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    with pytest.raises(InputError, match="not a folder"):
        evaluate_utility(tmp_path / "absent", tmp_path / "other")
    with pytest.raises(InputError, match="no image files"):
        evaluate_utility(tmp_path / "empty", tmp_path / "other")


@pytest.mark.data
@pytest.mark.slow
def test_strong_blur_moves_agreement_on_coco_people(shared_data: Path) -> None:
    coco = shared_data / "coco"
    with_people = [
        image
        for image in sorted((coco / "images").glob("*.jpg"))
        if _has_person(coco / "labels" / f"{image.stem}.txt")
    ][:COCO_PHOTOS]
    assert len(with_people) == COCO_PHOTOS
    photos = [read_image(path) for path in with_people]
    assert utility_report(photos, photos).top1_agreement == 1.0
    assert utility_report(photos, [_blur(photo) for photo in photos]).top1_agreement <= BLURRED_MAX_AGREEMENT


def _has_person(labels: Path) -> bool:
    """Whether a YOLO labels file lists a person (class 0)."""
    return labels.is_file() and any(line.split()[:1] == ["0"] for line in labels.read_text().splitlines())
