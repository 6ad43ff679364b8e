"""Score calibration and thresholds at a false accept rate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from veil.errors import InputError, NotFittedError, VeilError
from veil.match import FarThreshold, ScoreCalibrator, thresholds_at_far

# Genuine ~ N(0.4, 0.1), impostor ~ N(0.1, 0.1), equal counts: the true posterior is
# logistic with slope (0.4 - 0.1) / 0.1² = 30 and 0.5 at the midpoint 0.25.
GENUINE_MEAN, IMPOSTOR_MEAN, SPREAD = 0.4, 0.1, 0.1
TRUE_SLOPE = (GENUINE_MEAN - IMPOSTOR_MEAN) / SPREAD**2
MIDPOINT = (GENUINE_MEAN + IMPOSTOR_MEAN) / 2
# Largest gap to the true posterior seen with 4,000 pairs over seeds 0-2, plus a margin:
# logistic 0.011-0.018; isotonic 0.11-0.12, since a step curve follows the sampling noise.
LOGISTIC_TOLERANCE = 0.03
ISOTONIC_TOLERANCE = 0.2


def true_posterior(scores: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-TRUE_SLOPE * (scores - MIDPOINT)))


@pytest.fixture(scope="module")
def pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    genuine = rng.normal(GENUINE_MEAN, SPREAD, 2000)
    impostor = rng.normal(IMPOSTOR_MEAN, SPREAD, 2000)
    scores = np.concatenate([genuine, impostor])
    labels = np.concatenate([np.ones(2000, dtype=bool), np.zeros(2000, dtype=bool)])
    return scores, labels


@pytest.mark.parametrize(
    ("method", "tolerance"), [("logistic", LOGISTIC_TOLERANCE), ("isotonic", ISOTONIC_TOLERANCE)]
)
def test_calibrated_probability_is_monotone_and_near_the_truth(
    pairs: tuple[np.ndarray, np.ndarray], method: str, tolerance: float
) -> None:
    grid = np.linspace(-0.2, 1.0, 241)
    calibrator = ScoreCalibrator(method).fit(*pairs)

    probability = calibrator.predict_proba(grid)

    assert probability.shape == grid.shape
    assert np.all(np.diff(probability) >= 0)
    assert np.all((probability >= 0) & (probability <= 1))
    inner = np.abs(grid - MIDPOINT) < 0.15  # where both kinds of pair are plentiful
    assert np.abs(probability[inner] - true_posterior(grid[inner])).max() < tolerance
    assert probability[grid <= 0.0].max() < 0.01
    assert probability[grid >= 0.7].min() > 0.99


def test_logistic_fit_recovers_the_true_curve(pairs: tuple[np.ndarray, np.ndarray]) -> None:
    calibrator = ScoreCalibrator().fit(*pairs)
    assert calibrator.slope_ == pytest.approx(TRUE_SLOPE, rel=0.1)
    assert -calibrator.intercept_ / calibrator.slope_ == pytest.approx(MIDPOINT, abs=0.01)
    assert (calibrator.n_genuine_, calibrator.n_impostor_) == (2000, 2000)


def test_logistic_stays_finite_on_separable_pairs() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    probability = ScoreCalibrator().fit(scores, labels).predict_proba(np.array([-10.0, 0.5, 10.0]))
    assert np.isfinite(probability).all()
    assert probability[0] < 0.5 < probability[2]
    assert probability[1] == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("method", ["logistic", "isotonic"])
def test_calibration_round_trips_through_json(pairs: tuple[np.ndarray, np.ndarray], method: str) -> None:
    calibrator = ScoreCalibrator(method).fit(*pairs)
    grid = np.linspace(-1.0, 1.0, 101)

    restored = ScoreCalibrator.from_dict(json.loads(json.dumps(calibrator.to_dict())))

    assert restored.method_ == method
    np.testing.assert_array_equal(restored.predict_proba(grid), calibrator.predict_proba(grid))


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"format": "something.else", "version": 1},
        {"format": "veil.score_calibrator", "version": 99, "method": "logistic"},
        {"format": "veil.score_calibrator", "version": 1, "method": "spline"},
        {"format": "veil.score_calibrator", "version": 1, "method": "logistic", "slope": 1.0},
        {
            "format": "veil.score_calibrator",
            "version": 1,
            "method": "isotonic",
            "scores": [0.5, 0.1],
            "probabilities": [0.2, 0.3],
            "n_genuine": 1,
            "n_impostor": 1,
        },
    ],
    ids=["empty", "other-format", "newer-version", "unknown-method", "missing-field", "decreasing"],
)
def test_from_dict_refuses_what_to_dict_never_wrote(data: dict[str, object]) -> None:
    with pytest.raises(InputError, match="<dict>"):
        ScoreCalibrator.from_dict(data)


def test_using_a_calibrator_before_fit_raises_not_fitted() -> None:
    calibrator = ScoreCalibrator("isotonic")
    assert not calibrator.is_fitted
    assert not hasattr(calibrator, "slope_")
    with pytest.raises(NotFittedError, match=r"call fit\(scores, labels\)") as info:
        calibrator.predict_proba(np.array([0.5]))
    assert isinstance(info.value, VeilError | ValueError | AttributeError)
    with pytest.raises(NotFittedError):
        calibrator.to_dict()


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of: logistic, isotonic"):
        ScoreCalibrator("platt")


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        ([0.1, 0.2], [1, 1], "need both kinds of pair"),
        ([0.1, 0.2], [0, 2], "labels must be"),
        ([0.1, 0.2, 0.3], [0, 1], "must be 1-D of one length"),
        ([0.1, float("nan")], [0, 1], "NaN"),
        ([0.3, 0.3], [0, 1], "all scores are equal"),
    ],
    ids=["one-class", "bad-label", "lengths", "nan", "constant"],
)
def test_fit_refuses_unusable_pairs(scores: list[float], labels: list[int], message: str) -> None:
    with pytest.raises(InputError, match=message):
        ScoreCalibrator().fit(np.array(scores), np.array(labels))


def test_thresholds_at_far_on_a_known_distribution() -> None:
    # 10,000 impostor scores 0.0000, 0.0001, ..., 0.9999 in shuffled order: exactly
    # far * 10,000 of them lie at or above 1 - far.
    impostors = np.random.default_rng(0).permutation(np.arange(10_000) / 10_000)

    result = thresholds_at_far(impostors)

    assert sorted(result) == [1e-4, 1e-3, 1e-2]
    for far, expected_accepts, last_rejected in [(1e-2, 100, 0.9899), (1e-3, 10, 0.9989), (1e-4, 1, 0.9998)]:
        threshold = result[far]
        assert threshold.false_accepts == expected_accepts
        assert np.mean(impostors >= threshold.threshold) <= far
        # The smallest such score: the last rejected impostor would tip it over far.
        assert threshold.threshold == np.nextafter(last_rejected, np.inf)
        assert np.mean(impostors >= last_rejected) > far
        assert threshold.is_reliable
        assert threshold.n_impostors == 10_000


def test_tied_impostor_scores_are_rejected_together() -> None:
    impostors = np.array([0.9] * 5 + [0.1] * 95)
    (threshold,) = thresholds_at_far(impostors, fars=[0.02]).values()
    assert threshold.threshold > 0.9
    assert threshold.false_accepts == 0


def test_too_few_impostors_gives_an_unreliable_threshold_above_them_all() -> None:
    impostors = np.linspace(0.0, 0.5, 500)
    result = thresholds_at_far(impostors, fars=(1e-2, 1e-3))
    assert result[1e-2].is_reliable
    assert result[1e-2].false_accepts == 5
    assert result[1e-3] == FarThreshold(
        far=1e-3,
        threshold=float(np.nextafter(0.5, np.inf)),
        false_accepts=0,
        n_impostors=500,
        is_reliable=False,
    )
    assert result[1e-3].to_dict()["is_reliable"] is False


@pytest.mark.parametrize("far", [0.0, 1.0, -0.1])
def test_far_outside_the_unit_interval_is_refused(far: float) -> None:
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        thresholds_at_far(np.array([0.1, 0.2]), fars=[far])


def test_no_impostor_scores_is_refused() -> None:
    with pytest.raises(InputError, match="no impostor scores"):
        thresholds_at_far(np.array([]))
