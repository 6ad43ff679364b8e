"""Images in and out: read any image Pillow opens as RGB ``uint8`` (animations frame by frame), write
atomically, find image files."""

from __future__ import annotations

from veil.io._animation import (
    ANIMATION_FORMATS,
    Animation,
    check_animation_output,
    count_frames,
    count_frames_in_bytes,
    read_animation,
    read_still,
    write_animation,
)
from veil.io._files import IMAGE_EXTENSIONS, FoundFile, find_files, find_images
from veil.io._image import (
    OUTPUT_FORMATS,
    check_image,
    decode_image,
    read_image,
    remove_temporaries_below,
    write_image,
)
from veil.io._video import VIDEO_EXTENSIONS, VideoFrame, VideoInfo, VideoReader, is_video, probe_video
from veil.io._video_writer import OUTPUT_VIDEO_FORMATS, VideoWriter

__all__ = [
    "ANIMATION_FORMATS",
    "IMAGE_EXTENSIONS",
    "OUTPUT_FORMATS",
    "OUTPUT_VIDEO_FORMATS",
    "VIDEO_EXTENSIONS",
    "Animation",
    "FoundFile",
    "VideoFrame",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "check_animation_output",
    "check_image",
    "count_frames",
    "count_frames_in_bytes",
    "decode_image",
    "find_files",
    "find_images",
    "is_video",
    "probe_video",
    "read_animation",
    "read_image",
    "read_still",
    "remove_temporaries_below",
    "write_animation",
    "write_image",
]
