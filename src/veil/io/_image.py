"""Read any image Pillow can open into veil's one image type, and write images back safely.

Reading checks the pixel count from the header before a single pixel is
decoded, turns every colour mode into RGB ``uint8`` and applies the EXIF
orientation, so the rest of veil sees the photo the way a viewer shows it.
Writing goes through a temporary file in the target folder and a rename, so a
crash never leaves half an image behind, and drops all metadata unless asked.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import struct
import threading
import warnings
from io import BytesIO
from pathlib import Path
from typing import IO

import numpy as np
from PIL import ExifTags, ImageOps, UnidentifiedImageError
from PIL import Image as PILImage

from veil._config import DEFAULT_MAX_PIXELS
from veil.errors import ImageTooLargeError, InputError, OutputError, VeilWarning
from veil.types import Image

__all__ = [
    "OUTPUT_FORMATS",
    "check_image",
    "decode_image",
    "read_image",
    "remove_temporaries_below",
    "temporary_path",
    "write_image",
]

logger = logging.getLogger(__name__)

OUTPUT_FORMATS: dict[str, str] = {
    ".bmp": "BMP",
    ".jpeg": "JPEG",
    ".jpg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
"""Output extensions ``write_image`` accepts, and the Pillow format each one writes."""

# Formats whose Pillow writer takes ``exif`` and ``icc_profile``.
_METADATA_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "WEBP"})

# Pillow's grayscale modes holding 16-bit samples (16-bit PNG and TIFF open as one of these).
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})

# Pillow decodes broken files with these; anything else is a bug and should surface as one.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)

# warnings.catch_warnings swaps the process-wide filter list (until Python 3.14),
# so two threads inside it at once could leave the wrong filters behind.
_WARNINGS_LOCK = threading.Lock()


def read_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """The image file at ``path`` as an RGB ``uint8`` array of shape (H, W, 3).

    Reads JPEG, PNG, WebP, BMP, TIFF, GIF and anything else Pillow opens. The
    result is what a viewer shows:

    - the EXIF orientation is applied, so a portrait phone photo comes back tall;
    - grayscale, palette, CMYK and 1-bit images become RGB (CMYK with Pillow's
      plain formula, without the ICC profile; colour profiles are not applied);
    - 16-bit grayscale is scaled to 8 bits (0..65535 to 0..255), not clipped;
    - transparent pixels are composited on white, the way most viewers show them,
      rather than exposing whatever colour hides under alpha 0;
    - animated GIF, PNG and WebP files give their first frame (``read_animation`` reads every
      frame; work that writes photos back uses it, or refuses animations with ``read_still``).

    Args:
        path: The image file.
        max_pixels: Largest width x height accepted. The header is checked before
            decoding, so a small file that would expand to gigabytes is refused
            cheaply. Pillow's own hard limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``,
            about 179 MP) still applies above it.

    Raises:
        InputError: No such file, an empty file, a file that is not an image, or
            truncated or corrupt image data. The message names the file.
        ImageTooLargeError: Over ``max_pixels``.
    """
    name = str(path)
    with _open_file(Path(path)) as handle:
        return _decode(handle, name, size_bytes=os.fstat(handle.fileno()).st_size, max_pixels=max_pixels)


def decode_image(data: bytes, *, name: str = "<bytes>", max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """The image encoded in ``data`` as an RGB ``uint8`` array of shape (H, W, 3).

    Same rules as :func:`read_image`; use it for uploads and other bytes that
    never touch the disk.

    Args:
        data: The encoded file contents.
        name: What error messages call the input, e.g. the upload's file name.
        max_pixels: See :func:`read_image`.

    Raises:
        InputError: Empty, not an image, or truncated or corrupt image data.
        ImageTooLargeError: Over ``max_pixels``.
    """
    return _decode(BytesIO(data), name, size_bytes=len(data), max_pixels=max_pixels)


def write_image(
    image: Image,
    path: str | Path,
    *,
    keep_metadata: bool = False,
    metadata_from: str | Path | None = None,
    quality: int = 95,
    overwrite: bool = False,
) -> Path:
    """Write ``image`` to ``path`` atomically and return ``path``.

    The format follows the extension (see ``OUTPUT_FORMATS``). The file appears
    complete or not at all: it is written to a hidden temporary file in the same
    folder, flushed to disk and renamed over ``path``. Missing parent folders
    are created.

    Args:
        image: RGB ``uint8`` array of shape (H, W, 3).
        path: Where to write.
        keep_metadata: Copy the EXIF data (GPS and camera details included) and
            ICC profile of ``metadata_from``. Off by default, because the point of
            veil is to share photos without giving away who, where or when; the
            output then carries no EXIF, no GPS, no ICC profile and no text chunks.
            The EXIF orientation is reset to 1, since the pixels are already upright.
        metadata_from: The input the image came from. Needed for ``keep_metadata``,
            and always checked: ``path`` may never be this file, even with
            ``overwrite=True``, so an anonymized copy can never replace its original.
        quality: JPEG and WebP quality, 1 (smallest) to 100 (best); other formats
            are lossless and ignore it.
        overwrite: Replace an existing file at ``path``.

    Raises:
        InputError: ``image`` is not an RGB ``uint8`` (H, W, 3) array, or
            ``metadata_from`` cannot be read.
        OutputError: Unknown extension, ``path`` exists (without ``overwrite``),
            ``path`` is ``metadata_from``, ``keep_metadata`` without
            ``metadata_from``, or the write failed.
    """
    image = check_image(image)
    out = Path(path)
    file_format = OUTPUT_FORMATS.get(out.suffix.lower())
    if file_format is None:
        raise OutputError(
            out, f"unknown image extension {out.suffix!r}; use one of {', '.join(sorted(OUTPUT_FORMATS))}"
        )
    if metadata_from is not None and _is_same_file(out, Path(metadata_from)):
        raise OutputError(out, "is the input file; write to another path (inputs are never overwritten)")
    if out.is_dir():
        raise OutputError(out, "is a folder; give a file name")
    if out.exists() and not overwrite:
        raise OutputError(out, "already exists (pass overwrite=True to replace it)")
    options: dict[str, object] = {"quality": quality} if file_format in {"JPEG", "WEBP"} else {}
    if keep_metadata:
        if metadata_from is None:
            raise OutputError(out, "keep_metadata=True needs metadata_from, the file to copy metadata from")
        options.update(_source_metadata(Path(metadata_from), file_format))
    _write_atomically(PILImage.fromarray(image), out, file_format, options)
    logger.debug("wrote %s (%dx%d, %s)", out, image.shape[1], image.shape[0], file_format)
    return out


def check_image(image: Image) -> Image:
    """``image`` itself, once it is known to be veil's image type; C-contiguous.

    For functions that take arrays from callers (detectors, writers), so a wrong
    array fails with one clear message instead of deep inside OpenCV or Pillow.
    A contiguous array comes back as is (no copy); any other is copied.

    Raises:
        InputError: Not a non-empty RGB ``uint8`` array of shape (H, W, 3).
    """
    if not isinstance(image, np.ndarray):
        raise InputError(
            "<array>", f"expected an RGB uint8 array of shape (H, W, 3), got {type(image).__name__}"
        )
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise InputError(
            "<array>",
            f"expected an RGB uint8 array of shape (H, W, 3), got {image.dtype} array of shape {image.shape}",
        )
    return np.ascontiguousarray(image)


def _decode(handle: IO[bytes], name: str, *, size_bytes: int, max_pixels: int) -> Image:
    """Shared body of read_image and decode_image: header check, decode, convert."""
    if size_bytes == 0:
        raise InputError(name, "file is empty (0 bytes)")
    with _open_header(handle, name, max_pixels) as pil:
        width, height = pil.size
        if width * height > max_pixels:
            raise ImageTooLargeError(
                name, f"{width}x{height} px is over the {_megapixels(max_pixels)} limit (raise max_pixels)"
            )
        try:
            # Frame 0 is what Pillow loads, so animations give their first frame.
            pil.load()
            ImageOps.exif_transpose(pil, in_place=True)
        except _DECODE_ERRORS as err:
            raise InputError(name, f"truncated or corrupt image data ({err})") from err
        logger.debug("read %s (%dx%d, %s)", name, width, height, pil.mode)
        return _to_rgb(pil, name)


def _open_file(path: Path) -> IO[bytes]:
    """path opened for reading, with the usual failures as one-line InputErrors."""
    try:
        return path.open("rb")
    except FileNotFoundError as err:
        raise InputError(path, "no such file") from err
    except IsADirectoryError as err:
        raise InputError(path, "is a folder, not an image file") from err
    except PermissionError as err:
        raise InputError(path, "permission denied") from err


def _open_header(handle: IO[bytes], name: str, max_pixels: int) -> PILImage.Image:
    """Open lazily: Pillow parses the header (size, mode) and leaves the pixels for load()."""
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            # Pillow warns from about 89 MP, below our 100 MP default; max_pixels is the real
            # limit and is checked right after, so the warning would only be noise.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            return PILImage.open(handle)
    except UnidentifiedImageError as err:
        raise InputError(name, "not an image (Pillow cannot identify it)") from err
    except PILImage.DecompressionBombError as err:
        # Pillow refuses before it tells us the size; its message holds the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(err))
        size = f"{_megapixels(int(found.group(1)))}" if found else "the image"
        raise ImageTooLargeError(
            name, f"{size} is over the {_megapixels(max_pixels)} limit and Pillow's own hard limit"
        ) from err
    except _DECODE_ERRORS as err:
        raise InputError(name, f"truncated or corrupt image header ({err})") from err


def _to_rgb(pil: PILImage.Image, name: str) -> Image:
    """RGB uint8 pixels of any Pillow mode; see read_image for the rules."""
    if pil.mode in _SIXTEEN_BIT_MODES:
        samples = np.clip(np.asarray(pil, dtype=np.int64), 0, 65535)
        # Round to nearest: 65535 / 257 == 255 exactly.
        gray = ((samples + 128) // 257).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., np.newaxis], 3, axis=2))
    try:
        if pil.has_transparency_data:
            white = PILImage.new("RGBA", pil.size, (255, 255, 255, 255))
            pil = PILImage.alpha_composite(white, pil.convert("RGBA"))
        rgb = pil.convert("RGB")
    except ValueError as err:
        raise InputError(name, f"unsupported colour mode {pil.mode} ({err})") from err
    # np.array, not np.asarray: Pillow's buffer is read-only, and callers may edit the result.
    return np.array(rgb, dtype=np.uint8)


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:g} MP"


def _is_same_file(out: Path, source: Path) -> bool:
    """Whether out names source, through symlinks, hard links and relative paths."""
    if out.exists() and source.exists():
        return out.samefile(source)
    return out.resolve() == source.resolve()


def _source_metadata(source: Path, file_format: str) -> dict[str, object]:
    """The EXIF (orientation reset) and ICC profile of source, as Pillow save options."""
    if file_format not in _METADATA_FORMATS:
        warnings.warn(
            f"{source}: {file_format} files cannot hold EXIF or ICC data; the metadata is dropped",
            VeilWarning,
            stacklevel=3,
        )
        return {}
    name = str(source)
    with _open_file(source) as handle, _open_header(handle, name, DEFAULT_MAX_PIXELS) as pil:
        try:
            exif = pil.getexif()
        except _DECODE_ERRORS as err:
            raise InputError(name, f"cannot read its metadata ({err})") from err
        icc_profile = pil.info.get("icc_profile")
    if ExifTags.Base.Orientation in exif:
        exif[ExifTags.Base.Orientation] = 1
    options: dict[str, object] = {"exif": exif.tobytes()} if exif else {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    return options


def temporary_path(out: Path) -> Path:
    """The hidden file beside ``out`` that veil's writers fill before renaming it to ``out``."""
    return out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")


