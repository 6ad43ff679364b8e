"""Face verification on labelled pairs: accuracy at a chosen threshold, ROC AUC, EER, TAR at fixed FARs.

The protocol is DESIGN.md's: the score of a pair is the cosine similarity of its two
L2-normalized embeddings; a pair is accepted as one person when ``score >= threshold``;
the threshold that maximises accuracy is chosen on other pairs than those it is
reported on (training pairs, or the other folds), so the accuracy is not flattered by
fitting the threshold to its own test set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from veil.errors import InputError
from veil.match import FarThreshold, thresholds_at_far

__all__ = ["REPORTED_FARS", "VerificationReport", "cosine_scores", "roc_points", "verification_report"]

logger = logging.getLogger(__name__)

REPORTED_FARS = (1e-2, 1e-3)
"""False accept rates at which the true accept rate is reported."""

ThresholdSource = Literal["train", "k-fold", "same data"]


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """How well scores separate genuine pairs (one person) from impostor pairs (two people).

    Attributes:
        accuracy: Fraction of pairs decided right at ``threshold``; with folds, the mean
            of the per-fold accuracies.
        threshold: Accept a pair when ``score >= threshold``; with folds, the mean of the
            per-fold thresholds (the value to use on new pairs).
        threshold_source: Where the threshold was chosen: ``"train"`` (training pairs),
            ``"k-fold"`` (for each fold, the other folds) or ``"same data"`` (the reported
            pairs themselves, which flatters the accuracy: prefer the other two).
        auc: Area under the ROC curve, over all reported pairs; 0.5 is chance.
        eer: Equal error rate: where the false accept and false reject rates meet.
        tar_at_far: True accept rate at each of :data:`REPORTED_FARS`, keyed by the rate.
        far_thresholds: For each rate, the threshold and how far the impostor sample can
            vouch for it (``is_reliable`` is False with fewer than ``1 / far`` impostors).
        n_same: Genuine pairs reported on.
        n_different: Impostor pairs reported on.
        fallbacks: Photos embedded without a detected face (counted by the caller).
        folds: Accuracy of each fold, in fold order; empty without folds.
        fold_thresholds: Threshold used on each fold; empty without folds.
    """

    accuracy: float
    threshold: float
    threshold_source: ThresholdSource
    auc: float
    eer: float
    tar_at_far: dict[float, float]
    far_thresholds: dict[float, FarThreshold]
    n_same: int
    n_different: int
    fallbacks: int = 0
    folds: tuple[float, ...] = ()
    fold_thresholds: tuple[float, ...] = ()

    @property
    def n_pairs(self) -> int:
        return self.n_same + self.n_different

    @property
    def accuracy_std(self) -> float | None:
        """Sample standard deviation of the fold accuracies; None without folds.

        LFW reports the standard error of the mean, ``accuracy_std / sqrt(len(folds))``.
        """
        return float(np.std(self.folds, ddof=1)) if len(self.folds) > 1 else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; the top-level names are shared by every ``veil eval`` command."""
        data: dict[str, Any] = {
            "accuracy": self.accuracy,
            "auc": self.auc,
            "eer": self.eer,
            **{f"tar_at_far_{_far_label(far)}": tar for far, tar in self.tar_at_far.items()},
            "n_pairs": self.n_pairs,
            "n_same": self.n_same,
            "n_different": self.n_different,
            "fallbacks": self.fallbacks,
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "far_thresholds": {
                _far_label(far): {**found.to_dict(), "tar": self.tar_at_far[far]}
                for far, found in self.far_thresholds.items()
            },
        }
        if self.folds:
            data |= {
                "accuracy_std": self.accuracy_std,
                "folds": list(self.folds),
                "fold_thresholds": list(self.fold_thresholds),
            }
        return data


