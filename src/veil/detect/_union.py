"""A union of detectors: every face any of them finds, overlapping finds fused into one.

Detectors miss different faces (YuNet the tiniest, CenterFace some faces that fill
the frame), and each draws boxes its own way. The union keeps a face that any
member finds; where members agree, the fused box is their score-weighted mean,
which sits closer to the face than either alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from veil.detect._base import Detector, box_iou, faces_from_arrays
from veil.types import Face, Image

__all__ = ["UnionDetector"]

FUSE_IOU = 0.4


class UnionDetector:
    """Runs several detectors on each image and fuses their faces.

    Args:
        members: The detectors, each with its own threshold.
    """

    def __init__(self, members: Sequence[Detector]) -> None:
        self.members = tuple(members)
        self.name = "+".join(member.name for member in members)

    def detect(self, image: Image) -> list[Face]:
        """Faces any member finds, best first; see ``veil.detect``."""
        faces = [face for member in self.members for face in member.detect(image)]
        if not faces:
            return []
        boxes = np.array([f.box for f in faces], np.float64)
        scores = np.array([f.score for f in faces], np.float64)
        landmarks = np.array([f.landmarks for f in faces], np.float64)
        order = np.argsort(-scores, kind="stable")
        free = np.ones(len(faces), bool)
        fused_boxes, fused_scores, fused_landmarks = [], [], []
        for best in order:
            if not free[best]:
                continue
            group = np.where(free & (box_iou(boxes[best], boxes)[0] > FUSE_IOU))[0]
            free[group] = False
            weights = scores[group] / scores[group].sum() if scores[group].sum() > 0 else None
            fused_boxes.append(np.average(boxes[group], axis=0, weights=weights))
            fused_scores.append(scores[best])
            fused_landmarks.append(landmarks[best])
        return faces_from_arrays(np.array(fused_boxes), np.array(fused_scores), np.array(fused_landmarks))
