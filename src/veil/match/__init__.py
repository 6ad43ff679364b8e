"""Galleries of face embeddings, encrypted at rest, and score calibration.

A :class:`Gallery` holds one model's embeddings under names and finds the
closest entries to a probe; :class:`ScoreCalibrator` and
:func:`thresholds_at_far` say what a cosine score means for that model.
Importing this package loads neither FAISS nor cryptography: each is imported
by the method that needs it.
"""

from __future__ import annotations

from veil.match._calibration import METHODS, FarThreshold, ScoreCalibrator, thresholds_at_far
from veil.match._gallery import INDEXES, Gallery, Match
from veil.match._keys import create_key_file, generate_key, load_key
from veil.match._thresholds import DEFAULT_FAR, ModelCalibration, load_calibration
from veil.match._verify import (
    MATCH_DETECTOR,
    Identification,
    Verification,
    enroll,
    faces_to_match,
    identify,
    verify,
)

__all__ = [
    "DEFAULT_FAR",
    "INDEXES",
    "MATCH_DETECTOR",
    "METHODS",
    "FarThreshold",
    "Gallery",
    "Identification",
    "Match",
    "ModelCalibration",
    "ScoreCalibrator",
    "Verification",
    "create_key_file",
    "enroll",
    "faces_to_match",
    "generate_key",
    "identify",
    "load_calibration",
    "load_key",
    "thresholds_at_far",
    "verify",
]
