"""Videos out with PyAV: encode RGB frames with the source's timing, rotation and audio.

The output is H.264 (libx264) in MP4, MOV or Matroska. Audio streams are
copied packet for packet, not re-encoded, so the sound is bit-identical.
Container and stream metadata (titles, dates, the GPS ``location`` tag phones
write) and data streams are dropped unless ``keep_metadata=True``. Files are
written atomically: to a hidden temporary file in the target folder, then renamed.
See ``veil.io._video`` for how orientation is handled.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import numpy as np

from veil.errors import InputError, OutputError
from veil.io._image import _is_same_file, temporary_path
from veil.io._video import _QUEUE_FRAMES, VideoFrame, _open_input, _reason, probe_video

if TYPE_CHECKING:
    import av
    from av.container import OutputContainer
    from av.packet import Packet
    from av.stream import Stream
    from av.video.stream import VideoStream

__all__ = ["OUTPUT_VIDEO_FORMATS", "VideoWriter"]

logger = logging.getLogger(__name__)

OUTPUT_VIDEO_FORMATS: dict[str, str] = {".m4v": "mp4", ".mkv": "matroska", ".mov": "mov", ".mp4": "mp4"}
"""Output extensions ``VideoWriter`` accepts, and the FFmpeg muxer each one uses (all hold H.264)."""

VIDEO_CODEC: Final = "libx264"
PRESET = "veryfast"
"""x264 speed preset: at 1080p on this 2-core machine ``veryfast`` takes ~35 ms of CPU a frame,
``superfast`` ~26 ms for files twice as large, ``ultrafast`` ~18 ms for four times."""
CRF = 20
"""x264 constant quality (0 lossless .. 51 worst); 20 keeps the untouched background close to the input."""


class VideoWriter:
    """Encodes RGB frames to a new video that mirrors ``source``: size, rotation, timing and audio.

    Frames must have the source's stored size and carry the source's timestamps
    (``VideoFrame.pts`` as ``VideoReader`` gives them; change ``image`` with
    ``dataclasses.replace``), so the output plays in step with the copied audio.
    Video is encoded with x264 (``PRESET``, ``CRF``) in a background thread;
    every audio stream of ``source`` is copied without re-encoding.

    Use it as a context manager: leaving the block normally finishes the file and
    renames it into place; leaving it by an exception deletes the partial file.

    Args:
        path: The output file; its extension picks the container (``OUTPUT_VIDEO_FORMATS``).
        source: The input video the frames come from.
        keep_metadata: Copy the container and stream metadata of ``source``
            (titles, creation date and the GPS ``location`` tag of phone videos).
            Off by default, so a shared video does not tell where it was shot;
            stream languages are kept either way. Data streams are never copied.
        overwrite: Replace an existing file at ``path``. ``path`` may never be
            ``source``, even with ``overwrite=True``.

    Raises:
        InputError: ``source`` cannot be read (see ``probe_video``).
        OutputError: Unknown extension; ``path`` exists (without ``overwrite``),
            is ``source`` or is a folder; or the write failed (for instance an
            audio codec the container cannot hold: Matroska, ``.mkv``, holds them all).
    """

    def __init__(
        self, path: str | Path, *, source: str | Path, keep_metadata: bool = False, overwrite: bool = False
    ) -> None:
        import av

        self.path = Path(path)
        self.info = probe_video(source)
        muxer = _check_output(self.path, Path(source), overwrite=overwrite)
        self._source = _open_input(Path(source))
        self._temporary = temporary_path(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._container: OutputContainer = av.open(str(self._temporary), "w", format=muxer)
        except OSError as err:
            self._source.close()
            raise OutputError(self.path, f"could not write ({_reason(err)})") from err
        audio = tuple(self._source.streams.audio)
        self._audio_out: dict[int, Stream] = {}
        try:
            self._video = self._add_video(self._source.streams.video[0], keep_metadata=keep_metadata)
            for stream in audio:
                self._audio_out[stream.index] = copy = self._container.add_stream_from_template(stream)
                _copy_metadata(stream, copy, keep=keep_metadata)
        except (av.error.FFmpegError, ValueError) as err:
            self._container.close()
            self._source.close()
            self._temporary.unlink(missing_ok=True)
            raise OutputError(self.path, f"cannot set up the output streams ({_reason(err)})") from err
        self._audio: Iterator[Packet[Any]] = self._source.demux(audio) if audio else iter(())
        self._pending_audio: Packet[Any] | None = None
        if keep_metadata:
            self._container.metadata.update(self._source.metadata)
        self._last_pts: int | None = None
        self._frames = 0
        self._error: BaseException | None = None
        self._finish = False
        self._queue: queue.Queue[VideoFrame | None] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._encode_all, name=f"encode {self.path}", daemon=True)
        self._thread.start()

    def _add_video(self, source: VideoStream, *, keep_metadata: bool) -> VideoStream:
        stream = self._container.add_stream(
            VIDEO_CODEC, rate=self.info.fps or Fraction(25), options={"preset": PRESET, "crf": str(CRF)}
        )
        stream.width, stream.height = self.info.width, self.info.height
        # 4:2:0 needs even sizes; odd ones (rare, never from a camera) fall back to 4:4:4.
        stream.pix_fmt = "yuv420p" if self.info.width % 2 == self.info.height % 2 == 0 else "yuv444p"
        # Encode in the source's time base, so its timestamps carry over unchanged.
        stream.time_base = stream.codec_context.time_base = source.time_base or Fraction(1, 90_000)
        if self.info.rotation:
            stream.set_display_rotation(self.info.rotation)
        _copy_metadata(source, stream, keep=keep_metadata)
        return stream

    def write(self, frame: VideoFrame) -> None:
        """Queue ``frame`` for encoding.

        Raises:
            InputError: ``frame.image`` is not an RGB ``uint8`` array of the source's stored size.
            OutputError: Encoding or writing failed (raised here, or by ``close`` at the latest).
        """
        expected = (self.info.height, self.info.width, 3)
        image = frame.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.shape != expected:
            got = (
                f"{image.dtype} array of shape {image.shape}"
                if isinstance(image, np.ndarray)
                else type(image)
            )
            raise InputError("<array>", f"expected an RGB uint8 frame of shape {expected}, got {got}")
        self._raise_if_failed()
        self._queue.put(frame)

    def close(self) -> Path:
        """Finish the file (flush the encoder, copy the rest of the audio), rename it into place, return it.

        Raises:
            OutputError: Encoding or writing failed; no file is left behind.
        """
        self._finish = True
        self._queue.put(None)
        self._thread.join()
        try:
            self._raise_if_failed()
            self._container.close()
            with self._temporary.open("rb+") as handle:
                os.fsync(handle.fileno())
            self._temporary.replace(self.path)
        except OSError as err:
            raise OutputError(self.path, f"could not write ({_reason(err)})") from err
        finally:
            self._source.close()
            self._temporary.unlink(missing_ok=True)
        logger.info("wrote %s (%d frames)", self.path, self._frames)
        return self.path

    def abort(self) -> None:
        """Stop, and delete the partial output: nothing is written at ``path``."""
        import av

        self._queue.put(None)
        self._thread.join()
        for container in (self._container, self._source):
            try:
                container.close()
            except (av.error.FFmpegError, OSError) as err:
                # Already failing: the error that made us abort is the one to report.
                logger.debug("closing %s after an error: %s", container.name, err)
        self._temporary.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is None:
            self.close()
        else:
            self.abort()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise OutputError(self.path, f"could not write ({_reason(self._error)})") from self._error

    def _encode_all(self) -> None:
        """Encoder thread: encode queued frames until the None sentinel, then flush when finishing.

        After an error it keeps taking frames off the queue, so ``write`` never blocks forever.
        """
        import av

        try:
            while (frame := self._queue.get()) is not None:
                if self._error is None:
                    self._mux_video(self._video.encode(self._to_av(frame)))
            if self._finish:
                self._mux_video(self._video.encode())
                self._mux_audio_until(None)
        except (av.error.FFmpegError, OSError, ValueError) as err:
            self._error = err
            while self._queue.get() is not None:
                pass

    def _to_av(self, frame: VideoFrame) -> av.VideoFrame:
        import av

        picture = av.VideoFrame.from_ndarray(frame.image, format="rgb24")
        picture.pts = self._next_pts(frame.pts)
        picture.time_base = self._video.codec_context.time_base
        self._frames += 1
        return picture

    def _next_pts(self, pts: int | None) -> int:
        """pts itself, unless missing or not increasing (broken files): then one frame after the last."""
        if self._last_pts is None:
            self._last_pts = 0 if pts is None else pts
        elif pts is None or pts <= self._last_pts:
            time_base = self._video.codec_context.time_base or Fraction(1, 90_000)
            self._last_pts += max(1, round(1 / ((self.info.fps or Fraction(25)) * time_base)))
        else:
            self._last_pts = pts
        return self._last_pts

    def _mux_video(self, packets: list[Packet[Any]]) -> None:
        for packet in packets:
            if packet.pts is not None:
                self._mux_audio_until(packet.pts * packet.time_base)
            self._container.mux(packet)

    def _mux_audio_until(self, seconds: Fraction | None) -> None:
        """Copy source audio packets up to ``seconds`` (all when None), so the streams stay interleaved."""
        while (packet := self._pending_audio or next(self._audio, None)) is not None:
            self._pending_audio = None
            if packet.dts is None:  # the demuxer's empty end-of-stream packets
                continue
            if seconds is not None and packet.pts is not None and packet.pts * packet.time_base > seconds:
                self._pending_audio = packet
                return
            packet.stream = self._audio_out[packet.stream_index]
            self._container.mux(packet)


def _copy_metadata(source: Stream, target: Stream, *, keep: bool) -> None:
    """All of source's stream metadata, or only its language, onto target (which may hold a template's)."""
    kept = {key: value for key, value in source.metadata.items() if keep or key == "language"}
    target.metadata.clear()
    target.metadata.update(kept)


def _check_output(path: Path, source: Path, *, overwrite: bool) -> str:
    """The muxer for path, once path is known to be a place we may write to."""
    muxer = OUTPUT_VIDEO_FORMATS.get(path.suffix.lower())
    if muxer is None:
        known = ", ".join(sorted(OUTPUT_VIDEO_FORMATS))
        raise OutputError(path, f"unknown video extension {path.suffix!r}; use one of {known}")
    if _is_same_file(path, source):
        raise OutputError(path, "is the input file; write to another path (inputs are never overwritten)")
    if path.is_dir():
        raise OutputError(path, "is a folder; give a file name")
    if path.exists() and not overwrite:
        raise OutputError(path, "already exists (pass overwrite=True to replace it)")
    return muxer
