"""Which photos fit the maps and which test them: disjoint identities, chosen by a seed.

A map fitted on photos of the people it is then tested on would be flattered: it
could learn those people rather than the spaces. So the identities of a data set
are shuffled once; a share of those with enough photos become the test set
(DESIGN.md's identification protocol: first photo by name in the gallery, the
rest probes) and the photos of all the others are the anchors. With a second data
set (``fit_root``), the anchors come from it instead, and the test set stays the
same, so the two fits are compared on the same probes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from veil.errors import InputError
from veil.evaluate import DEFAULT_MIN_IMAGES, PhotoEmbeddings, list_identities, split_gallery_probes
from veil.types import Embeddings

__all__ = ["DEFAULT_MAX_ANCHORS", "DEFAULT_TEST_FRACTION", "CrossModelSplit", "split_crossmodel"]

logger = logging.getLogger(__name__)

DEFAULT_TEST_FRACTION = 0.4
"""Share of the identities with enough photos that are tested on. On CelebA dev (145 identities,
about 11 photos each) the others then give about 1,000 anchor photos, the issue's budget for a
fit, and 58 identities are tested."""

DEFAULT_MAX_ANCHORS = 1000
"""The most anchor photos drawn: the issue's budget for a fit."""

Entry = tuple[str, Path]
Part = Literal["gallery", "probes", "anchors"]


@dataclass(frozen=True, slots=True)
class CrossModelSplit:
    """Gallery, probes and anchors of a cross-model experiment; anchor identities are never tested.

    Attributes:
        gallery: (identity, photo) of each test identity's first photo by name.
        probes: (identity, photo) of the test identities' other photos.
        anchors: (identity, photo) of the photos to fit on, in a seeded random order:
            the first n are the anchor set of size n, so smaller sets nest in larger ones.
        anchors_from: The folder the anchors were drawn from.
    """

    gallery: tuple[Entry, ...]
    probes: tuple[Entry, ...]
    anchors: tuple[Entry, ...]
    anchors_from: Path

    @property
    def n_identities(self) -> int:
        """Test identities (gallery entries)."""
        return len(self.gallery)

    def paths(self) -> list[Path]:
        """Every photo to embed, each once: test photos first, then anchors."""
        return list(dict.fromkeys(path for _, path in (*self.gallery, *self.probes, *self.anchors)))

    def arrays(
        self, photos: PhotoEmbeddings, model: str, part: Part, *, limit: int | None = None
    ) -> Embeddings:
        """The embeddings by ``model`` of ``part`` ("gallery", "probes" or "anchors"), in order.

        Args:
            photos: Embeddings of at least :meth:`paths`, with ``model`` among their models.
            model: Whose embeddings.
            part: Which entries.
            limit: Only the first ``limit`` entries (for anchor sets of a given size).

        Raises:
            InputError: ``model`` was not embedded.
            KeyError: A photo of the split is missing from ``photos``.
        """
        if model not in photos.embeddings:
            raise InputError("<array>", f"no {model!r} embeddings (embedded: {', '.join(photos.embeddings)})")
        entries: tuple[Entry, ...] = getattr(self, part)[:limit]
        return photos.embeddings[model][photos.rows([path for _, path in entries])]

    def ids(self, part: Part) -> list[str]:
        """The identities of ``part`` ("gallery", "probes" or "anchors"), in order."""
        entries: tuple[Entry, ...] = getattr(self, part)
        return [identity for identity, _ in entries]


def split_crossmodel(
    root: str | Path,
    *,
    fit_root: str | Path | None = None,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    max_anchors: int = DEFAULT_MAX_ANCHORS,
    seed: int | np.random.Generator = 0,
) -> CrossModelSplit:
    """Split a folder of identity sub-folders into test identities and anchor photos.

    Args:
        root: The data set to test on (``celeba/images``).
        fit_root: Another data set to draw the anchors from (``lfw/images``), to
            measure how a map fitted on one data set carries to another. Names are
            not compared across data sets: the two should not share people.
        test_fraction: Share of ``root``'s identities with at least
            :data:`~veil.evaluate.DEFAULT_MIN_IMAGES` photos that are tested on.
        max_anchors: The most anchor photos to draw.
        seed: Seed or generator for the shuffles; the same seed gives the same split.

    Raises:
        InputError: A folder that is not a folder of identities, or a split that
            leaves no test identity or no anchor.
        ValueError: ``test_fraction`` outside (0, 1), or ``max_anchors`` below 2.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if max_anchors < 2:
        raise ValueError(f"max_anchors must be at least 2, got {max_anchors}")
    rng = np.random.default_rng(seed)
    identities = list_identities(root)
    eligible = [name for name, files in identities.items() if len(files) >= DEFAULT_MIN_IMAGES]
    shuffled = [eligible[i] for i in rng.permutation(len(eligible))]
    tested = set(shuffled[: round(test_fraction * len(shuffled))])
    if not tested:
        raise InputError(root, f"no identity with {DEFAULT_MIN_IMAGES}+ photos to test on")
    gallery, probes = split_gallery_probes({name: identities[name] for name in sorted(tested)})
    pool = identities if fit_root is None else list_identities(fit_root)
    candidates = [
        (name, file)
        for name, files in pool.items()
        if fit_root is not None or name not in tested
        for file in files
    ]
    if not candidates:
        raise InputError(fit_root or root, "no photos left to fit maps on")
    anchors = [candidates[i] for i in rng.permutation(len(candidates))[:max_anchors]]
    logger.info(
        "cross-model split: %d test identities, %d probes, %d anchors from %s",
        len(gallery),
        len(probes),
        len(anchors),
        fit_root or root,
    )
    return CrossModelSplit(tuple(gallery), tuple(probes), tuple(anchors), Path(fit_root or root))
