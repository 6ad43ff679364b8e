"""Anonymizing one image: the faces change, nothing else does."""

from __future__ import annotations

import numpy as np
import pytest

import veil
from veil.anonymize import FILTERS, BlurWork, anonymize_faces, blur
from veil.errors import UnknownModelError


@pytest.mark.parametrize("method", list(FILTERS))
def test_only_the_expanded_face_changes(astronaut: np.ndarray, method: str) -> None:
    result = blur(astronaut, method=method)
    (face,) = result.faces
    changed = (result.image != astronaut).any(axis=2)
    rows, cols = np.nonzero(changed)
    x1, y1, x2, y2 = face.box
    grow_x, grow_y = 0.3 * face.width, 0.3 * face.height  # DEFAULT_EXPAND
    assert cols.min() >= x1 - grow_x - 1 and cols.max() <= x2 + grow_x + 1
    assert rows.min() >= y1 - grow_y - 1 and rows.max() <= y2 + grow_y + 1
    centre = (round((y1 + y2) / 2), round((x1 + x2) / 2))
    assert changed[centre]
    # The box's corners are outside the ellipse: background there stays as it was.
    assert not changed[round(y1 - grow_y + 2), round(x1 - grow_x + 2)]


def test_blurred_face_is_no_longer_found_or_recognised(astronaut: np.ndarray) -> None:
    from veil.embed import embed

    result = blur(astronaut)
    face = result.faces[0]
    before, after = embed(astronaut, [face]), embed(result.image, [face])
    assert float(before[0] @ after[0]) < 0.3  # SFace's FAR 1e-2 threshold is about 0.3


def test_input_is_not_modified(astronaut: np.ndarray) -> None:
    copy = astronaut.copy()
    blur(astronaut)
    assert np.array_equal(copy, astronaut)


def test_no_faces_gives_an_identical_copy() -> None:
    sky = np.full((200, 300, 3), 90, np.uint8)
    result = blur(sky)
    assert result.faces == () and np.array_equal(result.image, sky) and result.image is not sky


def test_faces_at_the_border_are_clipped_not_dropped(astronaut: np.ndarray) -> None:
    face = veil.detect(astronaut)[0]
    x1 = round(face.box[0]) + 30
    cut = np.ascontiguousarray(astronaut[:, x1:])  # the face now runs off the left edge
    shifted = type(face)(
        box=(face.box[0] - x1, face.box[1], face.box[2] - x1, face.box[3]),
        score=face.score,
        landmarks=tuple((x - x1, y) for x, y in face.landmarks),  # type: ignore[arg-type]
    )
    out = anonymize_faces(cut, [shifted])
    assert (out[:, :10] != cut[:, :10]).any()


def test_unknown_method_lists_the_methods(astronaut: np.ndarray) -> None:
    with pytest.raises(UnknownModelError, match="unknown method 'swirl'; choose one of: gaussian"):
        anonymize_faces(astronaut, [], method="swirl")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strength": 0.0}, "strength must be above 0"),
        ({"strength": -1.0}, "strength"),
        ({"expand": -0.3}, "expand"),
    ],
)
def test_options_that_would_leave_faces_readable_are_refused(
    astronaut: np.ndarray, options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        anonymize_faces(astronaut, [], **options)
    with pytest.raises(ValueError, match=message):
        BlurWork(**options)  # type: ignore[arg-type]
