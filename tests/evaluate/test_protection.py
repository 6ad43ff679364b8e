"""The cloaking protection protocols: splits, outcomes, countermeasures, the card and the command."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from veil.anonymize import anonymize_faces
from veil.cli import app
from veil.detect import get_detector
from veil.errors import InputError, UnknownModelError
from veil.evaluate import (
    COUNTERMEASURES,
    CardImage,
    CardSection,
    CardTable,
    CloakedPhoto,
    ProtectionSplit,
    QualitySummary,
    before_after,
    evaluate_protection,
    protection_outcomes,
    render_card,
    split_protection,
)
from veil.io import read_image, write_image
from veil.quality import Quality
from veil.types import ProgressUpdate

runner = CliRunner()

IDENTITIES = 5
PHOTOS = 3  # per identity: one cloaked, two held out; few, because every photo is embedded many times
HEAVY_BLUR = 0.5  # anonymize_faces strength: sigma of half the face, no recognizer sees past it


def _touch(root: Path, *names: str) -> None:
    """Empty files at ``root/name``: splitting reads names, never pixels."""
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).touch()


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """ann (one photo cloaked, as PNG), cat (every photo cloaked), bob and dan unprotected."""
    clean, cloaked = tmp_path / "clean", tmp_path / "cloaked"
    _touch(clean, "ann/1.jpg", "ann/2.jpg", "ann/3.jpg", "bob/1.jpg", "bob/2.jpg", "cat/1.jpg", "dan/1.jpg")
    _touch(cloaked, "ann/2.png", "cat/1.png")
    return clean, cloaked


def test_split_pairs_by_stem_and_leaves_out_fully_cloaked_identities(folders: tuple[Path, Path]) -> None:
    clean, cloaked = folders
    split = split_protection(clean, cloaked)
    assert split.cloaked == (CloakedPhoto("ann", clean / "ann/2.jpg", cloaked / "ann/2.png"),)
    assert split.held_out == (("ann", clean / "ann/1.jpg"), ("ann", clean / "ann/3.jpg"))
    assert split.distractors == (
        ("bob", clean / "bob/1.jpg"),
        ("bob", clean / "bob/2.jpg"),
        ("dan", clean / "dan/1.jpg"),
    )
    assert split.skipped == ("cat",)
    assert split.protected == ("ann",)
    assert split.probes("poisoning") == ("ann", "ann") and split.probes("evasion") == ("ann",)


@pytest.mark.parametrize(
    ("clean_files", "cloaked_files", "path", "reason"),
    [
        (
            ["ann/1.jpg", "ann/2.jpg", "bob/1.jpg"],
            ["ann/9.png"],
            "cloaked/ann/9.png",
            r"ann/9\.\* \(found: none\)",
        ),
        (["ann/1.jpg", "ann/2.jpg", "bob/1.jpg"], ["eve/1.png"], "cloaked/eve/1.png", "found: none"),
        (
            ["ann/1.jpg", "ann/1.png", "ann/2.jpg", "bob/1.jpg"],
            ["ann/1.png"],
            "cloaked/ann/1.png",
            r"found: 1\.jpg, 1\.png",
        ),
        (
            ["ann/1.jpg", "ann/2.jpg", "bob/1.jpg"],
            ["ann/1.png", "ann/1.webp"],
            "cloaked/ann/1.webp",
            "second cloaked version",
        ),
        (["ann/1.jpg", "bob/1.jpg"], ["ann/1.png"], "cloaked", "every photo of every protected identity"),
        (["ann/1.jpg", "ann/2.jpg"], ["ann/1.png"], "clean", "only one identity"),
        (["ann/1.jpg", "ann/2.jpg"], ["notes.txt"], "cloaked", "no protected identity"),
    ],
)
def test_bad_folders_name_the_file_and_the_reason(
    tmp_path: Path, clean_files: list[str], cloaked_files: list[str], path: str, reason: str
) -> None:
    _touch(tmp_path / "clean", *clean_files)
    _touch(tmp_path / "cloaked", *cloaked_files)
    with pytest.raises(InputError, match=reason) as caught:
        split_protection(tmp_path / "clean", tmp_path / "cloaked")
    assert caught.value.path == str(tmp_path / path)


def test_missing_folders_are_input_errors(folders: tuple[Path, Path], tmp_path: Path) -> None:
    clean, cloaked = folders
    for pair in ((tmp_path / "absent", cloaked), (clean, tmp_path / "absent")):
        with pytest.raises(InputError, match="absent: not a folder"):
            evaluate_protection(*pair)


def _split(cloaked: list[str], held_out: list[str], distractors: list[str]) -> ProtectionSplit:
    """A split of made-up photos of the identities named, for tests on embeddings alone."""
    return ProtectionSplit(
        tuple(CloakedPhoto(i, Path(f"{i}{n}.jpg"), Path(f"{i}{n}.png")) for n, i in enumerate(cloaked)),
        tuple((i, Path(f"{i}{n}.jpg")) for n, i in enumerate(held_out)),
        tuple((i, Path(f"{i}{n}.jpg")) for n, i in enumerate(distractors)),
    )


def _unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_outcomes_follow_both_protocols() -> None:
    # ann's clean face points along x, bob's along y, the distractor xavier's along z.
    split = _split(["ann", "bob"], ["ann", "bob"], ["xavier"])
    held, xavier = _unit([1, 0.5, 0], [0, 1, 0]), _unit([0, 0, 1])
    # ann's cloak turns her towards xavier but keeps some of her; bob's photo is not cloaked.
    outcomes = protection_outcomes(split, _unit([0.6, 0, 0.8], [0, 1, 0]), held, xavier)
    # Poisoning: ann's clean probe still scores best with her cloaked entry (0.54 against bob's 0.45).
    assert outcomes["poisoning"].tolist() == [False, False]
    # Evasion: ann's cloaked probe is nearer xavier (0.8) than her clean entry (0.54).
    assert outcomes["evasion"].tolist() == [True, False]
    # A cloak that turns her fully into xavier also poisons: her probe's best match becomes bob.
    outcomes = protection_outcomes(split, _unit([0, 0, 1], [0, 1, 0]), held, xavier)
    assert outcomes["poisoning"].tolist() == [True, False]


def test_outcomes_need_rows_that_match_the_split() -> None:
    split = _split(["ann"], ["ann"], [])
    no_distractors = np.zeros((0, 2))
    with pytest.raises(InputError, match="one id per embedding"):
        protection_outcomes(split, _unit([1, 0], [0, 1]), _unit([1, 0]), no_distractors)
    with pytest.raises(InputError, match=r"one width D, got shapes \(1, 2\), \(1, 3\)"):
        protection_outcomes(split, _unit([1, 0]), _unit([1, 0, 0]), no_distractors)


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """An odd-sized, textured photo (odd sides catch off-by-one resizing)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:201, :151])


