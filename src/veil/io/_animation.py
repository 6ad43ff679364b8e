"""Animated images (GIF, animated PNG and WebP): every frame in, every frame out.

``read_image`` gives the first frame of an animation, which is right for
looking at a photo and wrong for writing one back: a blurred copy that kept only
the first frame would lose the rest without a word. Work that writes its input
back reads animations with ``read_animation`` (or refuses them with
``read_still``) and writes them with ``write_animation``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO

from PIL import Image as PILImage
from PIL import ImageOps, ImageSequence

from veil._config import DEFAULT_MAX_PIXELS
from veil.errors import ImageTooLargeError, InputError, OutputError
from veil.io._image import (
    _DECODE_ERRORS,
    _is_same_file,
    _megapixels,
    _open_file,
    _open_header,
    _to_rgb,
    _write_atomically,
    check_image,
    read_image,
)
from veil.types import Image

__all__ = [
    "ANIMATION_FORMATS",
    "Animation",
    "check_animation_output",
    "count_frames",
    "count_frames_in_bytes",
    "read_animation",
    "read_still",
    "write_animation",
]

logger = logging.getLogger(__name__)

ANIMATION_FORMATS: dict[str, str] = {".png": "PNG", ".webp": "WEBP"}
"""Output extensions ``write_animation`` accepts: animated PNG and lossless WebP keep every frame's
colours. GIF is read but not written (256 colours a frame), as for still photos."""

ANIMATED_FORMATS = frozenset({"GIF", "PNG", "WEBP"})
"""Pillow formats whose extra frames are an animation (not the pages of a TIFF or the pictures of an MPO)."""

_MAGIC_BYTES = 12  # enough to recognise GIF, PNG and WebP

DEFAULT_FRAME_MS = 100
"""Display time of a frame whose file gives none (browsers show such GIF frames for about 100 ms)."""


@dataclass(frozen=True, slots=True)
class Animation:
    """The frames of an animated image and how they play.

    Attributes:
        frames: Each frame as it is shown (earlier frames composited in), RGB ``uint8`` (H, W, 3).
        durations_ms: How long each frame is shown, in milliseconds.
        loop: How many times the animation repeats; 0 forever.
    """

    frames: tuple[Image, ...]
    durations_ms: tuple[int, ...]
    loop: int = 0


def count_frames(path: str | Path) -> int:
    """How many frames of an animation the image file at ``path`` holds: 1 for a still photo.

    Only GIF, PNG and WebP files animate. The extra images of a multi-picture
    JPEG (MPO: a phone's depth map or stereo pair) or a multi-page TIFF are not
    frames of an animation, so those files count as one. Other files are
    recognised from their first bytes and not opened any further, which keeps
    the check cheap enough to run on every photo of a folder job.

    Raises:
        InputError: A missing file, or a GIF, PNG or WebP file that cannot be read.
    """
    with _open_file(Path(path)) as handle:
        return _count_frames(handle, str(path))


def count_frames_in_bytes(data: bytes, *, name: str = "<bytes>") -> int:
    """``count_frames`` for an encoded image in memory (an upload); ``name`` is what errors call it."""
    return _count_frames(BytesIO(data), name)


def _count_frames(handle: IO[bytes], name: str) -> int:
    if not _may_animate(handle.read(_MAGIC_BYTES)):
        return 1
    handle.seek(0)
    with _open_header(handle, name, DEFAULT_MAX_PIXELS) as pil:
        return _frame_count(pil, name)


def _may_animate(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a GIF, PNG or WebP file."""
    return head.startswith((b"GIF87a", b"GIF89a", b"\x89PNG\r\n\x1a\n")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    )


def _frame_count(pil: PILImage.Image, name: str) -> int:
    """Frames of the animation ``pil`` holds; 1 for formats that do not animate (see ``count_frames``)."""
    if pil.format not in ANIMATED_FORMATS:
        return 1
    try:
        return int(getattr(pil, "n_frames", 1))
    except _DECODE_ERRORS as err:
        raise InputError(name, f"truncated or corrupt image data ({err})") from err


def read_still(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """``read_image`` for work that writes the photo back: an animated image is refused, not cut to a frame.

    Raises:
        InputError: As ``read_image``, and for an image of more than one frame.
        ImageTooLargeError: As ``read_image``.
    """
    frames = count_frames(path)
    if frames > 1:
        raise InputError(
            path,
            f"animated image ({frames} frames): only still photos can be treated here, and keeping "
            "the first frame would lose the others (veil blur treats every frame)",
        )
    return read_image(path, max_pixels=max_pixels)


def read_animation(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Animation:
    """Every frame of the image file at ``path``, as ``read_image`` reads one (a still photo gives one).

    Frames are decoded one after another into memory, so the whole animation,
    frames times width times height, must stay under ``max_pixels``.

    Raises:
        InputError: As ``read_image``.
        ImageTooLargeError: All frames together over ``max_pixels``.
    """
    name = str(path)
    with _open_image(Path(path), max_pixels) as pil:
        width, height = pil.size
        count = _frame_count(pil, name)
        if width * height * count > max_pixels:
            raise ImageTooLargeError(
                name,
                f"{count} frames of {width}x{height} px are over the {_megapixels(max_pixels)} limit "
                "(raise max_pixels, or convert it to a video and blur that)",
            )
        frames, durations = [], []
        try:
            for frame in itertools.islice(ImageSequence.Iterator(pil), count):
                frame.load()
                durations.append(int(frame.info.get("duration") or DEFAULT_FRAME_MS))
                frames.append(_to_rgb(ImageOps.exif_transpose(frame), name))
        except _DECODE_ERRORS as err:
            raise InputError(name, f"truncated or corrupt image data ({err})") from err
        loop = int(pil.info.get("loop", 0))
    logger.debug("read %s (%d frames of %dx%d)", name, len(frames), width, height)
    return Animation(tuple(frames), tuple(durations), loop)


@contextlib.contextmanager
def _open_image(path: Path, max_pixels: int) -> Iterator[PILImage.Image]:
    """The image file at path opened lazily (header only), with read_image's errors for bad files."""
    with _open_file(path) as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise InputError(path, "file is empty (0 bytes)")
        with _open_header(handle, str(path), max_pixels) as pil:
            yield pil


def check_animation_output(
    path: str | Path, *, metadata_from: str | Path | None = None, overwrite: bool = False
) -> str:
    """The Pillow format ``write_animation`` would write ``path`` in, once it is known that it may.

    For work that takes time before it writes: it fails at once, not after the work.

    Raises:
        OutputError: As ``write_animation``: unknown extension, ``path`` exists
            (without ``overwrite``) or is ``metadata_from``.
    """
    out = Path(path)
    file_format = ANIMATION_FORMATS.get(out.suffix.lower())
    if file_format is None:
        raise OutputError(
            out,
            f"cannot write an animation as {out.suffix!r}; use one of {', '.join(sorted(ANIMATION_FORMATS))}",
        )
    if metadata_from is not None and _is_same_file(out, Path(metadata_from)):
        raise OutputError(out, "is the input file; write to another path (inputs are never overwritten)")
    if out.exists() and not overwrite:
        raise OutputError(out, "already exists (pass overwrite=True to replace it)")
    return file_format


def write_animation(
    animation: Animation,
    path: str | Path,
    *,
    metadata_from: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``animation`` to ``path`` atomically, as animated PNG or lossless WebP, and return ``path``.

    The file carries no metadata: animations are written as privately as
    ``write_image`` writes photos by default, and there is no option to keep it.

    Args:
        animation: The frames and their timing.
        path: Where to write; the extension picks the format (``ANIMATION_FORMATS``).
        metadata_from: The input the frames came from; ``path`` may never be this file.
        overwrite: Replace an existing file at ``path``.

    Raises:
        InputError: A frame that is not an RGB ``uint8`` array, frames of different
            sizes, or no frame.
        OutputError: Unknown extension, ``path`` exists (without ``overwrite``) or
            is ``metadata_from``, or the write failed.
    """
    out = Path(path)
    file_format = check_animation_output(out, metadata_from=metadata_from, overwrite=overwrite)
    frames = [PILImage.fromarray(check_image(frame)) for frame in animation.frames]
    if not frames or len({frame.size for frame in frames}) > 1:
        raise InputError("<array>", "an animation needs one or more frames, all of one size")
    options: dict[str, object] = {
        "save_all": True,
        "append_images": frames[1:],
        "duration": list(animation.durations_ms),
        "loop": animation.loop,
    }
    if file_format == "WEBP":
        options["lossless"] = True
    _write_atomically(frames[0], out, file_format, options)
    logger.debug("wrote %s (%d frames, %s)", out, len(frames), file_format)
    return out
