"""Alignment puts landmarks on the template; paste-back changes only the face region."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import veil
from veil.align import TEMPLATES, alignment_matrix
from veil.errors import InputError
from veil.types import Face

# Five landmarks fitted with a 4-parameter similarity leave a residual of a few
# pixels (faces are not all shaped like the template).
TEMPLATE_RESIDUAL_FRACTION = 0.05


@pytest.fixture(scope="module")
def face(astronaut: np.ndarray) -> Face:
    return veil.detect(astronaut)[0]


@pytest.mark.parametrize("size", [112, 150, 160])
def test_landmarks_land_on_the_template(astronaut: np.ndarray, face: Face, size: int) -> None:
    aligned = veil.align(astronaut, face, size=size)
    assert aligned.crop.shape == (size, size, 3) and aligned.crop.dtype == np.uint8
    points = np.hstack([np.asarray(face.landmarks), np.ones((5, 1))]) @ aligned.matrix.T
    error = np.linalg.norm(points - TEMPLATES["arcface"] * size, axis=1)
    assert error.max() <= TEMPLATE_RESIDUAL_FRACTION * size


def test_margin_shows_more_context(astronaut: np.ndarray, face: Face) -> None:
    tight = alignment_matrix(face, size=160)
    loose = alignment_matrix(face, size=160, margin=0.25)
    assert np.linalg.norm(loose[:, :2], 2) < np.linalg.norm(
        tight[:, :2], 2
    )  # a smaller scale: more photo per pixel


def _footprint(image: np.ndarray, face: Face, size: int) -> np.ndarray:
    """Photo pixels the warped-back crop can touch."""
    inverse = cv2.invertAffineTransform(alignment_matrix(face, size=size))
    corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64)
    polygon = corners @ inverse[:, :2].T + inverse[:, 2]
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(polygon).astype(np.int32), 1)
    return cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)


@pytest.mark.parametrize("size", [112, 160])
def test_paste_back_changes_only_the_face_region(astronaut: np.ndarray, face: Face, size: int) -> None:
    aligned = veil.align(astronaut, face, size=size)
    edited = 255 - aligned.crop
    pasted = veil.paste_back(astronaut, face, edited)
    changed = (pasted != astronaut).any(axis=2)
    inside = _footprint(astronaut, face, size)
    assert changed.sum() > 0.5 * inside.sum()  # the edit shows
    assert not (changed & ~inside).any()  # and nothing outside the face region moved
    assert np.array_equal(pasted[~inside], astronaut[~inside])


def test_paste_back_of_the_unedited_crop_is_close(astronaut: np.ndarray, face: Face) -> None:
    aligned = veil.align(astronaut, face, size=400)  # large enough that resampling loses little
    pasted = veil.paste_back(astronaut, face, aligned.crop)
    diff = np.abs(pasted.astype(int) - astronaut.astype(int))
    assert np.median(diff[diff > 0]) <= 2


def test_paste_back_does_not_modify_its_input(astronaut: np.ndarray, face: Face) -> None:
    before = astronaut.copy()
    veil.paste_back(astronaut, face, np.zeros((112, 112, 3), np.uint8))
    assert np.array_equal(before, astronaut)


def test_degenerate_landmarks_are_an_input_error(astronaut: np.ndarray) -> None:
    flat = Face(box=(0, 0, 10, 10), score=1.0, landmarks=((5.0, 5.0),) * 5)
    with pytest.raises(InputError, match="landmarks do not define a face pose"):
        veil.align(astronaut, flat)
