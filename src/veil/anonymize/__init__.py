"""Anonymization: obfuscate every face so that no recognizer can identify it."""

from __future__ import annotations

from veil.anonymize._animation import blur_animation
from veil.anonymize._consent import CONSENT_FAR, CONSENT_STREAK
from veil.anonymize._files import BlurWork, blur_file, blur_files
from veil.anonymize._filters import FILTERS
from veil.anonymize._image import (
    DEFAULT_DETECTOR,
    DEFAULT_EXPAND,
    DEFAULT_METHOD,
    DEFAULT_STRENGTH,
    Anonymized,
    anonymize_faces,
    blur,
)
from veil.anonymize._video import (
    DEFAULT_DETECT_EVERY,
    DEFAULT_DETECT_SIDE,
    FaceFollower,
    FrameBlurrer,
    VideoReport,
    blur_video,
)

__all__ = [
    "CONSENT_FAR",
    "CONSENT_STREAK",
    "DEFAULT_DETECTOR",
    "DEFAULT_DETECT_EVERY",
    "DEFAULT_DETECT_SIDE",
    "DEFAULT_EXPAND",
    "DEFAULT_METHOD",
    "DEFAULT_STRENGTH",
    "FILTERS",
    "Anonymized",
    "BlurWork",
    "FaceFollower",
    "FrameBlurrer",
    "VideoReport",
    "anonymize_faces",
    "blur",
    "blur_animation",
    "blur_file",
    "blur_files",
    "blur_video",
]
