"""Evaluation protocols: every privacy claim veil makes is a measurement made here."""

from __future__ import annotations

from veil.evaluate._detection import (
    AnnotatedPhoto,
    DetectionScore,
    box_iou,
    load_imglab_boxes,
    score_detections,
)

__all__ = ["AnnotatedPhoto", "DetectionScore", "box_iou", "load_imglab_boxes", "score_detections"]
