"""What cancelable templates cost and what they protect, in the spirit of ISO/IEC 24745 and 30136.

On a verification pairs file (LFW View 1: threshold from DevTrain, reported on DevTest):

- accuracy: verification with plain embeddings vs with templates of one key;
- unlinkability: global linkability D_sys (Gomez-Barrero et al. 2018) of templates
  made under two keys (two applications): mated = genuine pairs, non-mated =
  impostor pairs, first photo under one key, second under the other; the same
  figure for plain embeddings shows what protection removes;
- renewability: genuine pairs with the first photo under a revoked key and the
  second under the re-issued key, accepted at the system's threshold, beside the
  false accept rate at that threshold: a revoked template should match its
  owner's new one no more often than a stranger's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veil.crossmodel._cancelable import DEFAULT_BITS, CancelableTransform
from veil.crossmodel._linkability import Linkability, global_linkability
from veil.evaluate import (
    Pair,
    PhotoEmbeddings,
    VerificationReport,
    embed_photos,
    read_pairs,
    verification_report,
)
from veil.match import MATCH_DETECTOR
from veil.types import ProgressUpdate

__all__ = ["TemplateReport", "evaluate_templates", "template_report"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TemplateReport:
    """Accuracy, unlinkability and renewability of one kind of cancelable template.

    Attributes:
        model: The recognizer.
        method: The template method (:data:`TEMPLATE_METHODS`).
        bits: BioHash length (the embedding width for ``"rotation"``).
        plain: Verification with plain embeddings.
        protected: Verification with templates of one key.
        linkability: D_sys of templates under two keys.
        plain_linkability: D_sys of the same pairs as plain embeddings (the reference).
        renewed_accept_rate: Genuine pairs, revoked key vs re-issued key, accepted at
            ``protected.threshold``.
        false_accept_rate: Impostor pairs under one key accepted at that threshold.
    """

    model: str
    method: str
    bits: int
    plain: VerificationReport
    protected: VerificationReport
    linkability: Linkability
    plain_linkability: Linkability
    renewed_accept_rate: float
    false_accept_rate: float

    @property
    def accuracy_drop(self) -> float:
        """Plain accuracy minus protected accuracy, as a fraction (0.01 = one point)."""
        return self.plain.accuracy - self.protected.accuracy

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``veil eval cancelable``."""
        return {
            "model": self.model,
            "method": self.method,
            "bits": self.bits,
            "accuracy_plain": self.plain.accuracy,
            "accuracy_protected": self.protected.accuracy,
            "accuracy_drop": self.accuracy_drop,
            "linkability": self.linkability.to_dict(),
            "plain_linkability": self.plain_linkability.to_dict(),
            "renewed_accept_rate": self.renewed_accept_rate,
            "false_accept_rate": self.false_accept_rate,
            "plain": self.plain.to_dict(),
            "protected": self.protected.to_dict(),
        }


