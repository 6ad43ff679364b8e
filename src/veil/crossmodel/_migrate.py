"""Move a gallery to another model's space with a map, without the original photos.

Replacing a face model normally means re-enrolling everyone from their photos,
which a privacy-minded operator may not have kept. A map fitted on other people's
photos (:func:`align_models`) converts the stored embeddings instead; what it
costs is measured by identification with and without the migration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veil.crossmodel._maps import TARGET_SPACE_METHODS, EmbeddingMap
from veil.errors import InputError, ModelMismatchError
from veil.evaluate import embed_photos, identification_report, list_identities
from veil.match import MATCH_DETECTOR, Gallery
from veil.types import ProgressUpdate

__all__ = ["MIGRATED_FROM", "MigrationReport", "evaluate_migration", "migrate_gallery"]

logger = logging.getLogger(__name__)

_SHARED_SPACE_REFUSAL = (
    "a {method!r} map compares both models in a shared space, so its output cannot join a gallery "
    f"of the target model; migrate with one of: {', '.join(TARGET_SPACE_METHODS)}"
)

MIGRATED_FROM = "migrated_from"
"""Metadata key added to every migrated entry: the source model and the map method."""


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """Identification before and after a migration, with the same people's new photos as probes.

    Attributes:
        rank1_original: Probes embedded by the original model, searched in the original gallery.
        rank1_migrated: Probes embedded by the new model, searched in the migrated gallery.
        n_probes: Probes scored.
        n_identities: Gallery identities that had probes.
    """

    rank1_original: float
    rank1_migrated: float
    n_probes: int
    n_identities: int

    @property
    def retention(self) -> float:
        """``rank1_migrated / rank1_original``: the share of identification accuracy the migration keeps."""
        return self.rank1_migrated / self.rank1_original if self.rank1_original > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``veil gallery migrate``."""
        return {
            "rank1_original": self.rank1_original,
            "rank1_migrated": self.rank1_migrated,
            "retention": self.retention,
            "n_probes": self.n_probes,
            "n_identities": self.n_identities,
        }


def migrate_gallery(gallery: Gallery, embedding_map: EmbeddingMap) -> Gallery:
    """A new gallery of the map's target model holding every entry of ``gallery``, mapped.

    Names, metadata and the index kind are kept; each entry's metadata gains
    :data:`MIGRATED_FROM`. The input gallery is left alone. Entry ids are renumbered
    from 0 in the original order.

    Raises:
        ModelMismatchError: The gallery's model is not the map's source model.
        NotFittedError: The map is not fitted.
        ValueError: A ``"cca"`` map, whose output lies in a space shared by both
            models rather than the target's (:data:`TARGET_SPACE_METHODS`).
    """
    if gallery.model != embedding_map.source_model:
        raise ModelMismatchError(embedding_map.source_model, gallery.model)
    if embedding_map.method not in TARGET_SPACE_METHODS:
        raise ValueError(_SHARED_SPACE_REFUSAL.format(method=embedding_map.method))
    vectors, names, metadata = gallery.entries()
    migrated = Gallery(embedding_map.target_model, embedding_map.target_dim, index=gallery.index)
    if len(vectors):
        mapped = embedding_map.transform(vectors, model=gallery.model)
        provenance = f"{gallery.model} ({embedding_map.method} map)"
        for row, (name, meta) in enumerate(zip(names, metadata, strict=True)):
            migrated.add(
                name,
                mapped[row : row + 1],
                model=migrated.model,
                metadata={**meta, MIGRATED_FROM: provenance},
            )
    logger.info("migrated %d entries from %s to %s", len(vectors), gallery.model, migrated.model)
    return migrated


def evaluate_migration(
    original: Gallery,
    migrated: Gallery,
    probes_root: str | Path,
    *,
    detector: str = MATCH_DETECTOR,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> MigrationReport:
    """Rank-1 of the original gallery and of its migration, with photos of the enrolled people as probes.

    Every photo in a sub-folder of ``probes_root`` named after a person in the
    gallery is a probe; other sub-folders are left out. Use photos that were not
    enrolled: an enrolled photo finds itself and flatters both figures.

    Raises:
        InputError: ``probes_root`` is not a folder of identities, or none of its
            sub-folders names a person in the gallery.
    """
    known = set(original.names())
    probes = [
        (name, file)
        for name, files in list_identities(probes_root).items()
        if name in known
        for file in files
    ]
    if not probes:
        raise InputError(probes_root, "no sub-folder is named after a person in the gallery")
    photos = embed_photos(
        [file for _, file in probes],
        models=[original.model, migrated.model],
        detector=detector,
        progress=progress,
    )
    rows, probe_ids = photos.rows([file for _, file in probes]), [name for name, _ in probes]
    reports = [
        identification_report(vectors, names, photos.embeddings[gallery.model][rows], probe_ids)
        for gallery in (original, migrated)
        for vectors, names, _ in [gallery.entries()]
    ]
    return MigrationReport(
        rank1_original=reports[0].rank1,
        rank1_migrated=reports[1].rank1,
        n_probes=len(probes),
        n_identities=len({name for name, _ in probes}),
    )
