"""From cosine scores to probabilities and to thresholds at a chosen false accept rate.

A cosine score is only comparable within one model: 0.4 is a confident match for
one recognizer and noise for another. Calibration learns, from labelled pairs
(genuine = same person, impostor = different people), what a score means for one
model, and stores it as a plain dict beside that model's card.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from veil.errors import InputError, NotFittedError, VeilWarning

__all__ = ["METHODS", "FarThreshold", "NotFittedError", "ScoreCalibrator", "thresholds_at_far"]

logger = logging.getLogger(__name__)

METHODS = ("logistic", "isotonic")
"""Calibration methods a :class:`ScoreCalibrator` can use."""

DEFAULT_FARS = (1e-2, 1e-3, 1e-4)

_FORMAT = "veil.score_calibrator"
_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class FarThreshold:
    """The threshold for one false accept rate, with how much the impostor sample can vouch for it.

    Attributes:
        far: The false accept rate asked for.
        threshold: Accept a pair when ``score >= threshold``.
        false_accepts: Impostor scores at or above the threshold (at most ``far * n_impostors``).
        n_impostors: Impostor scores the threshold was measured on.
        is_reliable: False when there are fewer than ``1 / far`` impostor scores. The
            threshold is then just above the highest impostor score: no impostor is
            accepted in the sample, but the sample is too small to show that the true
            rate is as low as ``far`` (with 0 of n accepted, the 95% upper bound on the
            rate is about 3 / n). Collect more impostor pairs rather than trust it.
    """

    far: float
    threshold: float
    false_accepts: int
    n_impostors: int
    is_reliable: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in reports."""
        return {
            "far": self.far,
            "threshold": self.threshold,
            "false_accepts": self.false_accepts,
            "n_impostors": self.n_impostors,
            "is_reliable": self.is_reliable,
        }


def thresholds_at_far(
    impostor_scores: ArrayLike, fars: Iterable[float] = DEFAULT_FARS
) -> dict[float, FarThreshold]:
    """The score threshold that keeps the false accept rate at or below each of ``fars``.

    For each rate, the threshold is the smallest score ``t`` with
    ``mean(impostor_scores >= t) <= far``: the next float above the
    ``floor(far * n) + 1``-th highest impostor score, so ties at that score are
    rejected together. When ``n < 1 / far`` that is just above the highest impostor
    score and the result is marked unreliable (see :class:`FarThreshold`).

    Args:
        impostor_scores: Scores of pairs of different people, any shape; flattened.
        fars: False accept rates, each in (0, 1).

    Returns:
        One :class:`FarThreshold` per rate, keyed by the rate.

    Raises:
        InputError: No scores, or NaN or infinite ones.
        ValueError: A rate outside (0, 1).
    """
    scores = _check_scores(impostor_scores, what="impostor scores")
    if scores.size == 0:
        raise InputError("<array>", "no impostor scores")
    descending = np.sort(scores)[::-1]
    n = descending.size
    result: dict[float, FarThreshold] = {}
    for far in fars:
        if not 0.0 < far < 1.0:
            raise ValueError(f"a false accept rate must be in (0, 1), got {far}")
        # The relative nudge keeps far * n = 9.999999 from flooring to 9 (0.01 * 1000 is exact,
        # but 0.29 * 100 is 28.999999999999996).
        allowed = min(math.floor(far * n * (1.0 + 1e-9)), n - 1)
        threshold = float(np.nextafter(descending[allowed], np.inf))
        result[far] = FarThreshold(
            far=far,
            threshold=threshold,
            false_accepts=int((scores >= threshold).sum()),
            n_impostors=n,
            is_reliable=n * far >= 1.0 - 1e-9,
        )
    return result


