"""Consent: faces of people enrolled in a gallery stay unblurred; everyone else is blurred."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import veil
from veil.anonymize import BlurWork, blur_file
from veil.match import Gallery, enroll, generate_key


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


@pytest.mark.data
def test_someone_else_is_still_blurred(astronaut: np.ndarray, tmp_path: Path, shared_data: Path) -> None:
    photo = veil.write_image(astronaut, tmp_path / "astronaut.png")
    stranger = veil.read_image(shared_data / "lfw" / "images" / "Tony_Blair" / "Tony_Blair_0001.jpg")
    gallery = _gallery_of(tmp_path, stranger, "tony")
    assert blur_file(photo, tmp_path / "blurred.png", BlurWork(keep=gallery)) == 1