@pytest.mark.parametrize("name", sorted(COUNTERMEASURES))
def test_countermeasures_keep_the_shape_and_leave_the_input_alone(scene: np.ndarray, name: str) -> None:
    before = scene.copy()
    result = COUNTERMEASURES[name](scene)
    assert result.shape == scene.shape and result.dtype == np.uint8
    assert result is not scene
    assert np.array_equal(scene, before)
    difference = np.abs(result.astype(int) - scene).mean()
    assert (difference == 0) if name == "none" else (0.5 < difference < 10), difference


def test_quality_summary() -> None:
    assert QualitySummary.of([]) is None
    summary = QualitySummary.of([Quality(0.98, 0.01, 40.0), Quality(0.94, 0.03, 30.0)])
    assert summary == QualitySummary(n_photos=2, mean_dssim=0.02, max_dssim=0.03, mean_psnr=35.0)
    identical = QualitySummary.of([Quality(1.0, 0.0, math.inf)])
    assert identical is not None and identical.to_dict()["mean_psnr"] is None


def test_card_is_one_escaped_self_contained_page(scene: np.ndarray) -> None:
    pair = before_after(scene, scene[:100], height_px=50)
    assert pair.shape == (50, 38 + 4 + 76, 3) and pair.dtype == np.uint8
    page = render_card(
        "<Ann's> card",
        [
            CardSection(
                "a & b",
                ("<script>alert(1)</script>",),
                CardTable(("<x>",), (("1 < 2",),)),
                (CardImage.of(pair, caption='"quoted" <caption>'),),
            )
        ],
    )
    assert "<title>&lt;Ann&#x27;s&gt; card</title>" in page and "<h2>a &amp; b</h2>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<th>&lt;x&gt;</th>" in page and "<td>1 &lt; 2</td>" in page
    assert 'alt="&quot;quoted&quot; &lt;caption&gt;"' in page
    assert page.count('<img src="data:image/png;base64,') == 1
    assert "http" not in page and "<link" not in page


