"""Videos in with PyAV: probe them and decode them to RGB frames (``_video_writer`` encodes them back).

A video is read in its *stored* orientation: phones record portrait video as
landscape frames plus a display matrix that tells players to turn them. veil
keeps the stored frames and copies the rotation to the output, so the output
has the input's resolution, rotation, frame count and timestamps; callers that
need upright pixels (detectors) turn a copy with ``VideoInfo.rotation``.

The output is H.264 (libx264) in MP4, MOV or Matroska. Audio streams are
copied packet for packet, not re-encoded, so the sound is bit-identical.
Container and stream metadata (titles, dates, the GPS ``location`` tag phones
write) and data streams (GoPro and iPhone sensor tracks) are dropped unless
``keep_metadata=True``. Files are written atomically: to a hidden temporary
file in the target folder, then renamed.

Decoding and encoding each run in a background thread: FFmpeg releases the GIL,
so they overlap with the caller's work (detection and blurring) on another core.

PyAV (``av``) is imported inside the functions, so ``import veil`` stays light.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from veil.errors import InputError
from veil.types import Image

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

__all__ = ["VIDEO_EXTENSIONS", "VideoFrame", "VideoInfo", "VideoReader", "is_video", "probe_video"]

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset(
    {
        ".3gp",
        ".avi",
        ".flv",
        ".m2ts",
        ".m4v",
        ".mkv",
        ".mov",
        ".mp4",
        ".mpeg",
        ".mpg",
        ".mts",
        ".ts",
        ".webm",
        ".wmv",
    }
)
"""Lowercase suffixes that ``is_video`` takes for videos (matched case-insensitively)."""

# Frames decoded ahead and frames waiting to be encoded: enough to smooth out a
# slow detection frame, small enough to stay under ~50 MB at 1080p.
_QUEUE_FRAMES = 4
# FFmpeg demuxers that open still images as one-frame videos.
_IMAGE_DEMUXERS = ("image2", "_pipe")


def is_video(path: str | Path) -> bool:
    """Whether ``path`` is named like a video file (by its suffix; the file is not opened)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What ``probe_video`` learns about a video file.

    Attributes:
        path: The file.
        width: Stored frame width in pixels (before the display rotation).
        height: Stored frame height in pixels.
        fps: Average frame rate (frames per second), exact as a fraction.
        frames: Number of frames, from the container, or estimated from the
            duration; 0 when neither is known.
        rotation: Counter-clockwise degrees (0, 90, 180 or 270) a player turns
            the stored frames to show them upright; 90 or 270 for portrait phone video.
        has_audio: Whether the file has an audio stream.
        codec: The video codec's FFmpeg name, e.g. ``"h264"``.
    """

    path: str
    width: int
    height: int
    fps: Fraction
    frames: int
    rotation: int
    has_audio: bool
    codec: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "fps": round(float(self.fps), 3),
            "frames": self.frames,
            "rotation": self.rotation,
            "has_audio": self.has_audio,
            "codec": self.codec,
        }


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame.

    Attributes:
        image: RGB ``uint8`` pixels (H, W, 3) in the stored orientation (see ``VideoInfo.rotation``).
        index: Position in the video, from 0.
        pts: Presentation timestamp in the source stream's time base, or None when
            the file gives none; ``VideoWriter`` uses it to keep the timing exact.
    """

    image: Image
    index: int
    pts: int | None


def probe_video(path: str | Path) -> VideoInfo:
    """Size, frame rate, frame count, rotation and streams of the video at ``path``.

    The first frame is decoded, so a file that opens but cannot be decoded fails here.

    Raises:
        InputError: No such file, an empty file, not a video, no video stream,
            or a video that cannot be decoded. The message names the file.
    """
    with _open_input(Path(path)) as container:
        return _info(container, Path(path))


