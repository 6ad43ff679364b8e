"""Consent: faces of people enrolled in a gallery stay unblurred; everyone else is blurred."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import veil
from veil.anonymize import CONSENT_STREAK, BlurWork, blur_file, blur_files, blur_video
from veil.errors import GalleryFileError
from veil.io import VideoReader
from veil.match import Gallery, enroll, generate_key

# Mean absolute change in the face box, in 8-bit levels: re-encoding alone (x264 CRF 20) causes about 1-2,
# a blur far more.
RE_ENCODED = 4.0
BLURRED = 12.0


def _gallery_of(tmp_path: Path, image: np.ndarray, name: str) -> Path:
    gallery = Gallery("sface", 128)
    enroll(gallery, name, [image])
    return gallery.save(tmp_path / f"{name}.veil")


@pytest.fixture(autouse=True)
def gallery_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_KEY", generate_key())


def test_an_enrolled_person_is_left_unblurred(astronaut: np.ndarray, tmp_path: Path) -> None:
    photo = veil.write_image(astronaut, tmp_path / "astronaut.png")
    kept = _gallery_of(tmp_path, np.ascontiguousarray(astronaut[:, ::-1]), "eileen")  # another photo of her
    assert blur_file(photo, tmp_path / "kept.png", BlurWork(keep=kept)) == 0
    assert np.array_equal(veil.read_image(tmp_path / "kept.png"), astronaut)


@pytest.mark.parametrize("gallery", ["missing.veil", "photo.png"])
def test_a_consent_gallery_that_cannot_be_loaded_stops_the_job_before_it_starts(
    astronaut: np.ndarray, tmp_path: Path, gallery: str
) -> None:
    photo = veil.write_image(astronaut, tmp_path / "in" / "photo.png")
    work = BlurWork(keep=tmp_path / "in" / gallery)
    with pytest.raises(GalleryFileError, match=gallery.replace(".", r"\.")):
        blur_files([tmp_path / "in"], tmp_path / "out", work)
    with pytest.raises(GalleryFileError):
        blur_file(photo, tmp_path / "one.png", work)
    assert not (tmp_path / "out").exists() and not (tmp_path / "one.png").exists()


@pytest.mark.data
def test_someone_else_is_still_blurred(astronaut: np.ndarray, tmp_path: Path, shared_data: Path) -> None:
    photo = veil.write_image(astronaut, tmp_path / "astronaut.png")
    stranger = veil.read_image(shared_data / "lfw" / "images" / "Tony_Blair" / "Tony_Blair_0001.jpg")
    gallery = _gallery_of(tmp_path, stranger, "tony")
    assert blur_file(photo, tmp_path / "blurred.png", BlurWork(keep=gallery)) == 1


def _video_of_astronaut(tmp_path: Path, canvas: Path, make_test_video: Callable[..., Path]) -> Path:
    return make_test_video(tmp_path / "clip.mp4", photos=[canvas], seconds=0.6, fps=25, size=(640, 360))


def _face_changes(source: Path, output: Path) -> list[float]:
    """Per frame, the mean absolute change inside the astronaut's face box."""
    changes = []
    with VideoReader(source) as before, VideoReader(output) as after:
        for original, written in zip(before, after, strict=True):
            x1, y1, x2, y2 = (round(v) for v in veil.detect(original.image)[0].box)
            diff = np.abs(original.image.astype(np.int16) - written.image)[y1:y2, x1:x2]
            changes.append(float(diff.mean()))
    return changes


def test_in_a_video_an_enrolled_person_is_unblurred_after_two_matching_checks(
    astronaut: np.ndarray, astronaut_canvas: Path, make_test_video: Callable[..., Path], tmp_path: Path
) -> None:
    clip = _video_of_astronaut(tmp_path, astronaut_canvas, make_test_video)
    kept = _gallery_of(tmp_path, np.ascontiguousarray(astronaut[:, ::-1]), "eileen")
    report = blur_video(clip, tmp_path / "out.mp4", keep=kept)
    assert (report.tracks, report.tracks_kept) == (1, 1)
    changes = _face_changes(clip, tmp_path / "out.mp4")
    assert changes[0] > BLURRED  # the first check alone does not uncover her
    assert max(changes[CONSENT_STREAK - 1 :]) < RE_ENCODED
    assert blur_file(clip, tmp_path / "work.mp4", BlurWork(keep=kept)) == 0


@pytest.mark.data
def test_in_a_video_a_stranger_stays_blurred(
    astronaut_canvas: Path, make_test_video: Callable[..., Path], tmp_path: Path, shared_data: Path
) -> None:
    clip = _video_of_astronaut(tmp_path, astronaut_canvas, make_test_video)
    stranger = veil.read_image(shared_data / "lfw" / "images" / "Tony_Blair" / "Tony_Blair_0001.jpg")
    report = blur_video(clip, tmp_path / "out.mp4", keep=_gallery_of(tmp_path, stranger, "tony"))
    assert report.tracks_kept == 0
    assert min(_face_changes(clip, tmp_path / "out.mp4")) > BLURRED
