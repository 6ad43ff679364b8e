"""The face a dataset photo is about: the largest near the middle, not a bigger bystander at the edge."""

from __future__ import annotations

import numpy as np

from veil.evaluate import main_face
from veil.types import Face


def _face(x1: float, y1: float, side: float) -> Face:
    return Face(box=(x1, y1, x1 + side, y1 + side), score=0.9, landmarks=((x1, y1),) * 5)


def test_a_central_face_beats_a_larger_one_at_the_edge() -> None:
    image = np.zeros((250, 250, 3), np.uint8)
    subject, bystander = _face(90, 80, 80), _face(160, 0, 90)
    assert main_face([bystander, subject], image) == subject


def test_without_a_central_face_the_largest_wins() -> None:
    image = np.zeros((250, 250, 3), np.uint8)
    small, large = _face(0, 0, 40), _face(190, 190, 60)
    assert main_face([small, large], image) == large
