"""How well maps align face models: cross-model identification and verification, unaligned vs mapped.

For an ordered pair of models (source A, target B), the gallery is embedded by B
and the probes by A, then mapped into B's space, as when a leaked A template is
searched in a B system or an A gallery is migrated to B. Rank-1 follows DESIGN.md's
identification protocol; verification scores every test photo mapped from A against
every other test photo embedded by B and reports the true accept rate at a false
accept rate of 1e-3. Each map is compared with the two bounds: "unaligned" (A's
embeddings used as they are, about chance) and "native" (B's own embeddings, the
most a map can reach).
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veil.crossmodel._maps import METHODS, EmbeddingMap
from veil.crossmodel._plots import plot_alignability, plot_learning_curve
from veil.crossmodel._split import (
    DEFAULT_MAX_ANCHORS,
    DEFAULT_TEST_FRACTION,
    CrossModelSplit,
    split_crossmodel,
)
from veil.embed import RECOGNIZERS
from veil.errors import VeilWarning
from veil.evaluate import PhotoEmbeddings, embed_photos, identification_report
from veil.match import MATCH_DETECTOR, thresholds_at_far
from veil.types import Embeddings, ProgressUpdate

__all__ = [
    "DEFAULT_ANCHOR_COUNTS",
    "VERIFICATION_FAR",
    "AlignmentScore",
    "CrossModelReport",
    "CurvePoint",
    "PairAlignment",
    "crossmodel_report",
    "evaluate_crossmodel",
]

logger = logging.getLogger(__name__)

DEFAULT_ANCHOR_COUNTS = (50, 100, 200, 500, 1000, 2000)
"""Anchor counts of the learning curve (those above the anchors available are left out)."""

VERIFICATION_FAR = 1e-3
"""False accept rate at which cross-model verification is reported."""

NATIVE, UNALIGNED = "native", "unaligned"


@dataclass(frozen=True, slots=True)
class AlignmentScore:
    """Cross-model identification and verification with one way of comparing the two models.

    Attributes:
        method: ``"native"`` (target model on both sides), ``"unaligned"`` (source
            embeddings used as they are) or a map method (:data:`METHODS`).
        rank1: Closed-set rank-1 identification rate of the probes.
        tar: True accept rate at :data:`VERIFICATION_FAR`.
        fit_ms: Milliseconds the map took to fit; None for the two bounds.
    """

    method: str
    rank1: float
    tar: float
    fit_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in reports."""
        return {"method": self.method, "rank1": self.rank1, "tar": self.tar, "fit_ms": self.fit_ms}


@dataclass(frozen=True, slots=True)
class PairAlignment:
    """Every way of comparing one ordered pair of models on one test set.

    Attributes:
        source: The model that embeds the probes (then mapped).
        target: The model that embeds the gallery.
        n_anchors: Anchor photos each map was fitted on.
        scores: ``native``, ``unaligned`` (when both widths match), then one per map method.
    """

    source: str
    target: str
    n_anchors: int
    scores: tuple[AlignmentScore, ...]

    def score(self, method: str) -> AlignmentScore:
        """The score of one method (or bound).

        Raises:
            KeyError: The method was not measured.
        """
        for entry in self.scores:
            if entry.method == method:
                return entry
        raise KeyError(method)

    @property
    def best(self) -> AlignmentScore:
        """The map with the highest rank-1."""
        return max((s for s in self.scores if s.method in METHODS), key=lambda s: s.rank1)

    @property
    def retention(self) -> float:
        """The best map's rank-1 over the target model's own: the alignability of this pair."""
        native = self.score(NATIVE).rank1
        return self.best.rank1 / native if native > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in reports."""
        return {
            "source": self.source,
            "target": self.target,
            "n_anchors": self.n_anchors,
            "best": self.best.method,
            "retention": self.retention,
            "scores": [score.to_dict() for score in self.scores],
        }


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Rank-1 of one map fitted on ``n_anchors`` anchors: a point of the learning curve."""

    source: str
    target: str
    method: str
    n_anchors: int
    rank1: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in reports."""
        return {
            "source": self.source,
            "target": self.target,
            "method": self.method,
            "n_anchors": self.n_anchors,
            "rank1": self.rank1,
        }


@dataclass(frozen=True, slots=True)
class CrossModelReport:
    """Cross-model alignment of every ordered pair of models, on one test set with one anchor source.

    Attributes:
        pairs: One entry per ordered pair of models.
        curve: Rank-1 of every map and pair at each anchor count.
        anchors_from: The folder the anchors came from.
        n_identities: Test identities (gallery entries).
        n_probes: Probes scored.
        fallbacks: Test photos embedded without a detected face.
    """

    pairs: tuple[PairAlignment, ...]
    curve: tuple[CurvePoint, ...]
    anchors_from: str
    n_identities: int
    n_probes: int
    fallbacks: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``veil eval crossmodel``."""
        return {
            "anchors_from": self.anchors_from,
            "n_identities": self.n_identities,
            "n_probes": self.n_probes,
            "fallbacks": self.fallbacks,
            "far": VERIFICATION_FAR,
            "pairs": [pair.to_dict() for pair in self.pairs],
            "curve": [point.to_dict() for point in self.curve],
        }


