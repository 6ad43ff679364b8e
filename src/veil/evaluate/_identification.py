"""Closed-set identification: who in a gallery is a probe photo, and at what rank is the right answer.

The protocol is DESIGN.md's: per identity with at least four images, the first image
by file name goes in the gallery and the rest are probes; every probe's identity is
in the gallery (closed set), so rank 1 is a correct identification.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from veil.errors import InputError
from veil.evaluate._verification import unit_rows
from veil.io import find_images

__all__ = [
    "DEFAULT_MAX_RANK",
    "DEFAULT_MIN_IMAGES",
    "IdentificationReport",
    "identification_report",
    "list_identities",
    "probe_ranks",
    "split_gallery_probes",
]

logger = logging.getLogger(__name__)

DEFAULT_MIN_IMAGES = 4
"""Images an identity needs to take part: one for the gallery, at least three probes."""

DEFAULT_MAX_RANK = 20
"""Length of the CMC curve."""


@dataclass(frozen=True, slots=True)
class IdentificationReport:
    """Closed-set identification rates.

    Attributes:
        rank1: Fraction of probes whose best-scoring gallery identity is their own.
        rank5: Fraction whose own identity is among the five best.
        cmc: Cumulative match characteristic: ``cmc[k - 1]`` is the fraction of probes
            found within rank ``k``, for k = 1 .. min(max_rank, n_identities).
        n_probes: Probes scored.
        n_identities: Identities in the gallery (the candidates of every search).
        fallbacks: Photos embedded without a detected face (counted by the caller).
    """

    rank1: float
    rank5: float
    cmc: tuple[float, ...]
    n_probes: int
    n_identities: int
    fallbacks: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; the top-level names are shared by every ``veil eval`` command."""
        return {
            "rank1": self.rank1,
            "rank5": self.rank5,
            "n_probes": self.n_probes,
            "n_identities": self.n_identities,
            "fallbacks": self.fallbacks,
            "cmc": list(self.cmc),
        }


