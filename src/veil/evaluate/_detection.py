"""Detector recall and precision on photos with annotated face boxes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veil.detect._base import box_iou
from veil.errors import InputError

__all__ = ["AnnotatedPhoto", "DetectionScore", "load_imglab_boxes", "score_detections"]

DEFAULT_IOU = 0.5


@dataclass(frozen=True, slots=True)
class AnnotatedPhoto:
    """A photo with its true face boxes.

    Attributes:
        path: The photo.
        boxes: (N, 4) true boxes (x1, y1, x2, y2).
        ignored: (N,) flags for boxes marked "ignore" (too small or blurred to count either way).
    """

    path: Path
    boxes: NDArray[np.float64]
    ignored: NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class DetectionScore:
    """Detections scored against true boxes at one IoU.

    Attributes:
        faces: True faces that count (ignored boxes left out).
        found: Of those, how many a detection matched.
        false_positives: Detections that matched no true box.
    """

    faces: int
    found: int
    false_positives: int

    @property
    def recall(self) -> float:
        return self.found / self.faces if self.faces else 1.0

    @property
    def precision(self) -> float:
        detections = self.found + self.false_positives
        return self.found / detections if detections else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "recall": self.recall, "precision": self.precision}


def load_imglab_boxes(xml_path: str | Path) -> list[AnnotatedPhoto]:
    """Read a dlib imglab XML file (``<image file=...><box top left width height/>``).

    Raises:
        InputError: The file is missing or not imglab XML.
    """
    xml_path = Path(xml_path)
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError) as error:
        raise InputError(xml_path, f"cannot read imglab XML ({error})") from error
    photos = []
    for image in root.iter("image"):
        boxes, ignored = [], []
        for box in image.iter("box"):
            left, top = float(box.get("left", 0)), float(box.get("top", 0))
            boxes.append([left, top, left + float(box.get("width", 0)), top + float(box.get("height", 0))])
            ignored.append(box.get("ignore") == "1")
        photos.append(
            AnnotatedPhoto(
                path=xml_path.parent / image.get("file", ""),
                boxes=np.array(boxes, np.float64).reshape(-1, 4),
                ignored=np.array(ignored, bool),
            )
        )
    return photos


def _score_photo(photo: AnnotatedPhoto, found: NDArray[np.floating], iou: float) -> DetectionScore:
    """Greedy one-to-one matching, best detection first (``found`` is ordered best first)."""
    overlap = box_iou(photo.boxes, found)
    free = np.ones(len(photo.boxes), bool)
    matched = false_positives = 0
    for j in range(overlap.shape[1]):
        candidates = np.where(free & (overlap[:, j] >= iou))[0]
        if candidates.size == 0:
            false_positives += 1
            continue
        best = candidates[np.argmax(overlap[candidates, j])]
        free[best] = False
        matched += int(not photo.ignored[best])  # a detection on an ignored box is neither right nor wrong
    return DetectionScore(int((~photo.ignored).sum()), matched, false_positives)


def score_detections(
    photos: Iterable[AnnotatedPhoto],
    detections: Iterable[NDArray[np.floating]],
    *,
    iou: float = DEFAULT_IOU,
) -> DetectionScore:
    """Recall and precision of detected boxes (one (N, 4) array per photo, best first) at ``iou``."""
    faces = found = false_positives = 0
    for photo, boxes in zip(photos, detections, strict=True):
        score = _score_photo(photo, boxes, iou)
        faces, found, false_positives = (
            faces + score.faces,
            found + score.found,
            false_positives + score.false_positives,
        )
    return DetectionScore(faces, found, false_positives)
