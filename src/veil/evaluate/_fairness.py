"""Rates broken down by demographic group, each with the group's size and a 95% Wilson interval.

A rate measured on a small group is a wide guess: UTKFace's Black group is about 4%
of the photos. Every group rate therefore carries its counts and a Wilson score
interval, which, unlike the normal approximation, stays inside [0, 1] and is not
zero-width when no event was seen.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from veil.errors import InputError
from veil.evaluate._verification import row_dots, unit_rows

__all__ = [
    "CONFIDENCE",
    "GroupRate",
    "group_false_match_rates",
    "group_rates",
    "read_groups",
    "read_identity_groups",
    "wilson_interval",
]

logger = logging.getLogger(__name__)

CONFIDENCE = 0.95
"""Coverage of the interval that :class:`GroupRate` reports (DESIGN.md's 95%)."""

FILE_COLUMN = "file"
"""The labels-file column that names each photo (as in UTKFace's ``labels.csv``)."""

IDENTITY_COLUMN = "identity"
"""The labels-file column that names each identity (its sub-folder in a folder of identities)."""

_Key = TypeVar("_Key", bound=Hashable)

_PAIR_CHUNK = 32_768
"""Pairs scored at once: the two (chunk, D) float64 blocks take about 0.27 GB at D = 512."""


@dataclass(frozen=True, slots=True)
class GroupRate:
    """A rate measured in one group, with its counts and its 95% Wilson interval.

    Attributes:
        group: The group's label (``"Asian"``, ``"female"``, ...).
        n_items: Photos of the group that took part.
        n_trials: What the rate is out of: photos for a per-photo rate (detection,
            rank-1), pairs for a false match rate.
        n_events: Trials that counted (detected, identified, falsely matched).
    """

    group: str
    n_items: int
    n_trials: int
    n_events: int

    @property
    def rate(self) -> float | None:
        """``n_events / n_trials``; None when the group had no trials."""
        return self.n_events / self.n_trials if self.n_trials else None

    @property
    def low(self) -> float:
        """Lower end of the 95% Wilson interval of the rate (0 with no trials)."""
        return wilson_interval(self.n_events, self.n_trials, confidence=CONFIDENCE)[0]

    @property
    def high(self) -> float:
        """Upper end of the 95% Wilson interval of the rate (1 with no trials)."""
        return wilson_interval(self.n_events, self.n_trials, confidence=CONFIDENCE)[1]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in reports."""
        return {
            "group": self.group,
            "n_items": self.n_items,
            "n_trials": self.n_trials,
            "n_events": self.n_events,
            "rate": self.rate,
            "low": self.low,
            "high": self.high,
        }


def wilson_interval(successes: int, n: int, *, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval (low, high) for a proportion of ``successes`` out of ``n``.

    Wilson (1927), "Probable inference, the law of succession, and statistical
    inference". With ``n == 0`` nothing is known and the interval is (0, 1).

    Raises:
        ValueError: Counts that are negative or with ``successes > n``, or a
            ``confidence`` outside (0, 1).
    """
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    shrink = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / shrink
    half_width = z / shrink * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def read_groups(labels_csv: str | Path, *, columns: Sequence[str]) -> dict[Path, dict[str, str]]:
    """The group labels of each photo listed in a CSV labels file, keyed by the photo's path.

    The file needs a header row with a ``file`` column (see :data:`FILE_COLUMN`) and
    the ``columns`` asked for, such as UTKFace's ``race_name`` and ``gender_name``.
    Relative photo paths are taken from the CSV's folder, as the CSV writes them; no
    file is opened or checked.

    Raises:
        InputError: The file cannot be read, lacks a column, or lists a photo twice.
    """
    labels_csv = Path(labels_csv)
    return _read_labels(labels_csv, FILE_COLUMN, columns, key=lambda name: labels_csv.parent / name)


def read_identity_groups(
    labels_csv: str | Path, *, columns: Sequence[str] | None = None
) -> dict[str, dict[str, str]]:
    """The group labels of each identity listed in a CSV labels file, keyed by identity.

    For data sets labelled per person rather than per photo (a folder of identity
    sub-folders, as the protection protocols use): the file needs a header row with
    an ``identity`` column (see :data:`IDENTITY_COLUMN`) holding the sub-folder names.

    Args:
        labels_csv: The CSV file.
        columns: The group columns to read; None for every column but ``identity``.

    Raises:
        InputError: The file cannot be read, lacks a column, or lists an identity twice.
    """
    return _read_labels(Path(labels_csv), IDENTITY_COLUMN, columns, key=str)


def _read_labels(
    labels_csv: Path, key_column: str, columns: Sequence[str] | None, *, key: Callable[[str], _Key]
) -> dict[_Key, dict[str, str]]:
    """Each row's ``columns`` (None: all but the key column), keyed by ``key(row[key_column])``."""
    groups: dict[_Key, dict[str, str]] = {}
    try:
        with labels_csv.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or ())
            wanted = [name for name in header if name != key_column] if columns is None else list(columns)
            missing = [name for name in (key_column, *wanted) if name not in header]
            if missing:
                raise InputError(
                    labels_csv,
                    f"no column {', '.join(map(repr, missing))} (the header has: {', '.join(header)})",
                )
            for row in reader:
                name = key(row[key_column])
                if name in groups:
                    raise InputError(labels_csv, f"line {reader.line_num}: {row[key_column]} is listed twice")
                groups[name] = {column: row[column] for column in wanted}
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(labels_csv, f"cannot read labels CSV ({error})") from error
    logger.debug("read groups of %d %s entries from %s", len(groups), key_column, labels_csv)
    return groups


