"""YuNet on onnxruntime with veil's decoding agrees with OpenCV's ``cv2.FaceDetectorYN``, the reference."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from veil import models
from veil.detect._base import box_iou
from veil.detect._yunet import OpenCVYuNet, YuNet, _voted_boxes
from veil.io import read_image

# Each network pass of both runtimes, on photos of every size the passes produce.
BOX_IOU, SCORE_TOLERANCE, LANDMARK_TOLERANCE_PX = 0.999, 1e-4, 0.05


@pytest.fixture(scope="module")
def runtimes() -> tuple[YuNet, OpenCVYuNet]:
    weights = models.weights_path("yunet")
    return (
        YuNet(weights, name="yunet", min_score=0.5),
        OpenCVYuNet(weights, name="yunet", min_score=0.5),
    )


def _agreement(ours: tuple, reference: tuple) -> tuple[int, int]:
    """(reference faces we found, our faces the reference has): each checked for box, score and landmarks."""
    (boxes, scores, landmarks), (ref_boxes, ref_scores, ref_landmarks) = ours, reference
    if not len(boxes) or not len(ref_boxes):
        return 0, 0
    iou = box_iou(boxes, ref_boxes)
    matched = 0
    for row, col in enumerate(iou.argmax(axis=1)):
        if iou[row, col] >= BOX_IOU:
            assert abs(scores[row] - ref_scores[col]) < SCORE_TOLERANCE
            np.testing.assert_allclose(landmarks[row], ref_landmarks[col], atol=LANDMARK_TOLERANCE_PX)
            matched += 1
    return int(np.sum(iou.max(axis=0) >= BOX_IOU)), matched


def test_the_astronaut_at_every_pass_size(runtimes: tuple[YuNet, OpenCVYuNet], astronaut: np.ndarray) -> None:
    ours, reference = runtimes
    for side in (200, 320, 500, 640, 1000):  # includes sides that are not multiples of 32
        image = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
        found, kept = _agreement(ours._run(image), reference._run(image))
        assert found == kept == len(reference._run(image)[1]) >= 1, side


def test_real_photos_agree_face_for_face(runtimes: tuple[YuNet, OpenCVYuNet], shared_data: Path) -> None:
    ours, reference = runtimes
    photos = sorted((shared_data / "coco" / "images").glob("*.jpg"))
    total = found = kept = mine = 0
    for photo in photos:
        image = read_image(photo)
        ours_out, reference_out = ours._run(image), reference._run(image)
        got, ok = _agreement(ours_out, reference_out)
        total, found, kept, mine = (
            total + len(reference_out[1]),
            found + got,
            kept + ok,
            mine + len(ours_out[1]),
        )
    # OpenCV suppresses overlaps on boxes rounded to whole pixels, veil on exact ones: in crowds of
    # tiny faces that may keep or drop one face differently (1 of 141 in COCO 000000000544).
    assert total > 50 and kept == mine and found >= 0.99 * total


def test_box_voting_averages_the_boxes_each_face_suppressed() -> None:
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 60, 60], [4, 4, 14, 14]], np.float32)
    scores = np.array([0.9, 0.6, 0.8, 0.5], np.float32)
    keep = np.array([0, 2])  # [3] overlaps [0] by IoU 0.22: under the suppression IoU, no vote
    voted = _voted_boxes(boxes, scores, keep)
    np.testing.assert_allclose(voted[0], [0.8, 0, 10.8, 10], atol=1e-5)  # (0.9 * [0] + 0.6 * [1]) / 1.5
    np.testing.assert_allclose(voted[1], boxes[2])  # nothing overlaps it: its own box


def test_box_voting_moves_only_boxes(astronaut: np.ndarray) -> None:
    weights = models.weights_path("yunet")
    plain = YuNet(weights, name="yunet", min_score=0.5)._run(astronaut)
    voting = YuNet(weights, name="yunet-voting", min_score=0.5, box_voting=True)._run(astronaut)
    np.testing.assert_array_equal(voting[1], plain[1])  # the same faces, scores and landmarks
    np.testing.assert_array_equal(voting[2], plain[2])
    shift = np.abs(voting[0] - plain[0]).max()
    assert 0 < shift < 0.05 * (plain[0][0, 2] - plain[0][0, 0])  # a refinement, not another face
