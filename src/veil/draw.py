"""Draw detections on a copy of a photo, to check by eye what a detector found."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from veil.types import Face, Image

__all__ = ["draw_faces"]

BOX_COLOUR = (0, 255, 0)
LANDMARK_COLOURS = ((255, 0, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255))
"""One colour per landmark, in ``LANDMARK_NAMES`` order, so a swapped pair shows."""


def draw_faces(image: Image, faces: Sequence[Face]) -> Image:
    """A copy of ``image`` with each face's box, score and five landmarks drawn on it.

    Line widths grow with the photo, so the drawing stays visible on large photos.
    """
    import cv2

    canvas = np.ascontiguousarray(image.copy())
    thickness = max(1, round(max(image.shape[:2]) / 400))
    for face in faces:
        x1, y1, x2, y2 = (round(v) for v in face.box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), BOX_COLOUR, thickness)
        cv2.putText(
            canvas,
            f"{face.score:.2f}",
            (x1, max(y1 - 4 * thickness, 10)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 * thickness,
            BOX_COLOUR,
            thickness,
        )
        for (x, y), colour in zip(face.landmarks, LANDMARK_COLOURS, strict=True):
            cv2.circle(canvas, (round(x), round(y)), 2 * thickness, colour, -1)
    return canvas
