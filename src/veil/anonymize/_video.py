"""Anonymize every face of a video: detect, track, obfuscate, encode, with the audio copied.

Frames are decoded in their stored orientation (see ``veil.io.VideoReader``).
For detection a copy is shrunk to ``detect_side`` and turned upright, since
detectors look for upright faces; the boxes are mapped back to the stored
frame, which is blurred and encoded with the source's rotation, size and
timestamps. A ``FaceTracker`` carries each face through detector misses and
through the frames that ``detect_every`` skips, so no face flashes into view
for a frame. With a consent gallery (``keep``), each tracked face is checked on
the frames where it is detected (``veil.anonymize._consent``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from veil.anonymize._consent import TrackConsent
from veil.anonymize._image import (
    DEFAULT_DETECTOR,
    DEFAULT_EXPAND,
    DEFAULT_METHOD,
    DEFAULT_STRENGTH,
    anonymize_faces,
    check_obfuscation,
)
from veil.detect import Detector, get_detector
from veil.detect._tracking import FaceTracker
from veil.io import VideoReader, VideoWriter
from veil.types import Face, Image, Point, ProgressUpdate

__all__ = [
    "DEFAULT_DETECT_EVERY",
    "DEFAULT_DETECT_SIDE",
    "FaceFollower",
    "FrameBlurrer",
    "VideoReport",
    "blur_video",
    "detect_upright",
]

logger = logging.getLogger(__name__)

DEFAULT_DETECT_EVERY = 1
"""Search every frame: with a larger step a face that enters the picture (or a scene cut) can show for
up to ``detect_every - 1`` frames before it is first detected."""
DEFAULT_DETECT_SIDE = 640
"""Long side, in pixels, of the copy detection runs on. The detectors look at 640 px anyway
(``veil.detect``); shrinking first skips their tiled pass, which costs ~4x more at 1080p. Faces narrower
than ~16 px at this size (48 px in a 1080p frame) may be missed."""


@dataclass(frozen=True, slots=True)
class VideoReport:
    """What ``blur_video`` did.

    Attributes:
        frames: Frames written (the same as read).
        frames_with_faces: Frames in which at least one face was obfuscated.
        tracks: Distinct faces followed, as far as the tracker could tell them apart.
        fps_in: The video's frame rate (frames per second of playback).
        seconds: Wall-clock time the whole job took.
        frames_per_second: Processing speed, ``frames / seconds``.
        tracks_kept: Faces (tracks) left unblurred on some frames because they
            matched the consent gallery (0 without one).
    """

    frames: int
    frames_with_faces: int
    tracks: int
    fps_in: float
    seconds: float
    frames_per_second: float
    tracks_kept: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the CLI's ``--json`` line and the service."""
        return {
            "frames": self.frames,
            "frames_with_faces": self.frames_with_faces,
            "tracks": self.tracks,
            "tracks_kept": self.tracks_kept,
            "fps_in": round(self.fps_in, 3),
            "seconds": round(self.seconds, 3),
            "frames_per_second": round(self.frames_per_second, 2),
        }


