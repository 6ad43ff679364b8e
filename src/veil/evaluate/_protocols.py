"""The recognition protocols end to end: photos in, reports (and plots) out.

These put together the pieces of ``veil.evaluate`` (pairs, embedding with counted
fallbacks, reports, fairness, plots) the way ``veil eval verify`` and
``veil eval identify`` run them, so that the command, the benchmarks and other
protocols (anonymization, cloaking) measure recognition the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from veil.evaluate._embedding import PhotoEmbeddings, embed_photos
from veil.evaluate._fairness import GroupRate, group_false_match_rates, read_groups
from veil.evaluate._identification import (
    IdentificationReport,
    identification_report,
    list_identities,
    split_gallery_probes,
)
from veil.evaluate._pairs import Pair, read_pairs
from veil.evaluate._plots import plot_cmc, plot_det, plot_roc
from veil.evaluate._verification import VerificationReport, roc_points, verification_report
from veil.match import DEFAULT_FAR, MATCH_DETECTOR, load_calibration
from veil.types import ProgressUpdate

__all__ = ["GroupedRates", "evaluate_identification", "evaluate_verification", "false_match_rates_by_group"]

Progress = Callable[[ProgressUpdate], None] | None


@dataclass(frozen=True, slots=True)
class GroupedRates:
    """False match rates inside each group of one label column, at one threshold."""

    column: str
    threshold: float
    far: float
    rates: tuple[GroupRate, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "threshold": self.threshold,
            "far": self.far,
            "groups": [rate.to_dict() for rate in self.rates],
        }


def _scores(embedded: PhotoEmbeddings, model: str, pairs: Sequence[Pair]) -> np.ndarray:
    vectors = embedded.embeddings[model]
    a = vectors[embedded.rows([p.path_a for p in pairs])]
    b = vectors[embedded.rows([p.path_b for p in pairs])]
    return np.asarray((a * b).sum(axis=1), np.float64)


def _fallbacks(embedded: PhotoEmbeddings, pairs: Sequence[Pair]) -> int:
    rows = embedded.rows(list(dict.fromkeys(path for p in pairs for path in (p.path_a, p.path_b))))
    return int(embedded.is_fallback[rows].sum())


def evaluate_verification(
    pairs_file: str | Path,
    *,
    model: str,
    train_pairs_file: str | Path | None = None,
    images_root: Path | None = None,
    detector: str = MATCH_DETECTOR,
    out_dir: Path | None = None,
    progress: Progress = None,
) -> VerificationReport:
    """Verification on a pairs file (LFW View 1, View 2 or plain), DESIGN.md's protocol.

    The threshold comes from ``train_pairs_file`` when given (View 1: DevTrain),
    else from 10-fold cross-validation when the file has folds (View 2), else from
    the pairs themselves (flagged in ``threshold_source``). With ``out_dir``, writes
    ``verification.json``, ``roc.png`` and ``det.png`` there.
    """
    pairs = read_pairs(pairs_file, images_root=images_root)
    train = read_pairs(train_pairs_file, images_root=images_root) if train_pairs_file else []
    paths = [path for p in [*pairs, *train] for path in (p.path_a, p.path_b)]
    embedded = embed_photos(paths, models=[model], detector=detector, progress=progress)
    scores = _scores(embedded, model, pairs)
    is_same = np.array([p.is_same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    report = verification_report(
        scores,
        is_same,
        train_scores=_scores(embedded, model, train) if train else None,
        train_is_same=np.array([p.is_same for p in train]) if train else None,
        folds=folds if not train and len(set(folds.tolist())) > 1 else None,
        fallbacks=_fallbacks(embedded, pairs),
    )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        curve = {model: roc_points(scores, is_same)}
        plot_roc(curve, out_dir / "roc.png")
        plot_det(curve, out_dir / "det.png")
        record = {"model": model, "pairs": str(pairs_file), **report.to_dict()}
        (out_dir / "verification.json").write_text(json.dumps(record, indent=2) + "\n")
    return report


def evaluate_identification(
    root: str | Path,
    *,
    model: str,
    detector: str = MATCH_DETECTOR,
    out_dir: Path | None = None,
    progress: Progress = None,
) -> IdentificationReport:
    """Closed-set identification on a folder of identity sub-folders, DESIGN.md's protocol.

    Identities with at least four photos take part: the first photo by file name
    is the gallery, the rest are probes. With ``out_dir``, writes
    ``identification.json`` and ``cmc.png`` there.
    """
    gallery, probes = split_gallery_probes(list_identities(root))
    embedded = embed_photos(
        [p for _, p in [*gallery, *probes]], models=[model], detector=detector, progress=progress
    )
    vectors = embedded.embeddings[model]
    probe_rows = embedded.rows([p for _, p in probes])
    report = identification_report(
        vectors[embedded.rows([p for _, p in gallery])],
        [identity for identity, _ in gallery],
        vectors[probe_rows],
        [identity for identity, _ in probes],
        fallbacks=int(embedded.is_fallback[probe_rows].sum()),
    )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        plot_cmc({model: report.cmc}, out_dir / "cmc.png")
        record = {"model": model, "root": str(root), **report.to_dict()}
        (out_dir / "identification.json").write_text(json.dumps(record, indent=2) + "\n")
    return report


def false_match_rates_by_group(
    labels_csv: str | Path,
    *,
    model: str,
    columns: Sequence[str],
    far: float = DEFAULT_FAR,
    detector: str = MATCH_DETECTOR,
    progress: Progress = None,
) -> list[GroupedRates]:
    """False match rates inside each demographic group, at the model's threshold for ``far``.

    Every photo listed in ``labels_csv`` is taken to show a different person (as in
    UTKFace), so every pair inside a group is an impostor pair: a group whose rate is
    well above ``far`` is one the model confuses more often.
    """
    labels = read_groups(labels_csv, columns=columns)
    paths = list(labels)
    embedded = embed_photos(paths, models=[model], detector=detector, progress=progress)
    vectors = embedded.embeddings[model][embedded.rows(paths)]
    threshold = load_calibration(model).threshold(far)
    return [
        GroupedRates(
            column,
            threshold,
            far,
            tuple(group_false_match_rates(vectors, [labels[p][column] for p in paths], threshold=threshold)),
        )
        for column in columns
    ]
