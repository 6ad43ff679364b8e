"""Images in and out: read any image Pillow opens as RGB ``uint8``, write atomically, find image files."""

from __future__ import annotations

from veil.io._files import IMAGE_EXTENSIONS, FoundFile, find_files, find_images
from veil.io._image import (
    OUTPUT_FORMATS,
    check_image,
    decode_image,
    read_image,
    remove_temporaries,
    write_image,
)
from veil.io._video import VIDEO_EXTENSIONS, VideoFrame, VideoInfo, VideoReader, is_video, probe_video
from veil.io._video_writer import OUTPUT_VIDEO_FORMATS, VideoWriter

__all__ = [
    "IMAGE_EXTENSIONS",
    "OUTPUT_FORMATS",
    "OUTPUT_VIDEO_FORMATS",
    "VIDEO_EXTENSIONS",
    "FoundFile",
    "VideoFrame",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "check_image",
    "decode_image",
    "find_files",
    "find_images",
    "is_video",
    "probe_video",
    "read_image",
    "remove_temporaries",
    "write_image",
]