def blur_video(
    src: str | Path,
    dst: str | Path,
    *,
    method: str = DEFAULT_METHOD,
    strength: float = DEFAULT_STRENGTH,
    expand: float = DEFAULT_EXPAND,
    detector: str = DEFAULT_DETECTOR,
    threshold: float | None = None,
    detect_every: int = DEFAULT_DETECT_EVERY,
    detect_side: int | None = DEFAULT_DETECT_SIDE,
    keep: str | Path | None = None,
    keep_metadata: bool = False,
    overwrite: bool = False,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> VideoReport:
    """Write a copy of the video ``src`` to ``dst`` with every face obfuscated in every frame.

    The output has the same frame count, timestamps, frame rate, resolution and
    rotation as the input, H.264 video, and the input's audio copied bit for bit.
    Faces are followed from frame to frame (``veil.detect._tracking``), so a face
    the detector misses on a few frames stays hidden there too.

    Args:
        src: The video file (anything FFmpeg reads; see ``veil.io.VIDEO_EXTENSIONS``).
        dst: The output file: ``.mp4``, ``.m4v``, ``.mov`` or ``.mkv``. Never ``src``.
        method: See ``veil.anonymize.anonymize_faces``, as are ``strength`` and ``expand``.
        strength: See ``method``.
        expand: See ``method``.
        detector: See ``veil.detect.detect``, as is ``threshold``.
        threshold: See ``detector``.
        detect_every: Run the detector on every n-th frame and let the tracker move
            the boxes in between. 2 or 3 is faster (detection is ~15% of the work
            at 1080p) but a face that appears can show for up to ``detect_every - 1``
            frames before it is first detected.
        detect_side: Shrink frames to this long side before detection (see
            ``DEFAULT_DETECT_SIDE``); None searches the full frame with the
            detector's own multi-scale passes, which finds smaller faces, slowly.
        keep: A gallery of people who consented: their faces stay unblurred once
            two checks in a row match them (``CONSENT_STREAK``), so each is
            still blurred on the first frame it is detected.
        keep_metadata: Copy the container metadata (dates, GPS location); see
            ``veil.io.VideoWriter``.
        overwrite: Replace an existing ``dst``.
        progress: Called after each frame with ``done`` frames and ``total``, the
            frame count the container declares (an estimate for some formats).

    Raises:
        InputError: ``src`` is missing, empty, not a video, or truncated or corrupt.
        OutputError: ``dst`` exists (without ``overwrite``), is ``src``, has an
            unknown extension, or cannot be written. No partial file is left.
        UnknownModelError: Unknown ``method`` or ``detector``.
        ValueError: ``detect_every`` or ``detect_side`` below 1, ``strength`` not above 0,
            or ``expand`` below 0.
    """
    blurrer = FrameBlurrer(
        FaceFollower(
            get_detector(detector, threshold=threshold), detect_every=detect_every, detect_side=detect_side
        ),
        method=method,
        strength=strength,
        expand=expand,
        keep=keep,
    )
    started = time.perf_counter()
    frames = with_faces = 0
    with (
        VideoReader(src) as reader,
        VideoWriter(dst, source=src, keep_metadata=keep_metadata, overwrite=overwrite) as writer,
    ):
        info = reader.info
        logger.info(
            "blurring %s (%dx%d, %s fps, %d frames, rotation %d) to %s",
            src, info.width, info.height, float(info.fps), info.frames, info.rotation, dst,
        )  # fmt: skip
        for frame in reader:
            image = blurrer(frame.image, info.rotation)
            if image is not None:
                with_faces += 1
                frame = replace(frame, image=image)
            writer.write(frame)
            frames += 1
            if progress is not None:
                progress(ProgressUpdate(done=frames, total=max(info.frames, frames), current=str(src)))
    report = blurrer.report(frames, with_faces, fps_in=float(info.fps), seconds=time.perf_counter() - started)
    logger.info("blurred %s: %s", src, report.to_dict())
    return report


class FrameBlurrer:
    """Obfuscates the faces on each frame of a stream, one call per frame, in order.

    Faces come from ``follower`` (detection and tracking); with a consent gallery
    (``keep``) the tracks that match it are left as they are.

    Args:
        follower: Finds the faces of each frame.
        method: See ``veil.anonymize.anonymize_faces``, as are ``strength`` and ``expand``.
        strength: See ``method``.
        expand: See ``method``.
        keep: A gallery of people who consented (``veil.anonymize._consent.TrackConsent``).

    Raises:
        UnknownModelError: Unknown ``method``.
        ValueError: ``strength`` not above 0, or ``expand`` below 0.
    """

    def __init__(
        self, follower: FaceFollower, *, method: str, strength: float, expand: float, keep: str | Path | None
    ) -> None:
        check_obfuscation(method, strength, expand)
        self.follower = follower
        self.method, self.strength, self.expand = method, strength, expand
        self.consent = None if keep is None else TrackConsent(Path(keep))

    def __call__(self, image: Image, rotation: int = 0) -> Image | None:
        """The frame with its faces obfuscated, or None when it shows no face to obfuscate."""
        faces, detections = self.follower(image, rotation)
        if self.consent is not None:
            faces = self.consent.to_blur(image, faces, detections)
        if not faces:
            return None
        return anonymize_faces(image, faces, method=self.method, strength=self.strength, expand=self.expand)

    def report(self, frames: int, with_faces: int, *, fps_in: float, seconds: float) -> VideoReport:
        """What the stream's job did, once its ``frames`` are written."""
        return VideoReport(
            frames=frames,
            frames_with_faces=with_faces,
            tracks=self.follower.tracker.tracks_started,
            tracks_kept=0 if self.consent is None else len(self.consent.kept_tracks),
            fps_in=fps_in,
            seconds=seconds,
            frames_per_second=frames / seconds if seconds > 0 else 0.0,
        )


class FaceFollower:
    """The faces on each frame of a stream, one call per frame, in order: a video's, or a camera's.

    Detection runs on every ``detect_every``-th frame, on a copy shrunk to
    ``detect_side`` and turned upright (see ``detect_upright``); the frames between
    keep the faces of the last detection, moved by ``tracker``.

    Args:
        model: The detector.
        detect_every: Detect on the first frame and every ``detect_every``-th after it.
        detect_side: Long side of the copy detection runs on; None for the full frame.

    Raises:
        ValueError: ``detect_every`` or ``detect_side`` below 1.
    """

    def __init__(self, model: Detector, *, detect_every: int, detect_side: int | None) -> None:
        if detect_every < 1:
            raise ValueError(f"detect_every must be 1 or more, got {detect_every}")
        if detect_side is not None and detect_side < 1:
            raise ValueError(f"detect_side must be 1 or more (or None), got {detect_side}")
        self.model = model
        self.detect_every = detect_every
        self.detect_side = detect_side
        self.tracker = FaceTracker()
        self._frames = 0

    def __call__(self, image: Image, rotation: int = 0) -> tuple[list[Face], list[Face] | None]:
        """The faces to treat on this frame, and the detections when detection ran on it (else None).

        ``rotation`` is how the frame is stored (``VideoInfo.rotation``); 0 for an upright frame.
        """
        detections = None
        if self._frames % self.detect_every == 0:
            detections = detect_upright(self.model, image, rotation, self.detect_side)
        self._frames += 1
        return self.tracker.update(detections), detections


def detect_upright(model: Detector, image: Image, rotation: int, detect_side: int | None) -> list[Face]:
    """Faces in a stored frame, found on a shrunk upright copy, in the stored frame's pixels."""
    import cv2

    height, width = image.shape[:2]
    scale = 1.0 if detect_side is None else min(1.0, detect_side / max(height, width))
    small = image
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    turns = rotation // 90
    # np.rot90 turns counter-clockwise, the way the display matrix does.
    upright = np.ascontiguousarray(np.rot90(small, turns)) if turns else small
    stored_h, stored_w = small.shape[:2]
    scale_x, scale_y = width / stored_w, height / stored_h
    return [_to_stored(face, turns, stored_w, stored_h, scale_x, scale_y) for face in model.detect(upright)]


def _to_stored(face: Face, turns: int, width: int, height: int, scale_x: float, scale_y: float) -> Face:
    """face, found on a copy turned ``turns`` times counter-clockwise, in the full stored frame's pixels.

    ``width`` and ``height`` are the size of the (shrunk) stored frame before it was turned.
    """

    def back(point: Point) -> Point:
        x, y = point
        if turns == 1:
            x, y = width - y, x
        elif turns == 2:
            x, y = width - x, height - y
        elif turns == 3:
            x, y = y, height - x
        return x * scale_x, y * scale_y

    corners = [back((face.box[0], face.box[1])), back((face.box[2], face.box[3]))]
    xs, ys = sorted(x for x, _ in corners), sorted(y for _, y in corners)
    landmarks = tuple(back(point) for point in face.landmarks)
    return replace(face, box=(xs[0], ys[0], xs[1], ys[1]), landmarks=landmarks)  # type: ignore[arg-type]