class ScoreCalibrator:
    """Turns one model's cosine scores into the probability that a pair is the same person.

    Follows scikit-learn: options here, learning in :meth:`fit`, learned state in
    attributes ending in ``_``.

    Args:
        method: ``"logistic"`` (default) fits p = 1 / (1 + exp(-(slope * score + intercept))),
            two numbers that need only a few hundred pairs and never reach exactly 0 or 1.
            ``"isotonic"`` fits any increasing step curve; choose it with thousands of
            pairs when the logistic shape fits badly. It gives exactly 0 and 1 beyond the
            scores it saw.

    Attributes:
        method_: The method used by the fit (also set by :meth:`from_dict`).
        slope_, intercept_: The logistic curve (``"logistic"`` only).
        scores_, probabilities_: The points of the increasing curve, interpolated
            linearly and held flat beyond its ends (``"isotonic"`` only).
        n_genuine_, n_impostor_: How many pairs of each kind the fit saw.

    Raises:
        ValueError: ``method`` is not one of :data:`METHODS`.
    """

    slope_: float
    intercept_: float
    scores_: NDArray[np.float64]
    probabilities_: NDArray[np.float64]
    method_: str
    n_genuine_: int
    n_impostor_: int

    def __init__(self, method: str = "logistic") -> None:
        if method not in METHODS:
            raise ValueError(f"unknown calibration method {method!r}; choose one of: {', '.join(METHODS)}")
        self.method = method

    def __repr__(self) -> str:
        return f"ScoreCalibrator(method={self.method!r})"

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`from_dict`) has run."""
        return hasattr(self, "method_")

    def fit(self, scores: ArrayLike, labels: ArrayLike) -> ScoreCalibrator:
        """Learn the curve from labelled pairs; returns ``self``.

        Args:
            scores: One cosine score per pair, 1-D.
            labels: 1 (or True) for a genuine pair, 0 (or False) for an impostor pair.

        Raises:
            InputError: Mismatched lengths, NaN scores, labels other than 0/1, a class
                with no pairs, or (logistic) all scores equal.
        """
        x = _check_scores(scores, what="scores")
        y = np.asarray(labels)
        if x.ndim != 1 or y.shape != x.shape:
            raise InputError("<array>", f"scores {x.shape} and labels {y.shape} must be 1-D of one length")
        if not np.isin(y, (0, 1)).all():
            raise InputError("<array>", "labels must be 1/True (same person) or 0/False (different people)")
        genuine = y.astype(bool)
        n_genuine, n_impostor = int(genuine.sum()), int((~genuine).sum())
        if n_genuine == 0 or n_impostor == 0:
            raise InputError(
                "<array>", f"need both kinds of pair, got {n_genuine} genuine, {n_impostor} impostor"
            )
        if self.method == "logistic":
            self.slope_, self.intercept_ = _fit_logistic(x, genuine)
        else:
            self.scores_, self.probabilities_ = _fit_isotonic(x, genuine)
        self.method_ = self.method
        self.n_genuine_, self.n_impostor_ = n_genuine, n_impostor
        logger.debug(
            "fitted %s calibration on %d genuine, %d impostor pairs", self.method, n_genuine, n_impostor
        )
        return self

    def predict_proba(self, scores: ArrayLike) -> NDArray[np.float64]:
        """The probability that each pair shows the same person, in [0, 1].

        Unlike scikit-learn's ``predict_proba``, which returns a column per class, this
        returns one number per score, in the shape of ``scores``: the other column
        would be ``1 - p``.

        Raises:
            NotFittedError: Before :meth:`fit`.
            InputError: NaN or infinite scores.
        """
        self._check_fitted()
        x = _check_scores(scores, what="scores")
        if self.method_ == "logistic":
            # exp overflows for very negative logits; the two-branch form does not.
            z = self.slope_ * x + self.intercept_
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return np.interp(x, self.scores_, self.probabilities_)

    def to_dict(self) -> dict[str, Any]:
        """The fitted calibration as a JSON-ready dict, to keep beside a model card.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        self._check_fitted()
        data: dict[str, Any] = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "method": self.method_,
            "n_genuine": self.n_genuine_,
            "n_impostor": self.n_impostor_,
        }
        if self.method_ == "logistic":
            data |= {"slope": self.slope_, "intercept": self.intercept_}
        else:
            data |= {"scores": self.scores_.tolist(), "probabilities": self.probabilities_.tolist()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreCalibrator:
        """A fitted calibrator from :meth:`to_dict`'s output.

        Raises:
            InputError: Not a calibration dict, an unsupported version, or bad values.
        """
        if data.get("format") != _FORMAT or data.get("version") != _FORMAT_VERSION:
            raise InputError(
                "<dict>",
                f"not a {_FORMAT} version {_FORMAT_VERSION} dict "
                f"(format={data.get('format')!r}, version={data.get('version')!r})",
            )
        method = data.get("method")
        if method not in METHODS:
            raise InputError("<dict>", f"unknown calibration method {method!r}")
        calibrator = cls(method)
        try:
            if method == "logistic":
                calibrator.slope_ = float(data["slope"])
                calibrator.intercept_ = float(data["intercept"])
                values = np.array([calibrator.slope_, calibrator.intercept_])
            else:
                calibrator.scores_ = np.asarray(data["scores"], dtype=np.float64)
                calibrator.probabilities_ = np.asarray(data["probabilities"], dtype=np.float64)
                values = np.concatenate([calibrator.scores_, calibrator.probabilities_])
                if (
                    calibrator.scores_.ndim != 1
                    or calibrator.scores_.shape != calibrator.probabilities_.shape
                    or calibrator.scores_.size == 0
                    or np.any(np.diff(calibrator.scores_) < 0)
                ):
                    raise ValueError("scores and probabilities must be equal-length lists, scores increasing")
            if not np.isfinite(values).all():
                raise ValueError("values must be finite")
            calibrator.n_genuine_ = int(data["n_genuine"])
            calibrator.n_impostor_ = int(data["n_impostor"])
        except (KeyError, TypeError, ValueError) as err:
            raise InputError("<dict>", f"malformed {method} calibration: {err}") from err
        calibrator.method_ = method
        return calibrator

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                "this ScoreCalibrator is not fitted yet; call fit(scores, labels) or use from_dict()"
            )


