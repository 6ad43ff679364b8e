"""Test videos made from real photos: slow pans and zooms, so faces move across the frame.

Video benchmarks and tests need footage with real faces that move, at a known
size and frame rate, and nothing of the kind can be downloaded here. So each
photo is shown for ``SECONDS_PER_PHOTO`` with a "Ken Burns" move: the camera
zooms in (or out) by ``ZOOM`` while panning from one side of the photo to the
other. A sine tone is added as an audio track, so that audio copying can be
checked. Generated videos are test inputs: never commit them.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from veil.io import read_image
from veil.types import Image

__all__ = ["make_test_video"]

SECONDS_PER_PHOTO = 2.0
ZOOM = 1.3
"""Scale change over one photo's shot; 1.3 moves a face by about a tenth of the frame per second."""
TONE_HZ = 440.0
SAMPLE_RATE = 48_000
AUDIO_FRAME = 1024  # samples per AAC frame


def _shot(photo: Image, size: tuple[int, int], progress: float, shot: int) -> Image:
    """One frame of a shot: ``progress`` in [0, 1) through a zoom and pan over ``photo``."""
    import cv2

    width, height = size
    photo_h, photo_w = photo.shape[:2]
    # The largest window of the frame's aspect that fits in the photo, at zoom 1.
    cover = min(photo_w / width, photo_h / height)
    zoom = 1 + (ZOOM - 1) * (progress if shot % 2 == 0 else 1 - progress)  # in on even shots, out on odd
    window_w, window_h = width * cover / zoom, height * cover / zoom
    # Pan across the room the window leaves, left to right on even shots, right to left on odd.
    along = progress if shot % 2 == 0 else 1 - progress
    left = (photo_w - window_w) * along
    top = (photo_h - window_h) * (0.5 + 0.3 * (along - 0.5))
    scale = width / window_w
    matrix = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]], np.float64)
    frame = cv2.warpAffine(
        photo, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    return np.asarray(frame, np.uint8)


def _tone(seconds: float) -> NDArray[np.float32]:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.2 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)


def make_test_video(
    path: Path,
    *,
    photos: Sequence[Path],
    seconds: float = 12,
    fps: int = 25,
    size: tuple[int, int] = (1920, 1080),
    audio: bool = True,
    rotation: int = 0,
) -> Path:
    """Write an H.264 video of slow pans and zooms over ``photos`` to ``path`` and return it.

    Args:
        path: Output file (``.mp4``, ``.mov`` or ``.mkv``); overwritten if it exists.
        photos: Photo files, each shown for ``SECONDS_PER_PHOTO`` in turn, cycling
            until ``seconds`` are filled.
        seconds: Length; the video has ``round(seconds * fps)`` frames.
        fps: Frames per second.
        size: (width, height) as a viewer shows the video.
        audio: Add a mono AAC sine tone of the same length.
        rotation: Display rotation in degrees counter-clockwise (0, 90, 180 or 270),
            as phones record portrait video: the frames are stored turned the other
            way and the file says how to turn them back, so the stored size is
            ``size`` transposed for 90 and 270.
    """
    import av

    if rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90 degrees, got {rotation}")
    images = [read_image(photo) for photo in photos]
    frames = round(seconds * fps)
    per_photo = max(1, round(SECONDS_PER_PHOTO * fps))
    turns = -(rotation // 90) % 4  # np.rot90 turns counter-clockwise; storing undoes the display rotation
    stored_w, stored_h = size if turns % 2 == 0 else size[::-1]
    samples = _tone(frames / fps) if audio else np.zeros(0, np.float32)
    with av.open(str(path), "w") as container:
        video = container.add_stream(
            "libx264", rate=Fraction(fps), options={"preset": "veryfast", "crf": "18"}
        )
        video.width, video.height, video.pix_fmt = stored_w, stored_h, "yuv420p"
        if rotation % 360:
            video.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if audio else None
        sent = 0  # audio samples encoded so far; kept level with the video so the streams interleave
        for index in range(frames):
            shot, step = divmod(index, per_photo)
            upright = _shot(images[shot % len(images)], size, step / per_photo, shot)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(upright, turns)), format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
            while sound is not None and sent < min(len(samples), (index + 1) * SAMPLE_RATE // fps):
                chunk = av.AudioFrame.from_ndarray(
                    samples[None, sent : sent + AUDIO_FRAME], format="fltp", layout="mono"
                )
                chunk.sample_rate, chunk.pts = SAMPLE_RATE, sent
                container.mux(sound.encode(chunk))
                sent += AUDIO_FRAME
        container.mux(video.encode())
        if sound is not None:
            container.mux(sound.encode())
    return path