def remove_temporaries_below(folder: str | Path, names: str = "*") -> int:
    """Delete what killed writes left below ``folder`` (see ``temporary_path``); returns how many.

    A killed process cannot clean up after itself, so a job that writes into
    ``folder`` again (a resumed folder job) calls this first, once: it removes the
    temporaries of every file whose name matches the glob ``names``, in one walk
    of the tree (clearing each output's leftovers in turn would list its folder
    once per output, which takes hours in a folder of a hundred thousand photos).
    """
    leftovers = list(Path(folder).rglob(f".{names}.*.tmp"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    return len(leftovers)


def _write_atomically(pil: PILImage.Image, out: Path, file_format: str, options: dict[str, object]) -> None:
    """Write to a hidden temporary file beside out, fsync it, then rename it over out.

    The same folder keeps the rename atomic (one filesystem); fsync makes sure the
    bytes are on disk before the name points at them.
    """
    temporary = temporary_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # "xb" rather than tempfile.mkstemp: mkstemp makes the file 0600, ignoring the umask.
        handle = temporary.open("xb")
    except OSError as err:
        raise OutputError(out, f"could not write ({err})") from err
    try:
        with handle:
            pil.save(handle, format=file_format, **options)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(out)
    except (OSError, ValueError) as err:
        raise OutputError(out, f"could not write ({err})") from err
    finally:
        # A no-op after a successful rename; otherwise no half-written file stays behind.
        temporary.unlink(missing_ok=True)