def cosine_scores(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """The cosine similarity of each row of ``a`` with the same row of ``b``, in [-1, 1].

    Rows are L2-normalized here, so embeddings that are not yet of unit length give
    the same scores as normalized ones.

    Args:
        a: (N, D) embeddings of the first photo of each pair.
        b: (N, D) embeddings of the second photo.

    Raises:
        InputError: Shapes differ, or a row is zero, NaN or infinite.
    """
    a_unit, b_unit = unit_rows(a, what="a"), unit_rows(b, what="b")
    if a_unit.shape != b_unit.shape:
        raise InputError(
            "<array>", f"embeddings of shapes {a_unit.shape} and {b_unit.shape} cannot be paired"
        )
    return row_dots(a_unit, b_unit)


def roc_points(scores: ArrayLike, is_same: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The ROC curve as (false accept rates, true accept rates), from (0, 0) to (1, 1).

    There is one point per distinct score, so tied scores move the curve together
    (diagonally) rather than in an arbitrary order. Pass the result to
    :func:`plot_roc` or :func:`plot_det`.

    Raises:
        InputError: See :func:`verification_report`.
    """
    return _roc(*_check_pairs(scores, is_same, what="scores"))


def verification_report(
    scores: ArrayLike,
    is_same: ArrayLike,
    *,
    train_scores: ArrayLike | None = None,
    train_is_same: ArrayLike | None = None,
    folds: ArrayLike | None = None,
    fallbacks: int = 0,
) -> VerificationReport:
    """Verification figures for scored pairs, with the threshold chosen on other pairs.

    Choose the threshold one of three ways:

    - ``train_scores`` and ``train_is_same`` (LFW View 1: pairsDevTrain for the
      threshold, pairsDevTest for the report): the accuracy-maximising threshold on
      the training pairs, applied to ``scores``;
    - ``folds`` (LFW View 2): for each fold, the threshold that maximises accuracy on
      the other folds, applied to that fold; the accuracy is the mean over folds;
    - neither: the threshold is chosen on ``scores`` themselves, an optimistic figure
      that the report labels ``threshold_source="same data"``.

    AUC, EER and TAR at FAR need no threshold and use all of ``scores``.

    Args:
        scores: One score per pair, higher for more alike (see :func:`cosine_scores`).
        is_same: One flag per pair: True (or 1) when both photos show one person.
        train_scores: Scores of the pairs to choose the threshold on.
        train_is_same: Their flags.
        folds: One integer fold label per pair of ``scores`` (:attr:`Pair.fold`).
        fallbacks: Photos embedded without a detected face, copied into the report.

    Raises:
        InputError: Mismatched lengths, NaN scores, no genuine or no impostor pair,
            or fewer than two folds.
        ValueError: Only one of ``train_scores`` and ``train_is_same``, or training
            pairs together with folds.
    """
    if (train_scores is None) != (train_is_same is None):
        raise ValueError("give both train_scores and train_is_same, or neither")
    if train_scores is not None and folds is not None:
        raise ValueError("choose the threshold on training pairs or on folds, not both")
    test_scores, test_is_same = _check_pairs(scores, is_same, what="scores")
    fold_accuracies: tuple[float, ...] = ()
    fold_thresholds: tuple[float, ...] = ()
    source: ThresholdSource
    if train_scores is not None:
        threshold = _best_threshold(*_check_pairs(train_scores, train_is_same, what="train scores"))
        accuracy, source = _accuracy(test_scores, test_is_same, threshold), "train"
    elif folds is not None:
        fold_thresholds, fold_accuracies = _k_fold(test_scores, test_is_same, folds)
        threshold, accuracy = float(np.mean(fold_thresholds)), float(np.mean(fold_accuracies))
        source = "k-fold"
    else:
        threshold = _best_threshold(test_scores, test_is_same)
        accuracy, source = _accuracy(test_scores, test_is_same, threshold), "same data"
    genuine, impostor = test_scores[test_is_same], test_scores[~test_is_same]
    far_thresholds = thresholds_at_far(impostor, REPORTED_FARS)
    false_accept_rates, true_accept_rates = _roc(test_scores, test_is_same)
    logger.debug("verification on %d pairs, threshold from %s", test_scores.size, source)
    return VerificationReport(
        accuracy=accuracy,
        threshold=threshold,
        threshold_source=source,
        auc=float(np.trapezoid(true_accept_rates, false_accept_rates)),
        eer=_equal_error_rate(false_accept_rates, true_accept_rates),
        tar_at_far={far: float(np.mean(genuine >= t.threshold)) for far, t in far_thresholds.items()},
        far_thresholds=far_thresholds,
        n_same=int(genuine.size),
        n_different=int(impostor.size),
        fallbacks=fallbacks,
        folds=fold_accuracies,
        fold_thresholds=fold_thresholds,
    )


def unit_rows(embeddings: ArrayLike, *, what: str) -> NDArray[np.float64]:
    """(N, D) embeddings scaled to unit length, in float64 so scores of near-equal rows stay exact.

    Raises:
        InputError: Not 2-D, or a row that is zero, NaN or infinite.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise InputError("<array>", f"{what}: embeddings must be (N, D), got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if not (np.isfinite(norms).all() and (norms > 0).all()):
        raise InputError("<array>", f"{what}: embeddings hold a zero, NaN or infinite row")
    return np.asarray(x / norms, dtype=np.float64)


def row_dots(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """The dot product of each row of ``a`` with the same row of ``b``: cosines for unit rows."""
    return np.asarray(np.einsum("ij,ij->i", a, b), dtype=np.float64)


def _check_pairs(
    scores: ArrayLike, is_same: ArrayLike | None, *, what: str
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """1-D finite scores and boolean flags of one length, with both kinds of pair present."""
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(is_same)
    if x.ndim != 1 or y.shape != x.shape:
        raise InputError("<array>", f"{what} {x.shape} and their flags {y.shape} must be 1-D of one length")
    if not np.isfinite(x).all():
        raise InputError("<array>", f"{what} contain NaN or infinite values")
    if not np.isin(y, (0, 1)).all():
        raise InputError("<array>", f"{what}: flags must be True/1 (same person) or False/0 (different)")
    flags = y.astype(bool)
    if flags.all() or not flags.any():
        raise InputError(
            "<array>", f"{what}: need both genuine and impostor pairs, got {int(flags.sum())} of {flags.size}"
        )
    return x, flags


def _roc(
    scores: NDArray[np.float64], is_same: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    descending = np.argsort(-scores, kind="stable")
    ordered, flags = scores[descending], is_same[descending]
    # The last position of each run of equal scores: a threshold there accepts the whole run.
    ends = np.append(np.flatnonzero(np.diff(ordered)), ordered.size - 1)
    true_accepts = np.cumsum(flags)[ends]
    false_accepts = np.cumsum(~flags)[ends]
    return (
        np.append(0.0, false_accepts / false_accepts[-1]),
        np.append(0.0, true_accepts / true_accepts[-1]),
    )


def _equal_error_rate(
    false_accept_rates: NDArray[np.float64], true_accept_rates: NDArray[np.float64]
) -> float:
    """Where the false reject rate meets the false accept rate, interpolated between ROC points."""
    gap = (1.0 - true_accept_rates) - false_accept_rates  # falls from 1 at (0, 0) to -1 at (1, 1)
    k = int(np.argmax(gap <= 0.0))
    if gap[k] == 0.0:
        return float(false_accept_rates[k])
    step = gap[k - 1] / (gap[k - 1] - gap[k])
    return float(false_accept_rates[k - 1] + step * (false_accept_rates[k] - false_accept_rates[k - 1]))


def _best_threshold(scores: NDArray[np.float64], is_same: NDArray[np.bool_]) -> float:
    """The threshold with the highest accuracy on these pairs (the lowest such, on ties).

    Candidates sit halfway between neighbouring distinct scores, the choice with the
    widest margin on both sides, plus one that accepts every pair and one that accepts none.
    """
    distinct = np.unique(scores)
    candidates = np.concatenate(
        [distinct[:1], (distinct[:-1] + distinct[1:]) / 2, [np.nextafter(distinct[-1], np.inf)]]
    )
    genuine, impostor = np.sort(scores[is_same]), np.sort(scores[~is_same])
    true_accepts = genuine.size - np.searchsorted(genuine, candidates, side="left")
    true_rejects = np.searchsorted(impostor, candidates, side="left")
    return float(candidates[np.argmax(true_accepts + true_rejects)])


def _accuracy(scores: NDArray[np.float64], is_same: NDArray[np.bool_], threshold: float) -> float:
    return float(np.mean((scores >= threshold) == is_same))


def _k_fold(
    scores: NDArray[np.float64], is_same: NDArray[np.bool_], folds: ArrayLike
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(threshold, accuracy) of each fold, the threshold chosen on all the other folds."""
    labels = np.asarray(folds)
    if labels.shape != scores.shape:
        raise InputError("<array>", f"folds {labels.shape} must give one label per pair {scores.shape}")
    names = np.unique(labels)
    if names.size < 2:
        raise InputError("<array>", f"k-fold needs at least two folds, got {names.size}")
    thresholds, accuracies = [], []
    for name in names:
        held_out = labels == name
        threshold = _best_threshold(scores[~held_out], is_same[~held_out])
        thresholds.append(threshold)
        accuracies.append(_accuracy(scores[held_out], is_same[held_out], threshold))
    return tuple(thresholds), tuple(accuracies)


def _far_label(far: float) -> str:
    """``1e-2`` rather than Python's ``1e-02``: the spelling of the JSON field names."""
    mantissa, exponent = f"{far:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"
