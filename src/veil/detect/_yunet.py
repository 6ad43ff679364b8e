"""YuNet (OpenCV Zoo, 2023mar): a fast detector with five landmarks."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from veil.detect._multiscale import Detections, MultiscaleDetector
from veil.types import Image

__all__ = ["YuNet"]

logger = logging.getLogger(__name__)

# YuNet's own NMS runs inside each pass; veil merges passes afterwards.
_NMS_IOU = 0.3
_TOP_K = 5000


class YuNet(MultiscaleDetector):
    """YuNet through ``cv2.FaceDetectorYN`` (the only runtime that runs the int8 file too).

    Args:
        weights: The ONNX file (``yunet`` or ``yunet-int8`` card).
        name, min_score, base_side, min_side: See ``MultiscaleDetector``.
    """

    def __init__(
        self, weights: Path, *, name: str, min_score: float, base_side: int = 640, min_side: int = 320
    ) -> None:
        super().__init__(name=name, min_score=min_score, base_side=base_side, min_side=min_side)
        self._net = cv2.FaceDetectorYN.create(
            str(weights), "", (self.base_side, self.base_side), self.min_score, _NMS_IOU, _TOP_K
        )
        logger.info("loaded YuNet from %s", weights)

    def _run(self, image: Image) -> Detections:
        height, width = image.shape[:2]
        with self._lock:
            self._net.setInputSize((width, height))
            _, rows = self._net.detect(np.ascontiguousarray(image[:, :, ::-1]))  # YuNet wants BGR
        found: NDArray[np.float32] = (
            np.zeros((0, 15), np.float32) if rows is None else rows.astype(np.float32)
        )
        corners = np.concatenate(
            [found[:, :2], found[:, :2] + found[:, 2:4]], axis=1
        )  # x, y, w, h -> x1, y1, x2, y2
        return corners, found[:, 14], found[:, 4:14].reshape(-1, 5, 2)
