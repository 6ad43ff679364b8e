"""Images in and out: read any image Pillow opens as RGB ``uint8``, write atomically, find image files."""

from __future__ import annotations

from veil.io._files import IMAGE_EXTENSIONS, find_images
from veil.io._image import OUTPUT_FORMATS, check_image, decode_image, read_image, write_image

__all__ = [
    "IMAGE_EXTENSIONS",
    "OUTPUT_FORMATS",
    "check_image",
    "decode_image",
    "find_images",
    "read_image",
    "write_image",
]
