"""Run a fixed-input detector over photos of any size.

Detectors are trained on faces that fill a few percent of a ~640 px frame. A
24 MP photo shrunk to 640 px turns a 60 px face into 6 px, and it is lost; a
100 px thumbnail gives the network too little to look at. So every photo gets:

1. a *whole* pass with the long side at ``base_side`` (tiny photos are enlarged
   to ``min_side``), which finds the large and medium faces;
2. when that pass shrinks the photo so much that a face of ``min_face_px`` would
   fall below ``DETECTABLE_PX`` (what the networks can still see), a *tiled* pass
   at the scale that makes such a face ``DETECTABLE_PX`` wide, in overlapping
   ``base_side`` tiles.

3. when the whole pass finds nothing, a *context* pass on the photo framed by a
   grey border, at ``min_side``: networks trained on scenes miss a face that
   fills the whole frame (a face crop, a close selfie); UTKFace crops show it
   (CenterFace finds 91% of them without the border, 99.7% with it).

The tiles are ``TILE_SIDE`` px, so a 24 MP photo costs six network runs at the
default ``min_face_px``. Detections from all passes are merged by non-maximum
suppression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np
from numpy.typing import NDArray

from veil.detect._base import faces_from_arrays, non_max_suppression
from veil.types import Face, Image

__all__ = ["Detections", "MultiscaleDetector", "detect_multiscale"]

Detections = tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]
"""(N, 4) boxes, (N,) scores and (N, 5, 2) landmarks, in the pixels of the image passed in."""

RawDetector = Callable[[Image], Detections]

DETECTABLE_PX = 16.0
"""Smallest face side YuNet and CenterFace find reliably (their finest feature maps have stride 4 to 8)."""
DEFAULT_MIN_FACE_PX = 32.0
# A tiled pass is worth its cost only when it looks at least this much closer than the whole pass.
MIN_TILE_GAIN = 1.25
TILE_SIDE = 1280
TILE_OVERLAP = 0.25
CONTEXT_BORDER = 0.25  # of the long side, on every side
CONTEXT_GREY = (127, 127, 127)
MERGE_IOU = 0.4
# A tile detection this close to an inner tile edge is probably a cut face; the
# neighbouring tile or the whole pass sees it whole.
EDGE_MARGIN_PX = 2.0


def _empty() -> Detections:
    return (np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32))


def _resize(image: Image, scale: float) -> Image:
    if scale == 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, size, interpolation=interpolation), dtype=np.uint8)


def _tiles(length: int, tile: int) -> Iterator[int]:
    if length <= tile:
        yield 0
        return
    stride = int(tile * (1 - TILE_OVERLAP))
    start = 0
    while start + tile < length:
        yield start
        start += stride
    yield length - tile


def _run_scaled(image: Image, run: RawDetector, scale: float) -> Detections:
    boxes, scores, landmarks = run(_resize(image, scale))
    return boxes / scale, scores, landmarks / scale


def _run_framed(image: Image, run: RawDetector, long_side: int) -> Detections:
    """The photo shrunk so that, framed by its grey border, its long side is ``long_side``."""
    border = CONTEXT_BORDER * max(image.shape[:2])
    scale = long_side / (max(image.shape[:2]) + 2 * border)
    # Shrink first, then frame: resizing the border too costs more than the network run.
    pad = round(border * scale)
    framed = cv2.copyMakeBorder(
        _resize(image, scale), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=CONTEXT_GREY
    )
    boxes, scores, landmarks = run(np.asarray(framed, np.uint8))
    return (boxes - pad) / scale, scores, (landmarks - pad) / scale


def _run_tiled(image: Image, run: RawDetector, scale: float, tile: int) -> Detections:
    scaled = _resize(image, scale)
    height, width = scaled.shape[:2]
    found = []
    for top in _tiles(height, tile):
        for left in _tiles(width, tile):
            boxes, scores, landmarks = run(scaled[top : top + tile, left : left + tile])
            bottom, right = min(top + tile, height), min(left + tile, width)
            boxes = boxes + np.array([left, top, left, top], np.float32)
            cut = (
                ((boxes[:, 0] <= left + EDGE_MARGIN_PX) & (left > 0))
                | ((boxes[:, 1] <= top + EDGE_MARGIN_PX) & (top > 0))
                | ((boxes[:, 2] >= right - EDGE_MARGIN_PX) & (right < width))
                | ((boxes[:, 3] >= bottom - EDGE_MARGIN_PX) & (bottom < height))
            )
            keep = ~cut
            found.append((boxes[keep] / scale, scores[keep], (landmarks[keep] + [left, top]) / scale))
    return _concat(found)


def _concat(parts: list[Detections]) -> Detections:
    if not parts:
        return _empty()
    boxes, scores, landmarks = zip(*parts, strict=True)
    return (
        np.concatenate(boxes).astype(np.float32),
        np.concatenate(scores).astype(np.float32),
        np.concatenate(landmarks).astype(np.float32).reshape(-1, 5, 2),
    )


def detect_multiscale(
    image: Image, run: RawDetector, *, base_side: int, min_side: int, min_face_px: float = DEFAULT_MIN_FACE_PX
) -> Detections:
    """Run ``run`` on the passes described in the module docstring and merge the results.

    Args:
        image: The RGB photo.
        run: Detects faces in an image of any size; returns them in that image's pixels.
        base_side: Long side of the whole pass.
        min_side: Photos with a shorter long side are enlarged to it.
        min_face_px: Smallest face side, in the photo's pixels, to look for.
    """
    long_side = max(image.shape[:2])
    scale = base_side / long_side if long_side > base_side else max(1.0, min_side / long_side)
    parts = [_run_scaled(image, run, scale)]
    tile_scale = min(1.0, DETECTABLE_PX / min_face_px)
    if tile_scale > scale * MIN_TILE_GAIN:
        parts.append(_run_tiled(image, run, tile_scale, TILE_SIDE))
    if not any(len(scores) for _, scores, _ in parts):
        parts.append(_run_framed(image, run, min_side))
    boxes, scores, landmarks = _concat(parts)
    keep = non_max_suppression(boxes, scores, iou=MERGE_IOU)
    height, width = image.shape[:2]
    boxes = np.clip(boxes[keep], 0, [width, height, width, height]).astype(np.float32)
    return boxes, scores[keep], landmarks[keep]


class MultiscaleDetector:
    """Base of the network detectors: runs ``_run`` over the passes of ``detect_multiscale``.

    Args:
        name: Registry name reported on results.
        min_score: Detections below this score are dropped.
        base_side: Long side of the whole-photo pass (see ``detect_multiscale``).
        min_side: Smaller photos are enlarged to this long side first.
    """

    def __init__(self, *, name: str, min_score: float, base_side: int = 640, min_side: int = 320) -> None:
        self.name = name
        self.min_score = min_score
        self.base_side = base_side
        self.min_side = min_side

    def _run(self, image: Image) -> Detections:
        """Faces in one image of any size, in its own pixels."""
        raise NotImplementedError

    def detect(self, image: Image) -> list[Face]:
        """Faces in ``image``, best first; see ``veil.detect``."""
        return faces_from_arrays(
            *detect_multiscale(image, self._run, base_side=self.base_side, min_side=self.min_side)
        )
