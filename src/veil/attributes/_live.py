"""A universal perturbation on live frames: a camera stream or a video file, one frame at a time.

No model runs on most frames: faces are detected on every ``detect_every``-th
frame, on a copy shrunk to ``detect_side`` pixels, and tracked in between
(``veil.anonymize.FaceFollower``, as ``blur_video`` does); each face then only
needs the perturbation warped onto it (``UniversalPerturbation.apply``). That
is what keeps 720p above 25 frames per second on two CPU cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from veil.attributes._universal import UniversalPerturbation
from veil.types import Image, ProgressUpdate

if TYPE_CHECKING:
    from veil.anonymize import VideoReport

__all__ = ["LiveHider", "hide_attributes_video"]

LIVE_DETECT_EVERY = 5
LIVE_DETECT_SIDE = 480


class LiveHider:
    """Apply a universal perturbation to a stream of frames, one call per frame, in order.

    For a webcam or a video call: any source of RGB frames will do. With
    OpenCV's capture (which gives BGR)::

        hider = LiveHider(UniversalPerturbation.load("me.npz"))
        camera = cv2.VideoCapture(0)
        while (grabbed := camera.read())[0]:
            protected = hider(grabbed[1][:, :, ::-1])

    Args:
        perturbation: From ``universal_perturbation`` (or ``UniversalPerturbation.load``).
        detector: See ``veil.detect.detect``, as is ``threshold``.
        threshold: See ``detector``.
        detect_every: Detect on the first frame and on every ``detect_every``-th
            after it; a face that enters the picture may go unprotected for up to
            ``detect_every - 1`` frames.
        detect_side: Long side of the copy detection runs on.

    Attributes:
        frames: Frames seen so far.
        frames_with_faces: Frames in which at least one face got the perturbation.

    Raises:
        UnknownModelError: Unknown ``detector``.
        ValueError: ``detect_every`` or ``detect_side`` below 1.
    """

    def __init__(
        self,
        perturbation: UniversalPerturbation,
        *,
        detector: str = "yunet",
        threshold: float | None = None,
        detect_every: int = LIVE_DETECT_EVERY,
        detect_side: int = LIVE_DETECT_SIDE,
    ) -> None:
        from veil.anonymize import FaceFollower
        from veil.detect import get_detector

        self.perturbation = perturbation
        self._follower = FaceFollower(
            get_detector(detector, threshold=threshold), detect_every=detect_every, detect_side=detect_side
        )
        self.frames = 0
        self.frames_with_faces = 0

    @property
    def tracks(self) -> int:
        """Distinct faces followed so far, as far as the tracker can tell them apart."""
        return self._follower.tracker.tracks_started

    def __call__(self, image: Image, rotation: int = 0) -> Image:
        """The frame with the perturbation on every face (the frame itself when it shows none).

        ``rotation`` is how the frame is stored (``VideoInfo.rotation``); 0 for camera frames.
        A view such as OpenCV's BGR frame reversed to RGB is copied once to be contiguous.

        Raises:
            InputError: ``image`` is not an RGB ``uint8`` array of shape (H, W, 3).
        """
        from veil.io import check_image

        image = check_image(image)
        faces, _ = self._follower(image, rotation)
        self.frames += 1
        if not faces:
            return image
        self.frames_with_faces += 1
        return self.perturbation.apply(image, faces)


def hide_attributes_video(
    src: str | Path,
    dst: str | Path,
    perturbation: UniversalPerturbation,
    *,
    detector: str = "yunet",
    threshold: float | None = None,
    detect_every: int = LIVE_DETECT_EVERY,
    detect_side: int = LIVE_DETECT_SIDE,
    keep_metadata: bool = False,
    overwrite: bool = False,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> VideoReport:
    """Write a copy of the video ``src`` to ``dst`` with ``perturbation`` on every face of every frame.

    Same frame count, timestamps, frame rate, resolution and rotation, H.264,
    audio copied (``veil.io.VideoWriter``); the frames go through a
    :class:`LiveHider` (see it for ``detector``, ``detect_every`` and ``detect_side``).

    Returns:
        A ``veil.anonymize.VideoReport``.

    Raises:
        InputError: ``src`` is not a readable video.
        OutputError: ``dst`` exists (without ``overwrite``) or cannot be written.
        ValueError: ``detect_every`` or ``detect_side`` below 1.
    """
    from veil.anonymize import VideoReport
    from veil.io import VideoReader, VideoWriter

    hider = LiveHider(
        perturbation,
        detector=detector,
        threshold=threshold,
        detect_every=detect_every,
        detect_side=detect_side,
    )
    started = time.perf_counter()
    with (
        VideoReader(src) as reader,
        VideoWriter(dst, source=src, keep_metadata=keep_metadata, overwrite=overwrite) as writer,
    ):
        info = reader.info
        for frame in reader:
            writer.write(replace(frame, image=hider(frame.image, info.rotation)))
            if progress is not None:
                total = max(info.frames, hider.frames)
                progress(ProgressUpdate(done=hider.frames, total=total, current=str(src)))
    seconds = time.perf_counter() - started
    return VideoReport(
        frames=hider.frames,
        frames_with_faces=hider.frames_with_faces,
        tracks=hider.tracks,
        fps_in=float(info.fps),
        seconds=seconds,
        frames_per_second=hider.frames / seconds if seconds > 0 else 0.0,
    )
