"""Cloak modes: how far a cloak may change a face, and how hard it tries."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_MODE", "DEFAULT_MODELS", "MODES", "CloakMode", "check_budget", "check_mode"]


@dataclass(frozen=True, slots=True)
class CloakMode:
    """The settings of one protection level.

    Attributes:
        budget: The hard limit on DSSIM = (1 - SSIM) / 2 over the face window
            (every changed pixel lies in it) and over each face box the window
            overlaps; no output exceeds it.
        max_steps: Optimisation steps per face at most.
        learning_rate: Adam's step size, in the tanh parameterisation.
        goal: Stop early once every white-box recognizer's cosine between the
            cloaked and the clean face is this far below its FAR 1e-2 threshold
            (under the sampled platform transformations when robust).
        robust: Optimise the expectation over re-compression, resizing and blur.
    """

    budget: float
    max_steps: int
    learning_rate: float
    goal: float
    robust: bool


MODES: dict[str, CloakMode] = {
    "low": CloakMode(budget=0.004, max_steps=40, learning_rate=0.01, goal=0.2, robust=False),
    "mid": CloakMode(budget=0.01, max_steps=80, learning_rate=0.01, goal=0.7, robust=True),
    "high": CloakMode(budget=0.02, max_steps=80, learning_rate=0.01, goal=0.8, robust=True),
}
"""Protection levels, chosen with ``benchmarks/cloak.py``. Poisoning protection on CelebA dev
(sface / facenet white-box, dlib black-box), 2026-11-29: low 45% / 58% / 27% at 2.0 s per
face; mid 97.5% / 100% / 93.3% (96.7% / 100% / 94.2% after JPEG 75) at 6.0 s; high 100%
for all three after every countermeasure, at 6.7 s."""

DEFAULT_MODE = "mid"

DEFAULT_MODELS = ("sface", "facenet")
"""The white-box ensemble: veil's differentiable recognizers (dlib is not differentiable)."""


def check_mode(mode: str) -> None:
    """Refuse a mode that is not one of ``MODES``.

    Raises:
        VeilError: Unknown ``mode``, with the modes there are.
    """
    from veil.errors import VeilError

    if mode not in MODES:
        raise VeilError(f"unknown cloak mode {mode!r}; choose one of: {', '.join(MODES)}")


def check_budget(budget: float) -> None:
    """Refuse a DSSIM budget that allows no change (0) or one past recognition (0.5 is the maximum DSSIM).

    Raises:
        VeilError: ``budget`` outside (0, 0.5).
    """
    from veil.errors import VeilError

    if not 0 < budget < 0.5:
        raise VeilError(f"the DSSIM budget must be between 0 and 0.5, got {budget}")