def group_rates(outcomes: ArrayLike, groups: Sequence[str]) -> list[GroupRate]:
    """A per-photo rate (detection, rank-1, protection success) in each group, groups sorted.

    Args:
        outcomes: One flag per photo: True when the event counted for it.
        groups: The group of each photo, in the same order.

    Raises:
        InputError: Not one group per outcome.
    """
    flags = np.asarray(outcomes, dtype=bool)
    labels = _group_labels(groups, len(flags))
    rates = []
    for group in np.unique(labels):
        members = labels == group
        n = int(members.sum())
        rates.append(GroupRate(str(group), n, n, int(flags[members].sum())))
    return rates


def group_false_match_rates(
    embeddings: ArrayLike,
    groups: Sequence[str],
    *,
    threshold: float,
    max_pairs_per_group: int | None = None,
    seed: int | np.random.Generator = 0,
) -> list[GroupRate]:
    """The false match rate inside each group: impostor pairs scoring at or above ``threshold``.

    Every pair of two different photos of one group is treated as an impostor pair,
    that is, each photo is assumed to show a different person. This fits UTKFace,
    which has no identity labels and about one photo per person, but a data set with
    several photos per person would count its genuine pairs as false matches: give it
    only one photo per person. Pairs share photos, so they are not independent trials
    and the Wilson interval over pairs is narrower than the truth; ``n_items`` is the
    real sample size.

    Args:
        embeddings: (N, D) embeddings, one per photo; scored by cosine similarity.
        groups: The group of each photo.
        threshold: The operating threshold (a pair matches when ``score >= threshold``),
            such as one from :func:`veil.match.thresholds_at_far` or a verification report.
        max_pairs_per_group: Score at most this many pairs per group, drawn uniformly
            without replacement; None scores all ``n (n - 1) / 2`` pairs.
        seed: Seed or generator for drawing the pairs.

    Raises:
        InputError: Not one group per embedding, or bad embeddings.
        ValueError: ``max_pairs_per_group`` below 1.
    """
    if max_pairs_per_group is not None and max_pairs_per_group < 1:
        raise ValueError(f"max_pairs_per_group must be at least 1, got {max_pairs_per_group}")
    unit = unit_rows(embeddings, what="embeddings")
    labels = _group_labels(groups, len(unit))
    rng = np.random.default_rng(seed)
    rates = []
    for group in np.unique(labels):
        members = unit[labels == group]
        n = len(members)
        n_pairs = n * (n - 1) // 2
        if max_pairs_per_group is None or max_pairs_per_group >= n_pairs:
            chosen = np.arange(n_pairs)
        else:
            chosen = np.sort(rng.choice(n_pairs, size=max_pairs_per_group, replace=False))
        false_matches = sum(
            int((_pair_scores(members, chosen[start : start + _PAIR_CHUNK]) >= threshold).sum())
            for start in range(0, chosen.size, _PAIR_CHUNK)
        )
        rates.append(GroupRate(str(group), n, int(chosen.size), false_matches))
    logger.debug("false match rates of %d groups at threshold %s", len(rates), threshold)
    return rates


def _group_labels(groups: Sequence[str], n: int) -> NDArray[np.str_]:
    labels = np.asarray(groups, dtype=str)
    if labels.shape != (n,):
        raise InputError("<array>", f"{labels.size} group labels for {n} items: need one per item")
    return labels


def _pair_scores(unit: NDArray[np.float64], pair_indices: NDArray[np.int64]) -> NDArray[np.float64]:
    """Cosine scores of pairs (i, j), i < j, given by their index in the row-major list of such pairs.

    Row ``i`` holds the ``n - 1 - i`` pairs (i, i+1) .. (i, n-1) and starts at index
    ``i * n - i * (i + 1) / 2``; indexing by number lets pairs be drawn without
    building the full list of n² / 2 pairs.
    """
    n = len(unit)
    rows = np.arange(n - 1)
    row_starts = rows * n - rows * (rows + 1) // 2
    i = np.searchsorted(row_starts, pair_indices, side="right") - 1
    j = pair_indices - row_starts[i] + i + 1
    return row_dots(unit[i], unit[j])