def list_identities(root: str | Path) -> dict[str, list[Path]]:
    """The image files of each identity in a folder of identity sub-folders, sorted by file name.

    Sub-folder names are the identities (``celeba/images/<id>/``, ``lfw/images/<Name>/``).
    Only a sub-folder's own image files count (see :data:`veil.io.IMAGE_EXTENSIONS`);
    hidden entries and sub-folders without images are left out.

    Raises:
        InputError: ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "not a folder (expected a folder of identity sub-folders)")
    identities: dict[str, list[Path]] = {}
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not folder.name.startswith("."):
            images = find_images([folder], recursive=False)
            if images:
                identities[folder.name] = images
    logger.debug("found %d identities under %s", len(identities), root)
    return identities


def split_gallery_probes(
    files_by_identity: Mapping[str, Sequence[Path]], *, min_images: int = DEFAULT_MIN_IMAGES
) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
    """The (identity, file) entries of the gallery and of the probes, per DESIGN.md's protocol.

    For each identity with at least ``min_images`` files, the first file by file name
    goes in the gallery and the others are probes; identities with fewer are left out.
    Identities come in sorted order and files by name, so every run splits alike.

    Args:
        files_by_identity: Files of each identity, such as :func:`list_identities` gives.
        min_images: The fewest files an identity needs to take part.

    Raises:
        ValueError: ``min_images`` below 2 (an identity needs a gallery file and a probe).
    """
    if min_images < 2:
        raise ValueError(f"min_images must be at least 2 (one gallery file and one probe), got {min_images}")
    gallery: list[tuple[str, Path]] = []
    probes: list[tuple[str, Path]] = []
    for identity in sorted(files_by_identity):
        files = sorted(files_by_identity[identity], key=lambda file: (file.name, str(file)))
        if len(files) >= min_images:
            gallery.append((identity, files[0]))
            probes.extend((identity, file) for file in files[1:])
    return gallery, probes


def probe_ranks(
    gallery_embeddings: ArrayLike,
    gallery_ids: Sequence[str],
    probe_embeddings: ArrayLike,
    probe_ids: Sequence[str],
) -> NDArray[np.int64]:
    """The rank (1 = best) of each probe's own identity among the gallery identities, by cosine.

    An identity's score for a probe is that of its best gallery entry, so a gallery may
    hold several embeddings per identity. Ties count against the probe: an identity
    scoring exactly as high as the right one ranks ahead of it. Compare the ranks with
    1 to get per-probe successes for :func:`group_rates`.

    Args:
        gallery_embeddings: (G, D) embeddings of the gallery entries.
        gallery_ids: The identity of each gallery entry.
        probe_embeddings: (P, D) embeddings of the probes, from the same model.
        probe_ids: The true identity of each probe; each must be in the gallery.

    Raises:
        InputError: Counts that do not match the embeddings, embeddings of different
            widths, no probes, or a probe whose identity has no gallery entry.
    """
    gallery = unit_rows(gallery_embeddings, what="gallery")
    probes = unit_rows(probe_embeddings, what="probes")
    gallery_labels, probe_labels = np.asarray(gallery_ids, dtype=str), np.asarray(probe_ids, dtype=str)
    if gallery_labels.shape != (len(gallery),) or probe_labels.shape != (len(probes),):
        raise InputError(
            "<array>",
            f"{len(gallery_labels)} gallery ids for {len(gallery)} embeddings and "
            f"{len(probe_labels)} probe ids for {len(probes)} embeddings: need one id per embedding",
        )
    if gallery.shape[1] != probes.shape[1]:
        raise InputError(
            "<array>", f"gallery embeddings are {gallery.shape[1]}-D, probes {probes.shape[1]}-D"
        )
    if probes.size == 0:
        raise InputError("<array>", "no probes to identify")
    identities, column = np.unique(gallery_labels, return_inverse=True)
    unknown = np.setdiff1d(probe_labels, identities)
    if unknown.size:
        raise InputError(
            "<array>",
            f"closed-set identification needs every probe's identity in the gallery, but "
            f"{unknown.size} of {np.unique(probe_labels).size} lack an entry (first: {str(unknown[0])!r})",
        )
    order = np.argsort(column, kind="stable")
    starts = np.flatnonzero(np.diff(column[order], prepend=-1))
    best = np.maximum.reduceat(probes @ gallery[order].T, starts, axis=1)  # (P, identities)
    own = best[np.arange(len(probes)), np.searchsorted(identities, probe_labels)]
    # Counting the own identity itself makes this 1 + the identities scoring at least as high.
    return np.asarray((best >= own[:, None]).sum(axis=1), dtype=np.int64)


def identification_report(
    gallery_embeddings: ArrayLike,
    gallery_ids: Sequence[str],
    probe_embeddings: ArrayLike,
    probe_ids: Sequence[str],
    *,
    max_rank: int = DEFAULT_MAX_RANK,
    fallbacks: int = 0,
) -> IdentificationReport:
    """Rank-1, rank-5 and the CMC curve of closed-set identification by cosine similarity.

    Args:
        gallery_embeddings: See :func:`probe_ranks`.
        gallery_ids: See :func:`probe_ranks`.
        probe_embeddings: See :func:`probe_ranks`.
        probe_ids: See :func:`probe_ranks`.
        max_rank: The longest rank the CMC curve goes to (shorter with fewer identities).
        fallbacks: Photos embedded without a detected face, copied into the report.

    Raises:
        InputError: See :func:`probe_ranks`.
        ValueError: ``max_rank`` below 1.
    """
    if max_rank < 1:
        raise ValueError(f"max_rank must be at least 1, got {max_rank}")
    ranks = probe_ranks(gallery_embeddings, gallery_ids, probe_embeddings, probe_ids)
    n_identities = len(set(gallery_ids))
    length = min(max_rank, n_identities)
    cmc = np.cumsum(np.bincount(ranks, minlength=length + 1)[1 : length + 1]) / ranks.size
    return IdentificationReport(
        rank1=float(np.mean(ranks <= 1)),
        rank5=float(np.mean(ranks <= 5)),
        cmc=tuple(float(rate) for rate in cmc),
        n_probes=int(ranks.size),
        n_identities=n_identities,
        fallbacks=fallbacks,
    )
