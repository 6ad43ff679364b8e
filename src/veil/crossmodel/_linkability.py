"""Linkability of protected templates: can two templates be told to come from one person?

Gomez-Barrero, Galbally, Rathgeb and Busch, "General Framework to Evaluate
Unlinkability in Biometric Template Protection Systems" (IEEE TIFS 13(6), 2018),
the measure ISO/IEC 30136 builds on. Mated scores compare templates of one person
made with two keys (two applications), non-mated scores templates of two people.
At each score s, the local linkability

    D(s) = 2 * omega * LR(s) / (1 + omega * LR(s)) - 1   where omega * LR(s) > 1, else 0,

with LR(s) = p(s | mated) / p(s | non-mated) and omega the prior odds of a mated
pair, is how much s shifts an attacker's belief towards "same person"; the global
D_sys is its mean over mated scores: 0 when the two distributions coincide (fully
unlinkable), 1 when they do not overlap (fully linkable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from veil.errors import InputError

__all__ = ["MAX_BINS", "Linkability", "global_linkability"]

MAX_BINS = 100
"""Histogram bins of the score densities: one per ten mated scores, at most this many (the paper's code)."""


@dataclass(frozen=True, slots=True)
class Linkability:
    """Global linkability of templates across keys.

    Attributes:
        d_sys: D_sys in [0, 1]: 0 fully unlinkable, 1 fully linkable. A histogram
            estimate, so a few hundred scores give a small positive value even for
            identical distributions; read it beside ``n_mated``.
        n_mated: Mated scores (one person, two keys).
        n_non_mated: Non-mated scores (two people).
        omega: The prior odds of a mated pair used.
    """

    d_sys: float
    n_mated: int
    n_non_mated: int
    omega: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in reports."""
        return {
            "d_sys": self.d_sys,
            "n_mated": self.n_mated,
            "n_non_mated": self.n_non_mated,
            "omega": self.omega,
        }


def global_linkability(
    mated_scores: ArrayLike, non_mated_scores: ArrayLike, *, omega: float = 1.0
) -> Linkability:
    """D_sys of Gomez-Barrero et al. (2018) from the two score samples (see the module docstring).

    The densities are histograms over the pooled range with ``min(n_mated // 10,
    MAX_BINS)`` bins; a bin with mated scores and no non-mated ones counts as fully
    linkable (D = 1).

    Args:
        mated_scores: Scores of template pairs of one person under two keys.
        non_mated_scores: Scores of template pairs of two people.
        omega: Prior odds P(mated) / P(non-mated); 1 unless the attacker knows better.

    Raises:
        InputError: Fewer than 10 mated scores, no non-mated ones, or NaN or infinite scores.
        ValueError: ``omega`` not positive.
    """
    mated = np.asarray(mated_scores, dtype=np.float64).ravel()
    non_mated = np.asarray(non_mated_scores, dtype=np.float64).ravel()
    if omega <= 0:
        raise ValueError(f"omega must be positive, got {omega}")
    if mated.size < 10 or non_mated.size == 0:
        raise InputError(
            "<array>",
            f"linkability needs 10+ mated and 1+ non-mated scores, got {mated.size} and {non_mated.size}",
        )
    if not (np.isfinite(mated).all() and np.isfinite(non_mated).all()):
        raise InputError("<array>", "linkability scores contain NaN or infinite values")
    low, high = min(mated.min(), non_mated.min()), max(mated.max(), non_mated.max())
    edges = np.linspace(low, high if high > low else low + 1.0, min(mated.size // 10, MAX_BINS) + 1)
    p_mated = np.histogram(mated, bins=edges)[0] / mated.size
    p_non_mated = np.histogram(non_mated, bins=edges)[0] / non_mated.size
    odds = omega * np.divide(p_mated, p_non_mated, out=np.zeros_like(p_mated), where=p_non_mated > 0)
    local = np.where(odds > 1.0, 2.0 * odds / (1.0 + odds) - 1.0, 0.0)
    local[(p_non_mated == 0) & (p_mated > 0)] = 1.0  # the limit of D as LR grows without bound
    return Linkability(
        d_sys=float(np.sum(local * p_mated)), n_mated=mated.size, n_non_mated=non_mated.size, omega=omega
    )
