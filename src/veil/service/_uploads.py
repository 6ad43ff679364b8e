"""Uploads: size limits, the real content type (from the bytes, not the header) and decoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from fastapi import HTTPException, UploadFile, status
from fastapi.concurrency import run_in_threadpool

from veil.errors import ImageTooLargeError, InputError
from veil.io import count_frames_in_bytes, decode_image
from veil.service._settings import ServiceSettings
from veil.types import Image

__all__ = ["Photo", "read_photo", "sniff_image_type"]

# Magic numbers of the formats veil reads; the Content-Type header is the client's
# claim and is never trusted.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_SUFFIXES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/webp": ".webp",
}


def sniff_image_type(data: bytes) -> str | None:
    """The image MIME type the first bytes of ``data`` announce, or None if they are no image veil reads."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _SIGNATURES:
        if data.startswith(magic):
            return mime
    return None


@dataclass(frozen=True, slots=True)
class Photo:
    """A checked upload.

    Attributes:
        name: The client's file name, without folders (used in messages only).
        data: The bytes as uploaded.
        mime: The type found in the bytes.
        suffix: The file suffix of that type (``.jpg``, ``.png``, ...).
        image: The decoded RGB photo (an animation's first frame).
        frames: How many frames the upload holds: 1 for a still photo.
    """

    name: str
    data: bytes
    mime: str
    suffix: str
    image: Image
    frames: int = 1

    @property
    def output_suffix(self) -> str:
        """JPEG stays JPEG (quality 95); every other format comes back as lossless PNG."""
        return ".jpg" if self.mime == "image/jpeg" else ".png"

    @property
    def megapixels(self) -> float:
        return float(self.image.shape[0] * self.image.shape[1]) / 1e6


async def read_photo(upload: UploadFile, settings: ServiceSettings) -> Photo:
    """Read and check one uploaded photo.

    Raises:
        HTTPException: 413 over the byte or pixel limit, 415 when the bytes are not
            an image, 422 when they are empty or corrupt; ``detail`` says which.
    """
    name = PurePath(upload.filename or "upload").name or "upload"
    data = await upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{name}: over the {settings.max_upload_bytes} byte limit",
        )
    if not data:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: file is empty (0 bytes)")
    mime = sniff_image_type(data)
    if mime is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"{name}: not a photo; the bytes are not JPEG, PNG, WebP, GIF, BMP or TIFF "
            "(the type is read from the content, not the Content-Type header)",
        )
    try:
        # Decoding a large JPEG takes a while: off the event loop, so other requests go on.
        image = await run_in_threadpool(decode_image, data, name=name, max_pixels=settings.max_pixels)
        frames = await run_in_threadpool(count_frames_in_bytes, data, name=name)
    except ImageTooLargeError as error:
        # The library's hint names its keyword; a client needs the server's setting.
        reason = error.reason.replace("(raise max_pixels)", "(the server's --max-megapixels)")
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"{name}: {reason}") from error
    except InputError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    return Photo(name=name, data=data, mime=mime, suffix=_SUFFIXES[mime], image=image, frames=frames)
