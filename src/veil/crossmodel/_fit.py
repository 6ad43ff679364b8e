"""Fit a map between two models from a folder of photos, and measure it on people it did not see."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from veil.crossmodel._maps import EmbeddingMap, MapValidation
from veil.crossmodel._split import DEFAULT_MAX_ANCHORS, split_crossmodel
from veil.evaluate import embed_photos, identification_report
from veil.match import MATCH_DETECTOR
from veil.types import ProgressUpdate

__all__ = ["DEFAULT_VALIDATION_FRACTION", "align_models"]

logger = logging.getLogger(__name__)

DEFAULT_VALIDATION_FRACTION = 0.2
"""Share of the identities (with enough photos) held out to validate the map rather than fit it."""


def align_models(
    root: str | Path,
    *,
    source: str,
    target: str,
    method: str = "ridge",
    anchors: int = DEFAULT_MAX_ANCHORS,
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
    seed: int = 0,
    detector: str = MATCH_DETECTOR,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> EmbeddingMap:
    """A map from ``source``'s embeddings to ``target``'s, fitted on photos of a folder of identities.

    A share of the identities is held out (:func:`split_crossmodel`); up to
    ``anchors`` photos of the others are embedded by both models and fitted on.
    The held-out people then measure what the map is for, migrating a gallery:
    their first photo embedded by ``source`` and mapped is the gallery, their
    other photos embedded by ``target`` the probes. The result is kept in the map
    (``validation_``, saved with it) and reported by ``veil gallery migrate``.

    Args:
        root: Folder of identity sub-folders (``ROOT/<identity>/<photo>``).
        source: The model whose embeddings the map takes.
        target: The model whose space it maps into.
        method: See :class:`EmbeddingMap`.
        anchors: The most anchor photos to fit on.
        validation_fraction: Share of the identities held out.
        seed: Seeds the split: the same seed gives the same map.
        detector: The face detector.
        progress: Called after each photo is embedded.

    Raises:
        InputError: See :func:`split_crossmodel`; a photo cannot be read.
        ValueError: See :class:`EmbeddingMap` and :func:`split_crossmodel`.
    """
    mapping = EmbeddingMap(source, target, method=method)
    split = split_crossmodel(root, test_fraction=validation_fraction, max_anchors=anchors, seed=seed)
    photos = embed_photos(split.paths(), models=[source, target], detector=detector, progress=progress)
    mapping.fit(split.arrays(photos, source, "anchors"), split.arrays(photos, target, "anchors"))
    probes, probe_ids = split.arrays(photos, target, "probes"), split.ids("probes")
    gallery_ids = split.ids("gallery")
    native = identification_report(split.arrays(photos, target, "gallery"), gallery_ids, probes, probe_ids)
    migrated = mapping.transform(split.arrays(photos, source, "gallery"), model=source)
    mapped = identification_report(migrated, gallery_ids, mapping.transform(probes, model=target), probe_ids)
    mapping.validation_ = MapValidation(
        rank1_native=native.rank1,
        rank1_mapped=mapped.rank1,
        n_probes=native.n_probes,
        n_identities=native.n_identities,
    )
    logger.info("fitted %r; validation rank-1 %.3f of native %.3f", mapping, mapped.rank1, native.rank1)
    return mapping
