"""Faces in the frames of a video or an animated image, in the pixels a player shows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from veil.detect._registry import get_detector
from veil.types import Face

if TYPE_CHECKING:
    from veil.io import Animation

__all__ = ["FrameFaces", "detect_animation", "detect_video"]


@dataclass(frozen=True, slots=True)
class FrameFaces:
    """The faces found in one frame of a video or an animated image.

    Attributes:
        index: The frame's position, from 0.
        seconds: When it shows: at a video's average frame rate, or from an
            animation's frame durations.
        faces: Its faces, best detection first, in the pixels of the upright frame.
    """

    index: int
    seconds: float
    faces: tuple[Face, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``veil detect --json``."""
        return {
            "frame": self.index,
            "seconds": round(self.seconds, 3),
            "faces": [face.to_dict() for face in self.faces],
        }


def detect_video(
    path: str | Path, *, detector: str = "auto", threshold: float | None = None, every: int = 1
) -> Iterator[FrameFaces]:
    """Find the faces in every ``every``-th frame of the video at ``path``, in order.

    Each frame is turned upright first (``VideoInfo.rotation``: portrait phone
    video is stored sideways), so boxes and landmarks are in the pixels a player
    shows, as ``detect`` gives them for a photo. Frames are read one at a time;
    nothing is tracked between them, so a frame where the detector misses a face
    lists none (``veil.anonymize.blur_video`` carries faces across such misses).

    Args:
        path: The video file.
        detector: See ``veil.detect.detect``, as is ``threshold``.
        threshold: See ``detector``.
        every: Detect on the first frame and every ``every``-th after it.

    Raises:
        ValueError: ``every`` below 1.
        InputError: The file is not a readable video, or breaks off partway.
        UnknownModelError: Unknown ``detector``.
    """
    from veil.io import VideoReader

    if every < 1:
        raise ValueError(f"every must be 1 or more, got {every}")
    model = get_detector(detector, threshold=threshold)
    with VideoReader(path) as video:
        turns = video.info.rotation // 90
        fps = float(video.info.fps) or 1.0
        for frame in video:
            if frame.index % every:
                continue
            # np.rot90 turns counter-clockwise, the way the display matrix does.
            upright = np.ascontiguousarray(np.rot90(frame.image, turns)) if turns else frame.image
            yield FrameFaces(frame.index, frame.index / fps, tuple(model.detect(upright)))


def detect_animation(
    animation: Animation, *, detector: str = "auto", threshold: float | None = None
) -> list[FrameFaces]:
    """Find the faces in every frame of an animated image (``veil.io.read_animation``).

    ``seconds`` is when each frame starts showing, from the frame durations. See
    ``detect_video`` for ``detector`` and ``threshold``.

    Raises:
        UnknownModelError: Unknown ``detector``.
    """
    model = get_detector(detector, threshold=threshold)
    starts = np.cumsum((0, *animation.durations_ms[:-1])) / 1000
    return [
        FrameFaces(index, float(start), tuple(model.detect(frame)))
        for index, (frame, start) in enumerate(zip(animation.frames, starts, strict=True))
    ]
