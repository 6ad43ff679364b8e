"""Cloaking: imperceptible perturbations that stop face recognizers from matching a person."""

from __future__ import annotations

from veil.cloak._card import FaceCheck, ProtectionCard, protection_card
from veil.cloak._files import (
    CLOAK_FORMATS,
    CLOAK_JPEG_QUALITY,
    CloakWork,
    cloak,
    cloak_faces,
    cloak_file,
    cloak_files,
)
from veil.cloak._modes import DEFAULT_MODE, DEFAULT_MODELS, MODES, CloakMode, check_budget, check_mode
from veil.cloak._results import Cloaked, FaceCloak
from veil.cloak._targets import Target, choose_target, person_embeddings

__all__ = [
    "CLOAK_FORMATS",
    "CLOAK_JPEG_QUALITY",
    "DEFAULT_MODE",
    "DEFAULT_MODELS",
    "MODES",
    "CloakMode",
    "CloakWork",
    "Cloaked",
    "FaceCheck",
    "FaceCloak",
    "ProtectionCard",
    "Target",
    "check_budget",
    "check_mode",
    "choose_target",
    "cloak",
    "cloak_faces",
    "cloak_file",
    "cloak_files",
    "person_embeddings",
    "protection_card",
]
