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

__all__ = [
    "INDEXES",
    "METHODS",
    "FarThreshold",
    "Gallery",
    "Match",
    "ScoreCalibrator",
    "create_key_file",
    "generate_key",
    "load_key",
    "thresholds_at_far",
]