def crossmodel_report(
    split: CrossModelSplit,
    photos: PhotoEmbeddings,
    *,
    models: Sequence[str],
    methods: Sequence[str] = METHODS,
    anchors: int = DEFAULT_MAX_ANCHORS,
    anchor_counts: Sequence[int] = DEFAULT_ANCHOR_COUNTS,
) -> CrossModelReport:
    """Rank-1 and TAR of every ordered pair of ``models``, unaligned and mapped, and a learning curve.

    The learning curve deliberately includes least-squares fits with fewer
    anchors than dimensions (they collapse, which is the point); their warnings
    are not repeated here.

    Args:
        split: Test photos and anchors (:func:`split_crossmodel`).
        photos: Embeddings of ``split.paths()`` by every model.
        models: At least two models.
        methods: Map methods to compare.
        anchors: Anchors each compared map is fitted on (the first ``anchors`` of the split).
        anchor_counts: Anchor counts of the learning curve; counts above the split's
            anchors are left out.

    Raises:
        ValueError: Fewer than two models, or an unknown method.
        InputError: A model was not embedded.
    """
    if len(models) < 2:
        raise ValueError(f"cross-model alignment needs at least two models, got {list(models)}")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown map methods {unknown}; choose from: {', '.join(METHODS)}")
    n_anchors = min(anchors, len(split.anchors))
    counts = sorted({n for n in anchor_counts if n <= len(split.anchors)})
    pairs: list[PairAlignment] = []
    curve: list[CurvePoint] = []
    for source in models:
        for target in models:
            if source == target:
                continue
            pairs.append(_pair_alignment(split, photos, source, target, methods, n_anchors))
            curve.extend(
                CurvePoint(source, target, method, n, _mapped_rank1(split, photos, source, target, method, n))
                for method in methods
                for n in counts
            )
    probe_rows = photos.rows([path for _, path in (*split.gallery, *split.probes)])
    return CrossModelReport(
        pairs=tuple(pairs),
        curve=tuple(curve),
        anchors_from=str(split.anchors_from),
        n_identities=split.n_identities,
        n_probes=len(split.probes),
        fallbacks=int(photos.is_fallback[probe_rows].sum()),
    )


