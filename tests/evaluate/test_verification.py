"""Verification: cosine scores, thresholds chosen on other pairs, AUC, EER and honest TAR at FAR."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from veil.errors import InputError
from veil.evaluate import cosine_scores, roc_points, verification_report

# Genuine 0.9, 0.7 and impostor 0.8, 0.6: 3 of the 4 genuine-impostor orderings are right,
# so AUC = 0.75; at the ROC point (0.5, 0.5) false accepts equal false rejects, so EER = 0.5;
# the best thresholds (0.65 or 0.85) decide 3 of 4 pairs right, and ties go to the lower one.
SMALL_SCORES = [0.9, 0.8, 0.7, 0.6]
SMALL_IS_SAME = [True, False, True, False]


def test_cosine_scores_ignore_embedding_length() -> None:
    a = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    b = np.array([[2.0, 0.0], [5.0, 0.0], [-1.0, -1.0]])
    np.testing.assert_allclose(cosine_scores(a, b), [1.0, 0.0, -1.0])


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        (np.ones((2, 3)), np.ones((3, 3)), "cannot be paired"),
        (np.zeros((1, 3)), np.ones((1, 3)), "zero, NaN or infinite row"),
        (np.ones(3), np.ones(3), "must be (N, D)"),
    ],
)
def test_cosine_scores_refuse_bad_embeddings(a: np.ndarray, b: np.ndarray, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        cosine_scores(a, b)
    assert reason in caught.value.reason


def test_perfectly_separated_scores_give_perfect_figures() -> None:
    scores = np.r_[np.linspace(0.6, 0.9, 50), np.linspace(-0.2, 0.4, 150)]
    is_same = np.r_[np.ones(50, bool), np.zeros(150, bool)]
    report = verification_report(scores, is_same)
    assert (report.accuracy, report.auc, report.eer) == (1.0, 1.0, 0.0)
    assert report.threshold == pytest.approx(0.5)  # halfway between the classes
    assert report.tar_at_far == {1e-2: 1.0, 1e-3: 1.0}
    assert (report.n_pairs, report.n_same, report.n_different) == (200, 50, 150)


def test_small_case_has_the_figures_worked_out_by_hand() -> None:
    report = verification_report(SMALL_SCORES, SMALL_IS_SAME)
    assert report.auc == pytest.approx(0.75)
    assert report.eer == pytest.approx(0.5)
    assert report.accuracy == pytest.approx(0.75)
    assert report.threshold == pytest.approx(0.65)
    assert report.threshold_source == "same data"


def test_roc_and_auc_agree_with_scikit_learn_on_tied_scores() -> None:
    rng = np.random.default_rng(0)
    is_same = rng.random(500) < 0.3
    scores = np.round(rng.normal(0.3, 0.2, 500) + 0.2 * is_same, 2)  # rounding makes ties
    fpr, tpr = roc_points(scores, is_same)
    expected_fpr, expected_tpr, _ = roc_curve(is_same, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, expected_fpr)
    np.testing.assert_allclose(tpr, expected_tpr)
    assert verification_report(scores, is_same).auc == pytest.approx(roc_auc_score(is_same, scores))


def test_eer_is_interpolated_between_roc_points() -> None:
    rng = np.random.default_rng(1)
    is_same = np.r_[np.ones(2000, bool), np.zeros(2000, bool)]
    scores = np.r_[rng.normal(1.0, 1.0, 2000), rng.normal(-1.0, 1.0, 2000)]
    # Two unit normals 2 apart cross at 0, where each error rate is P(N(0, 1) > 1) = 0.1587.
    assert verification_report(scores, is_same).eer == pytest.approx(0.1587, abs=0.015)


def test_threshold_from_training_pairs_is_applied_to_test_pairs() -> None:
    report = verification_report(
        [0.55, 0.45, 0.52, 0.2],
        [True, False, False, True],
        train_scores=[0.6, 0.7, 0.3, 0.4],
        train_is_same=[True, True, False, False],
    )
    assert report.threshold == pytest.approx(0.5)
    assert report.threshold_source == "train"
    assert report.accuracy == 0.5  # 0.52 wrongly accepted, 0.2 wrongly rejected


def test_k_fold_takes_each_threshold_from_the_other_folds() -> None:
    # Fold 0 alone would choose 0.5, which rejects fold 1's genuine 0.3; fold 1 alone
    # would choose 0.25, which decides fold 0 right.
    report = verification_report([0.9, 0.1, 0.3, 0.2], [True, False, True, False], folds=[0, 0, 1, 1])
    assert report.threshold_source == "k-fold"
    assert report.folds == (1.0, 0.5)
    assert report.fold_thresholds == pytest.approx((0.25, 0.5))
    assert report.accuracy == pytest.approx(0.75)
    assert report.threshold == pytest.approx(0.375)
    assert report.accuracy_std == pytest.approx(np.std([1.0, 0.5], ddof=1))


def test_tar_at_far_uses_the_honest_threshold() -> None:
    impostor = np.arange(1000) / 1000  # 0.000 .. 0.999
    scores = np.r_[0.5, 0.995, impostor]
    is_same = np.r_[True, True, np.zeros(1000, bool)]
    report = verification_report(scores, is_same)
    # At FAR 1e-2, 10 impostors (0.990 .. 0.999) may pass: 0.995 is accepted, 0.5 is not.
    assert report.tar_at_far[1e-2] == 0.5
    assert report.far_thresholds[1e-2].false_accepts == 10
    assert report.far_thresholds[1e-3].is_reliable


def test_too_few_impostors_mark_tar_at_far_unreliable() -> None:
    scores = np.r_[np.linspace(0.5, 0.9, 50), np.linspace(0.0, 0.6, 50)]
    is_same = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    data = verification_report(scores, is_same).to_dict()
    for label in ("1e-2", "1e-3"):
        assert data["far_thresholds"][label]["is_reliable"] is False
        assert data["far_thresholds"][label]["n_impostors"] == 50
        # Unreliable thresholds sit above every impostor: nothing is falsely accepted.
        assert data["far_thresholds"][label]["false_accepts"] == 0


def test_json_form_carries_the_shared_field_names() -> None:
    report = verification_report(
        SMALL_SCORES * 2, SMALL_IS_SAME * 2, folds=[0, 0, 0, 0, 1, 1, 1, 1], fallbacks=3
    )
    data = json.loads(json.dumps(report.to_dict()))
    for name in ("accuracy", "auc", "eer", "tar_at_far_1e-2", "tar_at_far_1e-3", "threshold"):
        assert isinstance(data[name], float)
    assert (data["n_pairs"], data["fallbacks"], data["threshold_source"]) == (8, 3, "k-fold")
    assert data["folds"] == list(report.folds)
    assert "accuracy_std" in data


def test_without_folds_the_json_form_has_no_fold_fields() -> None:
    data = verification_report(SMALL_SCORES, SMALL_IS_SAME).to_dict()
    assert not {"folds", "fold_thresholds", "accuracy_std"} & set(data)


@pytest.mark.parametrize(
    ("scores", "is_same", "reason"),
    [
        ([0.1, 0.2], [True, True], "need both genuine and impostor pairs"),
        ([0.1, float("nan")], [True, False], "NaN or infinite"),
        ([0.1, 0.2, 0.3], [True, False], "must be 1-D of one length"),
        ([0.1, 0.2], [2, 0], "flags must be True/1"),
    ],
)
def test_bad_scores_are_input_errors(scores: list[float], is_same: list[int], reason: str) -> None:
    with pytest.raises(InputError) as caught:
        verification_report(scores, is_same)
    assert reason in caught.value.reason


def test_threshold_sources_cannot_be_mixed_or_half_given() -> None:
    with pytest.raises(ValueError, match="give both"):
        verification_report(SMALL_SCORES, SMALL_IS_SAME, train_scores=SMALL_SCORES)
    with pytest.raises(ValueError, match="not both"):
        verification_report(
            SMALL_SCORES, SMALL_IS_SAME, train_scores=SMALL_SCORES, train_is_same=SMALL_IS_SAME, folds=[0] * 4
        )
    with pytest.raises(InputError, match="at least two folds"):
        verification_report(SMALL_SCORES, SMALL_IS_SAME, folds=[0] * 4)
