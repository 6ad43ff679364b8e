"""The face tracker: a face stays hidden through detector misses and skipped frames."""

from __future__ import annotations

import pytest

from veil.detect._tracking import FaceTracker
from veil.types import Face

LANDMARKS = ((0.0, 0.0),) * 5


def _face(x: float, y: float = 100.0, size: float = 80.0, score: float = 0.9) -> Face:
    return Face(box=(x, y, x + size, y + size), score=score, landmarks=LANDMARKS)


def _max_corner_error(one: Face, two: Face) -> float:
    return max(abs(a - b) for a, b in zip(one.box, two.box, strict=True))


def test_a_face_is_hidden_from_its_first_detection() -> None:
    tracker = FaceTracker()
    faces = tracker.update([_face(10)])
    assert len(faces) == 1
    assert faces[0].box == _face(10).box
    assert faces[0].track_id is not None


def test_a_one_frame_miss_is_still_covered() -> None:
    tracker = FaceTracker()
    ids = set()
    for frame in range(10):
        detections = [] if frame == 5 else [_face(10 + 3 * frame)]
        faces = tracker.update(detections)
        assert len(faces) == 1, f"frame {frame} shows the face"
        ids.add(faces[0].track_id)
        # On the missed frame the box is predicted from the motion so far.
        assert _max_corner_error(faces[0], _face(10 + 3 * frame)) < 1.0
    assert len(ids) == 1
    assert tracker.tracks_started == 1


def test_skipped_frames_carry_a_moving_face_forward() -> None:
    tracker = FaceTracker()
    for frame in range(30):
        truth = _face(10 + 4 * frame, y=50 + 2 * frame)
        faces = tracker.update([truth] if frame % 3 == 0 else None)
        assert len(faces) == 1
        if frame >= 3:  # the velocity is known from the second detection on
            assert _max_corner_error(faces[0], truth) < 1.0


def test_skipped_frames_do_not_count_as_misses() -> None:
    tracker = FaceTracker(max_missed=1)
    tracker.update([_face(10)])
    for _ in range(20):
        assert len(tracker.update(None)) == 1


def test_a_track_ends_after_max_missed_detection_runs() -> None:
    tracker = FaceTracker(max_missed=3)
    tracker.update([_face(10)])
    for _ in range(3):
        assert len(tracker.update([])) == 1
    assert tracker.update([]) == []


def test_max_missed_zero_hides_only_detections() -> None:
    tracker = FaceTracker(max_missed=0)
    assert len(tracker.update([_face(10)])) == 1
    assert tracker.update([]) == []


def test_two_faces_keep_their_own_ids() -> None:
    tracker = FaceTracker()
    first = tracker.update([_face(10), _face(400)])
    by_x = {face.box[0]: face.track_id for face in first}
    assert len(set(by_x.values())) == 2
    # Detections come back in another order, moved a little: each keeps its id.
    later = tracker.update([_face(405, score=0.5), _face(14)])
    assert {face.box[0]: face.track_id for face in later} == {14: by_x[10], 405: by_x[400]}
    assert tracker.tracks_started == 2


def test_a_far_detection_starts_a_new_track() -> None:
    tracker = FaceTracker()
    (old,) = tracker.update([_face(10)])
    faces = tracker.update([_face(600)])
    assert len(faces) == 2  # the old face is kept through its miss, the new one is hidden at once
    assert {face.track_id for face in faces} == {
        old.track_id,
        old.track_id + 1 if old.track_id is not None else 1,
    }


def test_faces_are_returned_with_landmarks_moved_along() -> None:
    tracker = FaceTracker()
    face = Face(box=(0, 0, 10, 10), score=0.9, landmarks=((1, 1), (9, 1), (5, 5), (2, 8), (8, 8)))
    tracker.update([face])
    tracker.update(
        [Face(box=(2, 0, 12, 10), score=0.9, landmarks=((3, 1), (11, 1), (7, 5), (4, 8), (10, 8)))]
    )
    (predicted,) = tracker.update(None)
    assert predicted.box == (4, 0, 14, 10)
    assert predicted.landmarks[2] == (9, 5)


@pytest.mark.parametrize("options", [{"min_iou": 0.0}, {"min_iou": 1.5}, {"max_missed": -1}])
def test_bad_options_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        FaceTracker(**options)  # type: ignore[arg-type]