class VideoReader:
    """Decodes a video file into ``VideoFrame`` values, in presentation order.

    Use it as a context manager, so the file is closed even when a loop stops
    early. Decoding runs in a background thread a few frames ahead; iterate once.

    Args:
        path: The video file.

    Attributes:
        info: What ``probe_video`` says about the file.

    Raises:
        InputError: As ``probe_video``, when opened; while iterating, a video whose
            data turns out truncated or corrupt partway.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.info = probe_video(self.path)
        self._container = _open_input(self.path)
        self._frames: Generator[VideoFrame] | None = None

    def __iter__(self) -> Iterator[VideoFrame]:
        if self._frames is None:
            stream = self._container.streams.video[0]
            # FFmpeg's frame and slice threads: H.264 decodes ~2x faster on 2 cores.
            stream.thread_type = "AUTO"
            self._frames = _in_background(self._decode(stream), name=f"decode {self.path}")
        return self._frames

    def _decode(self, stream: VideoStream) -> Iterator[VideoFrame]:
        import av

        index = 0
        try:
            for frame in self._container.decode(stream):
                yield VideoFrame(np.asarray(frame.to_ndarray(format="rgb24"), np.uint8), index, frame.pts)
                index += 1
        except av.error.FFmpegError as err:
            raise InputError(
                self.path, f"truncated or corrupt video data after frame {index} ({_reason(err)})"
            ) from err
        logger.debug("decoded %d frames from %s", index, self.path)

    def close(self) -> None:
        """Stop decoding and close the file."""
        if self._frames is not None:
            self._frames.close()  # joins the decoding thread before its container goes
        self._container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _open_input(path: Path) -> InputContainer:
    """path opened by FFmpeg, with the usual failures as one-line InputErrors."""
    import av

    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a folder, not a video file")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)")
    try:
        container = av.open(str(path), "r")
    except PermissionError as err:
        raise InputError(path, "permission denied") from err
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise InputError(path, f"not a video, or truncated or corrupt ({_reason(err)})") from err
    reason = None
    if any(container.format.name.endswith(name) for name in _IMAGE_DEMUXERS):
        reason = "is a still image, not a video"
    elif not container.streams.video:
        reason = "has no video stream"
    if reason is not None:
        container.close()
        raise InputError(path, reason)
    return container


def _info(container: InputContainer, path: Path) -> VideoInfo:
    import av

    stream = container.streams.video[0]
    try:
        first = next(iter(container.decode(stream)), None)
    except av.error.FFmpegError as err:
        raise InputError(path, f"truncated or corrupt video data ({_reason(err)})") from err
    if first is None:
        raise InputError(path, "has no frames that can be decoded (truncated or corrupt)")
    fps = Fraction(stream.average_rate or stream.guessed_rate or 0)
    frames = stream.frames
    if not frames and container.duration and fps:
        frames = round(container.duration / 1_000_000 * fps)  # container.duration is in microseconds
    return VideoInfo(
        path=str(path),
        width=stream.width,
        height=stream.height,
        fps=fps,
        frames=frames,
        rotation=round(first.rotation / 90) * 90 % 360,
        has_audio=bool(container.streams.audio),
        codec=stream.codec_context.name,
    )


def _reason(err: BaseException) -> str:
    """The cause in a few words, without the file name PyAV repeats in its messages."""
    return str(getattr(err, "strerror", None) or err)


def _in_background(frames: Iterator[VideoFrame], *, name: str) -> Generator[VideoFrame]:
    """``frames``, produced by a thread a few items ahead; its exceptions surface here, in the consumer."""
    ahead: queue.Queue[VideoFrame | BaseException | None] = queue.Queue(maxsize=_QUEUE_FRAMES)
    stop = threading.Event()

    def offer(item: VideoFrame | BaseException | None) -> bool:
        """Put item unless the consumer has gone; whether it went in."""
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for frame in frames:
                if not offer(frame):
                    return
        except BaseException as err:  # handed to the consumer, which raises it
            offer(err)
            return
        offer(None)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