def template_report(
    photos: PhotoEmbeddings,
    pairs: Sequence[Pair],
    train_pairs: Sequence[Pair],
    *,
    model: str,
    method: str = "biohash",
    bits: int = DEFAULT_BITS,
    seed: int | np.random.Generator = 0,
) -> TemplateReport:
    """Accuracy, unlinkability and renewability of templates, measured on embedded pairs.

    Two random keys are drawn from ``seed``: the system's and the re-issued one
    (also standing for a second application). Linkability uses both ``pairs`` and
    ``train_pairs``, for more scores; accuracy and renewability use ``pairs`` only.

    Args:
        photos: Embeddings by ``model`` of every photo of both pair lists.
        pairs: Pairs to report on (LFW DevTest).
        train_pairs: Pairs to choose the threshold on (LFW DevTrain).
        model: The recognizer.
        method: See :class:`CancelableTransform`.
        bits: See :class:`CancelableTransform`.
        seed: Seed or generator for the two keys.

    Raises:
        InputError: See :func:`veil.evaluate.verification_report`.
        ValueError: See :class:`CancelableTransform`.
    """
    rng = np.random.default_rng(seed)
    system, reissued = (
        CancelableTransform(rng.bytes(32), model=model, method=method, bits=bits) for _ in range(2)
    )
    vectors = photos.embeddings[model]

    def scores(
        chosen: Sequence[Pair], first: CancelableTransform | None, second: CancelableTransform | None
    ) -> NDArray[np.float64]:
        a = vectors[photos.rows([p.path_a for p in chosen])]
        b = vectors[photos.rows([p.path_b for p in chosen])]
        a = a if first is None else first.protect(a, model=model)
        b = b if second is None else second.protect(b, model=model)
        return np.asarray(np.einsum("ij,ij->i", a, b), dtype=np.float64)

    is_same = np.array([p.is_same for p in pairs])
    train_is_same = np.array([p.is_same for p in train_pairs])
    reported = photos.rows(list(dict.fromkeys(path for p in pairs for path in (p.path_a, p.path_b))))
    fallbacks = int(photos.is_fallback[reported].sum())
    plain = verification_report(
        scores(pairs, None, None),
        is_same,
        train_scores=scores(train_pairs, None, None),
        train_is_same=train_is_same,
        fallbacks=fallbacks,
    )
    protected_scores = scores(pairs, system, system)
    protected = verification_report(
        protected_scores,
        is_same,
        train_scores=scores(train_pairs, system, system),
        train_is_same=train_is_same,
        fallbacks=fallbacks,
    )
    every = [*pairs, *train_pairs]
    every_same = np.array([p.is_same for p in every])
    linked, plain_linked = scores(every, system, reissued), scores(every, None, None)
    renewed = scores(pairs, system, reissued)[is_same]
    report = TemplateReport(
        model=model,
        method=method,
        bits=system.width(vectors.shape[1]),
        plain=plain,
        protected=protected,
        linkability=global_linkability(linked[every_same], linked[~every_same]),
        plain_linkability=global_linkability(plain_linked[every_same], plain_linked[~every_same]),
        renewed_accept_rate=float(np.mean(renewed >= protected.threshold)),
        false_accept_rate=float(np.mean(protected_scores[~is_same] >= protected.threshold)),
    )
    logger.info("templates %s/%s: accuracy drop %.4f", model, method, report.accuracy_drop)
    return report


def evaluate_templates(
    pairs_file: str | Path,
    *,
    train_pairs_file: str | Path,
    model: str,
    method: str = "biohash",
    bits: int = DEFAULT_BITS,
    seed: int = 0,
    images_root: Path | None = None,
    detector: str = MATCH_DETECTOR,
    out_dir: Path | None = None,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> TemplateReport:
    """:func:`template_report` on pairs files, photos in; with ``out_dir``, writes ``cancelable.json``.

    Args:
        pairs_file: Pairs to report on (LFW ``pairsDevTest.txt``); see
            :func:`veil.evaluate.read_pairs` for the formats.
        train_pairs_file: Pairs to choose the threshold on (``pairsDevTrain.txt``).
        model: See :func:`template_report`.
        method: See :func:`template_report`.
        bits: See :func:`template_report`.
        seed: See :func:`template_report`.
        images_root: LFW formats only: see :func:`veil.evaluate.read_pairs`.
        detector: The face detector.
        out_dir: Folder for the JSON report.
        progress: Called after each photo is embedded.

    Raises:
        InputError: A pairs file or photo cannot be read.
    """
    pairs = read_pairs(pairs_file, images_root=images_root)
    train = read_pairs(train_pairs_file, images_root=images_root)
    paths = [path for p in [*pairs, *train] for path in (p.path_a, p.path_b)]
    photos = embed_photos(paths, models=[model], detector=detector, progress=progress)
    report = template_report(photos, pairs, train, model=model, method=method, bits=bits, seed=seed)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        record = {"pairs": str(pairs_file), "train_pairs": str(train_pairs_file), **report.to_dict()}
        (out_dir / "cancelable.json").write_text(json.dumps(record, indent=2) + "\n")
    return report
