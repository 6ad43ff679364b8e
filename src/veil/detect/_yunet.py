"""YuNet (OpenCV Zoo, 2023mar): a fast detector with five landmarks, run by onnxruntime.

OpenCV ships YuNet's decoding in ``cv2.FaceDetectorYN``, but its DNN module runs
the network 2.5 times slower than onnxruntime on this project's CPUs (11.7 against
4.7 ms for a 640x480 photo on one core, OpenCV 5.0 and onnxruntime 1.31). So
veil runs the ONNX file with onnxruntime and decodes the outputs itself; the
tests check that the faces agree with ``cv2.FaceDetectorYN``'s on real photos.
The int8 file stays on OpenCV (:class:`OpenCVYuNet`): onnxruntime 1.31 refuses its
per-tensor quantised biases.

The network is anchor-free. For each stride s in (8, 16, 32) it scores every
cell (row r, column c) of the input divided into s x s cells, with a class and
an objectness probability, a box and five landmarks relative to the cell:

- score: sqrt(class x objectness);
- box centre: ((c + dx) s, (r + dy) s), size (exp(dw) s, exp(dh) s);
- landmark k: ((c + kx_k) s, (r + ky_k) s).

The file declares a 640x640 input; the network is fully convolutional, so veil
makes the input size free (the height and width of the photo, padded to a
multiple of 32) when it loads the file.

*Box voting* (Gidaris and Komodakis, ICCV 2015), optional: each face that
survives non-maximum suppression takes as its box the score-weighted mean of
every candidate box that overlaps it by more than the suppression IoU, instead
of the single best cell's box; its score and landmarks stay the best cell's. The
mean of a face's many overlapping cells follows its outline more closely than
any one cell: on the dlib_faces boxes it lifts the match of the face YuNet
localises worst from IoU 0.488 to 0.501, the mean match from 0.704 to 0.708, and
drops a false positive (``benchmarks/detect.py``, row ``yunet-voting``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from numpy.typing import NDArray

from veil.detect._base import box_iou, non_max_suppression
from veil.detect._multiscale import Detections, MultiscaleDetector
from veil.types import Image

__all__ = ["OpenCVYuNet", "YuNet"]

logger = logging.getLogger(__name__)

STRIDES = (8, 16, 32)
_SIDE_MULTIPLE = 32  # the coarsest stride: the input must divide into whole cells
_NMS_IOU = 0.3
_TOP_K = 5000


class YuNet(MultiscaleDetector):
    """YuNet on onnxruntime, any input size; safe to call from several threads at once.

    Each call runs on the calling thread alone: veil gets its parallelism from
    photos, not from inside one network run (folder jobs run a thread per core).
    Measured on the 128 COCO photos with two cores: two threads sharing this
    detector blur them in 0.85 s; the same with two onnxruntime threads per run,
    1.05 s; one thread with two per run, 1.3-1.5 s.

    Args:
        weights: The ONNX file (``yunet`` card).
        name, min_score, base_side, min_side: See ``MultiscaleDetector``.
        box_voting: Give each face the consensus box of its overlapping candidates
            (see the module docstring); off, the boxes are ``cv2.FaceDetectorYN``'s.
    """

    def __init__(
        self,
        weights: Path,
        *,
        name: str,
        min_score: float,
        base_side: int = 640,
        min_side: int = 320,
        box_voting: bool = False,
    ) -> None:
        super().__init__(name=name, min_score=min_score, base_side=base_side, min_side=min_side)
        self.box_voting = box_voting
        self._session = _session(weights)
        self._input = self._session.get_inputs()[0].name
        self._outputs = [f"{kind}_{stride}" for kind in ("cls", "obj", "bbox", "kps") for stride in STRIDES]
        logger.info("loaded YuNet from %s", weights)

    def _run(self, image: Image) -> Detections:
        height, width = image.shape[:2]
        padded_h = -(-height // _SIDE_MULTIPLE) * _SIDE_MULTIPLE
        padded_w = -(-width // _SIDE_MULTIPLE) * _SIDE_MULTIPLE
        blob = np.zeros((1, 3, padded_h, padded_w), np.float32)
        blob[0, :, :height, :width] = image[:, :, ::-1].transpose(2, 0, 1)  # YuNet wants BGR, 0-255
        outputs = dict(zip(self._outputs, self._session.run(self._outputs, {self._input: blob}), strict=True))
        parts = [self._decode(outputs, stride, padded_w // stride) for stride in STRIDES]
        boxes, scores, landmarks = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
        keep = non_max_suppression(boxes, scores, iou=_NMS_IOU)[:_TOP_K]
        kept = _voted_boxes(boxes, scores, keep) if self.box_voting else boxes[keep]
        return kept, scores[keep], landmarks[keep]

    def _decode(
        self, outputs: dict[str, NDArray[np.float32]], stride: int, columns: int
    ) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
        """Boxes, scores and landmarks of one stride's cells scoring at least ``min_score``."""
        probability = np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1) * np.clip(
            outputs[f"obj_{stride}"][0, :, 0], 0, 1
        )
        cells = np.flatnonzero(probability >= self.min_score**2)
        scores = np.sqrt(probability[cells])
        origin = np.stack([cells % columns, cells // columns], axis=1).astype(np.float32)  # (c, r)
        box = outputs[f"bbox_{stride}"][0, cells]
        centre = (origin + box[:, :2]) * stride
        size = np.exp(box[:, 2:]) * stride
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        points = (origin[:, None, :] + outputs[f"kps_{stride}"][0, cells].reshape(-1, 5, 2)) * stride
        return boxes.astype(np.float32), scores.astype(np.float32), points.astype(np.float32)


class OpenCVYuNet(MultiscaleDetector):
    """YuNet through ``cv2.FaceDetectorYN``: the int8 file's runtime, and the reference for :class:`YuNet`.

    Args: See :class:`YuNet`.
    """

    def __init__(
        self, weights: Path, *, name: str, min_score: float, base_side: int = 640, min_side: int = 320
    ) -> None:
        super().__init__(name=name, min_score=min_score, base_side=base_side, min_side=min_side)
        self._net = cv2.FaceDetectorYN.create(
            str(weights), "", (self.base_side, self.base_side), self.min_score, _NMS_IOU, _TOP_K
        )
        self._lock = threading.Lock()  # the input size is state of the network: one call at a time
        logger.info("loaded YuNet (OpenCV) from %s", weights)

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
        )  # x, y, w, h -> corners
        return corners, found[:, 14], found[:, 4:14].reshape(-1, 5, 2)


def _voted_boxes(
    boxes: NDArray[np.float32], scores: NDArray[np.float32], keep: NDArray[np.intp]
) -> NDArray[np.float32]:
    """For each kept box, the score-weighted mean of the candidates overlapping it by more than ``_NMS_IOU``.

    A kept box overlaps itself fully, so every weight row has at least its own score.
    """
    weights = (box_iou(boxes[keep], boxes) > _NMS_IOU) * scores[None, :]
    voted: NDArray[np.float32] = ((weights @ boxes) / weights.sum(axis=1, keepdims=True)).astype(np.float32)
    return voted


def _session(weights: Path) -> ort.InferenceSession:
    """An onnxruntime session of the YuNet file with its input height and width made free."""
    model = onnx.load(str(weights))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for output in model.graph.output:  # the cell count follows the input size
        output.type.tensor_type.shape.dim[1].dim_param = "cells"
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # see YuNet
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