def evaluate_crossmodel(
    root: str | Path,
    *,
    fit_root: str | Path | None = None,
    models: Sequence[str] = tuple(RECOGNIZERS),
    methods: Sequence[str] = METHODS,
    anchors: int = DEFAULT_MAX_ANCHORS,
    anchor_counts: Sequence[int] = DEFAULT_ANCHOR_COUNTS,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    seed: int = 0,
    detector: str = MATCH_DETECTOR,
    out_dir: Path | None = None,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> list[CrossModelReport]:
    """Cross-model alignment on a folder of identity sub-folders, photos in, reports (and plots) out.

    Identities are split by :func:`split_crossmodel`; every photo is embedded once by
    every model. The first report fits on ``root``'s own anchor identities; with
    ``fit_root``, a second report fits on anchors drawn from ``fit_root`` and tests on
    the same probes (cross-data-set generalisation). With ``out_dir``, writes
    ``crossmodel.json``, and for each report a heat map of alignability and a
    learning curve (``alignability.png``, ``learning_curve.png``, suffixed
    ``_cross`` for the second).

    Args:
        root: The data set to test on (and, without ``fit_root``, to fit on).
        fit_root: A second data set to fit on.
        models: Recognizers to align, every ordered pair.
        methods: See :func:`crossmodel_report`.
        anchors: See :func:`crossmodel_report`.
        anchor_counts: See :func:`crossmodel_report`.
        test_fraction: See :func:`split_crossmodel`.
        seed: See :func:`split_crossmodel`.
        detector: The face detector (DESIGN.md's main-face rule picks one face per photo).
        out_dir: Folder for the JSON report and the plots.
        progress: Called after each photo is embedded.

    Raises:
        InputError: See :func:`split_crossmodel`; a photo cannot be read.
        ValueError: See :func:`crossmodel_report`.
    """
    drawn = max([anchors, *anchor_counts])
    splits = [split_crossmodel(root, test_fraction=test_fraction, max_anchors=drawn, seed=seed)]
    if fit_root is not None:
        splits.append(
            split_crossmodel(
                root, fit_root=fit_root, test_fraction=test_fraction, max_anchors=drawn, seed=seed
            )
        )
    paths = list(dict.fromkeys(path for split in splits for path in split.paths()))
    photos = embed_photos(paths, models=models, detector=detector, progress=progress)
    reports = [
        crossmodel_report(
            split, photos, models=models, methods=methods, anchors=anchors, anchor_counts=anchor_counts
        )
        for split in splits
    ]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for report, suffix in zip(reports, ("", "_cross"), strict=False):
            plot_alignability(report, models, out_dir / f"alignability{suffix}.png")
            plot_learning_curve(report, out_dir / f"learning_curve{suffix}.png")
        record = {"root": str(root), "models": list(models), "reports": [r.to_dict() for r in reports]}
        (out_dir / "crossmodel.json").write_text(json.dumps(record, indent=2) + "\n")
    return reports


def fit_on_anchors(
    split: CrossModelSplit, photos: PhotoEmbeddings, source: str, target: str, method: str, n_anchors: int
) -> EmbeddingMap:
    """A map fitted on the first ``n_anchors`` anchors of ``split``."""
    return EmbeddingMap(source, target, method=method).fit(
        split.arrays(photos, source, "anchors", limit=n_anchors),
        split.arrays(photos, target, "anchors", limit=n_anchors),
    )


def _pair_alignment(
    split: CrossModelSplit,
    photos: PhotoEmbeddings,
    source: str,
    target: str,
    methods: Sequence[str],
    n_anchors: int,
) -> PairAlignment:
    gallery = split.arrays(photos, target, "gallery")
    probes = split.arrays(photos, source, "probes")
    # Verification pairs every test photo (gallery and probes) of one side with every other of the other.
    test_ids = np.array(split.ids("gallery") + split.ids("probes"))
    test_target = np.concatenate([gallery, split.arrays(photos, target, "probes")])
    test_source = np.concatenate([split.arrays(photos, source, "gallery"), probes])

    def score(
        method: str,
        mapped: tuple[Embeddings, Embeddings],
        targets: tuple[Embeddings, Embeddings],
        fit_ms: float | None,
    ) -> AlignmentScore:
        (mapped_probes, mapped_test), (target_gallery, target_test) = mapped, targets
        rank1 = _rank1(split, target_gallery, mapped_probes)
        return AlignmentScore(method, rank1, _tar(mapped_test, target_test, test_ids), fit_ms)

    raw_targets = (gallery, test_target)
    scores = [score(NATIVE, (split.arrays(photos, target, "probes"), test_target), raw_targets, None)]
    if probes.shape[1] == gallery.shape[1]:
        scores.append(score(UNALIGNED, (probes, test_source), raw_targets, None))
    for method in methods:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VeilWarning)
            mapping = fit_on_anchors(split, photos, source, target, method, n_anchors)
        fit_ms = (time.perf_counter() - start) * 1000
        mapped = (mapping.transform(probes, model=source), mapping.transform(test_source, model=source))
        targets = (mapping.transform(gallery, model=target), mapping.transform(test_target, model=target))
        scores.append(score(method, mapped, targets, fit_ms))
    logger.info("aligned %s -> %s on %d anchors", source, target, n_anchors)
    return PairAlignment(source, target, n_anchors, tuple(scores))


def _mapped_rank1(
    split: CrossModelSplit, photos: PhotoEmbeddings, source: str, target: str, method: str, n_anchors: int
) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VeilWarning)
        mapping = fit_on_anchors(split, photos, source, target, method, n_anchors)
    mapped = mapping.transform(split.arrays(photos, source, "probes"), model=source)
    return _rank1(split, mapping.transform(split.arrays(photos, target, "gallery"), model=target), mapped)


def _rank1(split: CrossModelSplit, gallery: Embeddings, probes: Embeddings) -> float:
    return identification_report(gallery, split.ids("gallery"), probes, split.ids("probes")).rank1


def _tar(a: Embeddings, b: Embeddings, ids: NDArray[np.str_]) -> float:
    """TAR at :data:`VERIFICATION_FAR` over pairs (a_i, b_j), i != j; genuine when the identities match."""
    scores = a.astype(np.float64) @ b.astype(np.float64).T
    same = ids[:, None] == ids[None, :]
    other_photo = ~np.eye(len(ids), dtype=bool)
    threshold = thresholds_at_far(scores[~same], [VERIFICATION_FAR])[VERIFICATION_FAR].threshold
    return float(np.mean(scores[same & other_photo] >= threshold))
