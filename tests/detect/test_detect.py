"""Detection on real photos: every detector, photo sizes from tiny to huge, annotated boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import veil
from veil.detect import AUTO_DETECTOR, DETECTORS, resolve_detector
from veil.errors import InputError, UnknownModelError
from veil.evaluate import load_imglab_boxes, score_detections
from veil.types import Face

# Landmarks of different detectors are trained on different annotations (dlib's
# iBUG points sit a little inside the mouth corners), so they agree to a few
# pixels, not exactly: 8 px is 9% of the astronaut's 90 px face.
LANDMARK_AGREEMENT_PX = 8.0
FAST_DETECTORS = [name for name in DETECTORS if name != "dlib-cnn"]


def _check_one_face(faces: list[Face], image: np.ndarray) -> Face:
    assert len(faces) == 1
    face = faces[0]
    x1, y1, x2, y2 = face.box
    assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
    for x, y in face.landmarks:
        assert x1 - 5 <= x <= x2 + 5 and y1 - 5 <= y <= y2 + 5
    return face


@pytest.mark.parametrize("detector", [*FAST_DETECTORS, pytest.param("dlib-cnn", marks=pytest.mark.slow)])
def test_each_detector_finds_the_astronaut(astronaut: np.ndarray, detector: str) -> None:
    face = _check_one_face(veil.detect(astronaut, detector=detector), astronaut)
    reference = _check_one_face(veil.detect(astronaut, detector="yunet"), astronaut)
    distances = np.linalg.norm(np.subtract(face.landmarks, reference.landmarks), axis=1)
    assert distances.max() <= LANDMARK_AGREEMENT_PX, distances


def test_landmarks_are_in_the_documented_order(astronaut: np.ndarray) -> None:
    right_eye, left_eye, nose, mouth_right, mouth_left = veil.detect(astronaut)[0].landmarks
    assert right_eye[0] < nose[0] < left_eye[0]  # the subject's right eye is on the photo's left
    assert mouth_right[0] < mouth_left[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_right[1], mouth_left[1])


def _face_crop(astronaut: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = (round(v) for v in veil.detect(astronaut)[0].box)
    return astronaut[max(y1 - 30, 0) : y2 + 30, max(x1 - 30, 0) : x2 + 30]


@pytest.mark.parametrize("detector", ["yunet", "centerface"])
def test_small_face_in_a_huge_photo_is_found(astronaut: np.ndarray, detector: str) -> None:
    import cv2

    face = cv2.resize(_face_crop(astronaut), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    canvas = np.full((4000, 6000, 3), 90, np.uint8)  # 24 MP: at 640 px the face would be 5 px wide
    canvas[2500 : 2500 + face.shape[0], 4100 : 4100 + face.shape[1]] = face
    (found,) = veil.detect(canvas, detector=detector)
    assert 4100 <= found.box[0] < found.box[2] <= 4100 + face.shape[1] + 10
    assert 2500 <= found.box[3] <= 2500 + face.shape[0] + 10


@pytest.mark.parametrize("detector", FAST_DETECTORS)
def test_tiny_photo_is_found(astronaut: np.ndarray, detector: str) -> None:
    import cv2

    crop = _face_crop(astronaut)
    tiny = cv2.resize(crop, (64, round(64 * crop.shape[0] / crop.shape[1])), interpolation=cv2.INTER_AREA)
    assert len(veil.detect(tiny, detector=detector)) == 1


def test_no_face_is_an_empty_list() -> None:
    sky = np.full((480, 640, 3), (120, 170, 230), np.uint8)
    assert veil.detect(sky) == []


def test_batch_form_matches_single(astronaut: np.ndarray) -> None:
    sky = np.zeros((100, 100, 3), np.uint8)
    assert veil.detect_batch([astronaut, sky]) == [veil.detect(astronaut), []]


def test_face_to_dict_is_the_json_form(astronaut: np.ndarray) -> None:
    data = veil.detect(astronaut)[0].to_dict()
    assert set(data) == {"box", "score", "landmarks"}
    assert len(data["box"]) == 4 and len(data["landmarks"]) == 5


def test_bad_arguments_are_clear_errors(astronaut: np.ndarray) -> None:
    with pytest.raises(UnknownModelError, match="unknown detector 'retinaface'; choose one of: auto"):
        veil.detect(astronaut, detector="retinaface")
    with pytest.raises(InputError, match="<array>"):
        veil.detect(astronaut[:, :, 0])


@pytest.mark.data
def test_default_detector_finds_the_annotated_faces(shared_data: Path) -> None:
    photos = [
        photo
        for name in ("training.xml", "testing.xml")
        for photo in load_imglab_boxes(shared_data / "dlib_faces" / name)
    ]
    found = [np.array([f.box for f in veil.detect(veil.read_image(p.path))]).reshape(-1, 4) for p in photos]
    score = score_detections(photos, found)
    assert score.faces == 43
    assert score.recall >= 0.97 and score.precision >= 0.90, score


def test_auto_resolves_to_the_detector_it_stands_for() -> None:
    assert resolve_detector("auto") == AUTO_DETECTOR
    assert resolve_detector("auto+centerface") == f"{AUTO_DETECTOR}+centerface"
    assert resolve_detector("dlib-hog") == "dlib-hog"
