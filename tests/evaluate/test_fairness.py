"""Rates by group: Wilson intervals, per-photo rates, false match rates and labels files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from veil.errors import InputError
from veil.evaluate import (
    GroupRate,
    group_false_match_rates,
    group_rates,
    read_groups,
    read_identity_groups,
    wilson_interval,
)

# Wilson 95% intervals as published (e.g. Newcombe 1998, "Two-sided confidence intervals
# for the single proportion", table I), to the 4 decimals given there.
PUBLISHED = [
    (81, 263, (0.2553, 0.3662)),
    (15, 148, (0.0624, 0.1605)),
    (0, 20, (0.0, 0.1611)),
    (1, 29, (0.0061, 0.1718)),
]


@pytest.mark.parametrize(("successes", "n", "expected"), PUBLISHED)
def test_wilson_interval_matches_published_values(
    successes: int, n: int, expected: tuple[float, float]
) -> None:
    assert wilson_interval(successes, n) == pytest.approx(expected, abs=1e-4)


def test_wilson_interval_is_symmetric_and_narrows_with_confidence() -> None:
    low, high = wilson_interval(3, 40)
    assert wilson_interval(37, 40) == pytest.approx((1 - high, 1 - low))
    narrow_low, narrow_high = wilson_interval(3, 40, confidence=0.5)
    assert low < narrow_low < 3 / 40 < narrow_high < high


def test_wilson_interval_with_no_trials_is_everything() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("successes", "n", "confidence"), [(3, 2, 0.95), (-1, 2, 0.95), (1, 2, 1.0)])
def test_wilson_interval_refuses_impossible_arguments(successes: int, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, n, confidence=confidence)


def test_group_rates_count_per_photo_outcomes() -> None:
    rates = group_rates([True, False, True, True], ["b", "a", "b", "a"])
    assert rates == [GroupRate("a", 2, 2, 1), GroupRate("b", 2, 2, 2)]
    data = json.loads(json.dumps(rates[0].to_dict()))
    low, high = wilson_interval(1, 2)
    assert data == {
        "group": "a",
        "n_items": 2,
        "n_trials": 2,
        "n_events": 1,
        "rate": 0.5,
        "low": low,
        "high": high,
    }


def test_group_rates_need_one_group_per_outcome() -> None:
    with pytest.raises(InputError, match="2 group labels for 3 items"):
        group_rates([True, False, True], ["a", "b"])


def test_false_matches_are_counted_inside_each_group() -> None:
    embeddings = np.array(
        [
            [1.0, 0.0, 0.0],  # a
            [0.0, 1.0, 0.0],  # b
            [2.0, 0.0, 0.0],  # a: same direction as the first, a false match
            [0.0, 0.0, 1.0],  # a
            [1.0, 0.0, 0.0],  # b: like the first, but in another group, so never paired with it
            [0.0, 1.0, 1.0],  # c: alone, no pairs
        ]
    )
    rates = group_false_match_rates(embeddings, ["a", "b", "a", "a", "b", "c"], threshold=0.5)
    assert rates == [GroupRate("a", 3, 3, 1), GroupRate("b", 2, 1, 0), GroupRate("c", 1, 0, 0)]
    assert rates[2].rate is None
    assert (rates[2].low, rates[2].high) == (0.0, 1.0)


def test_every_pair_is_scored_once() -> None:
    # Rows 0 = 5 and 2 = 3 match; no other pair does. Any pair missed or repeated would show.
    embeddings = np.eye(6)
    embeddings[5], embeddings[3] = embeddings[0], embeddings[2]
    [rate] = group_false_match_rates(embeddings, ["g"] * 6, threshold=0.99)
    assert (rate.n_items, rate.n_trials, rate.n_events) == (6, 15, 2)


def test_drawn_pairs_are_reproducible_and_estimate_the_full_rate() -> None:
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(400, 16))
    groups = ["g"] * 400
    [full] = group_false_match_rates(embeddings, groups, threshold=0.3)
    [drawn] = group_false_match_rates(embeddings, groups, threshold=0.3, max_pairs_per_group=20_000, seed=1)
    [again] = group_false_match_rates(embeddings, groups, threshold=0.3, max_pairs_per_group=20_000, seed=1)
    assert drawn == again
    assert (full.n_trials, drawn.n_trials) == (400 * 399 // 2, 20_000)
    assert drawn.low < full.rate < drawn.high  # type: ignore[operator]


def test_max_pairs_above_the_pair_count_scores_every_pair() -> None:
    embeddings = np.random.default_rng(0).normal(size=(10, 4))
    [rate] = group_false_match_rates(embeddings, ["g"] * 10, threshold=0.0, max_pairs_per_group=1000)
    assert rate.n_trials == 45


def test_labels_csv_maps_photos_to_their_groups(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "file,age,race_name,gender_name\nimages/a.jpg,30,Asian,female\n/abs/b.jpg,41,White,male\n"
    )
    assert read_groups(labels, columns=["race_name", "gender_name"]) == {
        tmp_path / "images/a.jpg": {"race_name": "Asian", "gender_name": "female"},
        Path("/abs/b.jpg"): {"race_name": "White", "gender_name": "male"},
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("file,race\na.jpg,x\n", "no column 'gender' (the header has: file, race)"),
        ("name,race,gender\na.jpg,x,y\n", "no column 'file'"),
        ("file,race,gender\na.jpg,x,y\nb.jpg,x,y\na.jpg,z,y\n", "line 4: a.jpg is listed twice"),
    ],
)
def test_bad_labels_files_are_input_errors(tmp_path: Path, text: str, reason: str) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(text)
    with pytest.raises(InputError) as caught:
        read_groups(labels, columns=["race", "gender"])
    assert reason in caught.value.reason


def test_a_missing_labels_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read labels CSV"):
        read_groups(tmp_path / "absent.csv", columns=["race"])


@pytest.mark.data
def test_utkface_labels_name_existing_photos(shared_data: Path) -> None:
    groups = read_groups(shared_data / "utkface" / "labels.csv", columns=["race_name", "gender_name"])
    assert len(groups) == 3000
    assert all(path.is_file() for path in groups)
    assert {labels["gender_name"] for labels in groups.values()} == {"female", "male"}


def test_identity_groups_are_keyed_by_identity(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("identity,race,gender\n7202,Asian,female\n7203,White,male\n")
    assert read_identity_groups(labels) == {
        "7202": {"race": "Asian", "gender": "female"},
        "7203": {"race": "White", "gender": "male"},
    }
    assert read_identity_groups(labels, columns=["gender"])["7203"] == {"gender": "male"}
    labels.write_text("identity,race\n7202,Asian\n7202,White\n")
    with pytest.raises(InputError, match="line 3: 7202 is listed twice"):
        read_identity_groups(labels)
    with pytest.raises(InputError, match="no column 'gender'"):
        read_identity_groups(labels, columns=["gender"])