def _check_scores(scores: ArrayLike, *, what: str) -> NDArray[np.float64]:
    try:
        x = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError("<array>", f"{what} must be numbers: {err}") from err
    if not np.isfinite(x).all():
        raise InputError("<array>", f"{what} contain NaN or infinite values")
    return x


def _fit_logistic(scores: NDArray[np.float64], genuine: NDArray[np.bool_]) -> tuple[float, float]:
    """Platt's fit: the two-parameter logistic curve, by maximum likelihood.

    Targets are Platt's (N+ + 1) / (N+ + 2) and 1 / (N- + 2) rather than 1 and 0
    (Platt 1999, "Probabilistic outputs for support vector machines"): with
    separable classes, 0/1 targets drive the slope to infinity; these keep the
    problem strictly convex, so it has one finite optimum.
    """
    from scipy.optimize import minimize

    spread = float(scores.std())
    if spread == 0.0:
        raise InputError("<array>", "all scores are equal; a logistic curve needs scores that vary")
    centre = float(scores.mean())
    # Standardised scores keep the two parameters on one scale for the optimiser.
    z = (scores - centre) / spread
    n_genuine = int(genuine.sum())
    n_impostor = genuine.size - n_genuine
    target = np.where(genuine, (n_genuine + 1) / (n_genuine + 2), 1 / (n_impostor + 2))

    def loss(params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        logit = params[0] * z + params[1]
        residual = 0.5 * (1.0 + np.tanh(0.5 * logit)) - target  # sigmoid(logit) - target, overflow-free
        value = float(np.sum(np.logaddexp(0.0, logit) - target * logit))
        return value, np.array([np.dot(residual, z), residual.sum()])

    start = np.array([0.0, math.log((n_genuine + 1) / (n_impostor + 1))])
    fit = minimize(loss, start, jac=True, method="BFGS")
    if not fit.success:
        warnings.warn(
            f"logistic calibration did not fully converge: {fit.message}", VeilWarning, stacklevel=3
        )
    slope, intercept = (float(v) for v in fit.x)
    return slope / spread, intercept - slope * centre / spread


def _fit_isotonic(
    scores: NDArray[np.float64], genuine: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The increasing step curve (pool-adjacent-violators), kept as its corner points."""
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(scores, genuine.astype(np.float64))
    return (
        np.asarray(model.X_thresholds_, dtype=np.float64),
        np.asarray(model.y_thresholds_, dtype=np.float64),
    )