# With real photos and models -------------------------------------------------------------


@pytest.fixture(scope="module")
def celeba(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Four photos of each of the first five CelebA identities; the fourth is never in a clean set."""
    images = shared_data / "celeba" / "images"
    identities = sorted(folder.name for folder in images.iterdir())[:IDENTITIES]
    root = tmp_path_factory.mktemp("celeba")
    photos = {}
    for identity in identities:
        (root / identity).mkdir()
        files = sorted((images / identity).glob("*.jpg"))[: PHOTOS + 1]
        photos[identity] = [Path(shutil.copy(file, root / identity)) for file in files]
    return photos


def _clean_folder(celeba: dict[str, list[Path]], root: Path, *, identities: int = IDENTITIES) -> Path:
    """The first PHOTOS photos of each of the first ``identities`` under ``root/clean``."""
    for identity, files in sorted(celeba.items())[:identities]:
        (root / "clean" / identity).mkdir(parents=True)
        for file in files[:PHOTOS]:
            shutil.copy(file, root / "clean" / identity)
    return root / "clean"


def _cloak(path: Path, image: np.ndarray, cloaked: Path) -> None:
    """Save ``image`` as the cloaked version of clean photo ``path`` (as the cloak tool does: PNG)."""
    write_image(image, cloaked / path.parent.name / f"{path.stem}.png")


@pytest.mark.data
@pytest.mark.slow
def test_copies_protect_exactly_as_much_as_no_cloak(celeba: dict[str, list[Path]], tmp_path: Path) -> None:
    clean = _clean_folder(celeba, tmp_path)
    protected = sorted(celeba)[:2]
    for identity in protected:
        first = sorted((clean / identity).iterdir())[0]
        _cloak(first, read_image(first), tmp_path / "cloaked")
    updates: list[ProgressUpdate] = []
    report = evaluate_protection(
        clean, tmp_path / "cloaked", models=["sface"], out_dir=tmp_path / "out", progress=updates.append
    )
    assert report.protected == tuple(protected) and report.n_distractors == IDENTITIES - 2
    assert [(e.protocol, e.countermeasure) for e in report.rates] == [
        (protocol, cm) for cm in COUNTERMEASURES for protocol in ("poisoning", "evasion")
    ]
    for entry in report.rates:
        assert entry.recognizer == "sface" and entry.is_white_box
        assert entry.n_probes == (2 if entry.protocol == "evasion" else 2 * (PHOTOS - 1))
        assert entry.rate == entry.baseline, entry
    for summary in (report.whole_quality, report.face_quality):
        assert summary == QualitySummary(n_photos=2, mean_dssim=0.0, max_dssim=0.0, mean_psnr=math.inf)
    assert set(report.fallbacks) == {f"{s}:{cm}" for s in ("clean", "cloaked") for cm in COUNTERMEASURES}
    assert [u.done for u in updates] == list(range(1, IDENTITIES * PHOTOS + 1))
    assert json.loads((tmp_path / "out" / "protection.json").read_text()) == report.to_dict()
    card = (tmp_path / "out" / "protection.html").read_text()
    assert card.count('<img src="data:image/png;base64,') == 1 + 2  # the chart and two examples
    assert "<th>jpeg75</th>" in card and card.count("<td>white-box</td>") == 2  # a row per protocol
    assert "http" not in card


@pytest.mark.data
def test_blurred_and_swapped_photos_protect(celeba: dict[str, list[Path]], tmp_path: Path) -> None:
    clean = _clean_folder(celeba, tmp_path)
    blurred, swapped, _, stranger, _ = sorted(celeba)
    cloaked = tmp_path / "cloaked"
    first = {identity: sorted((clean / identity).iterdir())[0] for identity in (blurred, swapped)}
    image = read_image(first[blurred])
    faces = get_detector("auto").detect(image)
    _cloak(first[blurred], anonymize_faces(image, faces, strength=HEAVY_BLUR), cloaked)
    someone_else = read_image(celeba[stranger][PHOTOS])  # a photo of a distractor, new to the gallery
    assert someone_else.shape != read_image(first[swapped]).shape
    _cloak(first[swapped], someone_else, cloaked)
    labels = tmp_path / "labels.csv"
    labels.write_text(f"identity,cloak\n{blurred},blur\n{swapped},swap\n{stranger},none\n")
    report = evaluate_protection(
        clean, cloaked, models=["sface"], white_box=[], countermeasures=[], labels_csv=labels
    )
    assert [p.photo.identity for p in report.errors] == [swapped]
    assert "differs from the clean photo's" in str(report.errors[0].error)
    (photo,) = [p for p in report.photos if p.photo.identity == blurred]
    assert photo.face is not None and photo.whole is not None
    assert photo.face.dssim > photo.whole.dssim > 0  # the blur is on the face
    evasion = report.rate("sface", "evasion", "none")
    assert not evasion.is_white_box and evasion.n_probes == 2
    groups = {group.group: group for group in evasion.by_group["cloak"]}
    assert set(groups) == {"blur", "swap"}
    assert groups["swap"].rate == groups["blur"].rate == 1.0
    assert [g.rate for g in evasion.baseline_by_group["cloak"]] == [0.0, 0.0]
    assert report.rate("sface", "poisoning", "none").rate > report.rate("sface", "poisoning", "none").baseline


@pytest.mark.data
def test_unreadable_photos_and_unlabelled_identities_are_named(
    celeba: dict[str, list[Path]], tmp_path: Path
) -> None:
    clean = _clean_folder(celeba, tmp_path)
    identity = sorted(celeba)[0]
    first = sorted((clean / identity).iterdir())[0]
    _cloak(first, read_image(first), tmp_path / "cloaked")
    labels = tmp_path / "labels.csv"
    labels.write_text("identity,group\nsomeone,a\n")
    with pytest.raises(InputError, match=f"no row for protected identity '{identity}'"):
        evaluate_protection(clean, tmp_path / "cloaked", labels_csv=labels)
    broken = tmp_path / "cloaked" / identity / f"{first.stem}.png"
    broken.write_bytes(b"not a photo")
    with pytest.raises(InputError) as caught:
        evaluate_protection(clean, tmp_path / "cloaked", models=["sface"])
    assert caught.value.path == str(broken)


def test_unknown_names_are_refused_before_any_work(tmp_path: Path) -> None:
    for options, name in (
        ({"models": ["sface+facenet"]}, "unknown recognizer"),
        ({"white_box": ["dlib"]}, "unknown white-box recognizer 'dlib'; choose one of: facenet, sface"),
        ({"countermeasures": ["crop"]}, "unknown countermeasure"),
    ):
        with pytest.raises(UnknownModelError, match=name):
            evaluate_protection(tmp_path / "absent", tmp_path / "absent", **options)  # type: ignore[arg-type]


# The command -----------------------------------------------------------------------------


def test_command_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(
        app, ["eval", "protection", "--clean", str(tmp_path), "--cloaked", str(tmp_path / "x")]
    )
    assert missing.exit_code == 2 and f"error: {tmp_path / 'x'}: not a folder" in missing.stderr
    unknown = runner.invoke(
        app, ["eval", "protection", "--clean", ".", "--cloaked", ".", "--countermeasures", "crop"]
    )
    assert unknown.exit_code == 2 and "unknown countermeasure 'crop'" in unknown.stderr
    assert runner.invoke(app, ["eval", "protection", "--clean", "."]).exit_code == 2


@pytest.mark.data
def test_command_prints_json_and_tables_and_writes_the_card(
    celeba: dict[str, list[Path]], tmp_path: Path
) -> None:
    clean = _clean_folder(celeba, tmp_path, identities=3)  # the smallest useful set: the command is thin
    first = sorted((clean / sorted(celeba)[0]).iterdir())[0]
    _cloak(first, COUNTERMEASURES["blur1"](read_image(first)), tmp_path / "cloaked")
    command = ["eval", "protection", "--clean", str(clean), "--cloaked", str(tmp_path / "cloaked")]
    command += ["--models", "sface", "--countermeasures", "none"]
    result = runner.invoke(app, [*command, "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record == json.loads((tmp_path / "out" / "protection.json").read_text())
    assert [(r["protocol"], r["white_box"]) for r in record["rates"]] == [
        ("poisoning", True),
        ("evasion", True),
    ]
    assert record["quality"]["whole"]["mean_dssim"] > 0 and record["quality"]["face"]["max_dssim"] > 0
    assert (tmp_path / "out" / "protection.html").read_text().startswith("<!DOCTYPE html>")
    table = runner.invoke(app, [*command, "--white-box", ""])
    assert table.exit_code == 0 and table.stdout == ""
    assert "black" in table.stderr and "visual quality" in table.stderr
