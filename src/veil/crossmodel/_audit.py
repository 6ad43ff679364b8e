"""Leak audit: how many people can an attacker identify in system B from templates leaked by system A?

The attacker holds the templates of system A (model A) and a set of anchor photos
they can embed; they fit a map from A's templates to model B (every method of
:data:`TARGET_SPACE_METHODS`, keeping the best, to favour the attacker: they search
B's gallery as any probe does, so they need maps into B's own space). A leaked database ties
each template to an account, so the attacker averages the mapped templates of each
account (here: each test identity's probes) and searches system B's gallery with
the mean. Success is the fraction of leaked people identified at rank 1, against
chance, one over the gallery's identities. Counting people, not templates, also
keeps the trials independent: one person's templates succeed or fail together, so
an interval over templates would be far too narrow (measured: BioHash templates
attacked without the key then looked "better than chance" on three of six pairs).

When A stores cancelable templates (:class:`CancelableTransform`) the attacker knows
the method (Kerckhoffs) but not the key, so they protect their anchors with a key of
their own (``knows_templates=False``). The stronger attacker who also holds A's
templates of their anchor photos (they enrolled those people in A, or stole the
key) fits on those instead (``knows_templates=True``). For unprotected templates
the two attackers are the same.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from veil.crossmodel._cancelable import DEFAULT_BITS, CancelableTransform
from veil.crossmodel._evaluate import DEFAULT_ANCHOR_COUNTS
from veil.crossmodel._maps import TARGET_SPACE_METHODS, EmbeddingMap
from veil.crossmodel._split import DEFAULT_TEST_FRACTION, CrossModelSplit, split_crossmodel
from veil.errors import VeilWarning
from veil.evaluate import PhotoEmbeddings, embed_photos, probe_ranks, wilson_interval
from veil.match import MATCH_DETECTOR
from veil.types import Embeddings, ProgressUpdate

__all__ = ["SIGNIFICANCE", "LeakAudit", "LeakPoint", "evaluate_template_leak", "leak_audit"]

logger = logging.getLogger(__name__)

SIGNIFICANCE = 0.05
"""An audit calls an attack better than chance when its corrected p-value is below this."""


@dataclass(frozen=True, slots=True)
class LeakPoint:
    """Attack success with one anchor count.

    Attributes:
        n_anchors: Anchor photos the attacker fitted on.
        rank1: Fraction of leaked people identified at rank 1 (by the best map).
        method: The map that did best.
        low: Lower end of the 95% Wilson interval of ``rank1``.
        high: Upper end.
        p_value: The chance of identifying at least as many people by guessing
            (exact binomial tail), multiplied by the number of anchor counts and
            maps the audit tried (Bonferroni, capped at 1): the best of many
            near-chance attacks does better than chance by luck alone.
    """

    n_anchors: int
    rank1: float
    method: str
    low: float
    high: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in reports."""
        return {
            "n_anchors": self.n_anchors,
            "rank1": self.rank1,
            "method": self.method,
            "low": self.low,
            "high": self.high,
            "p_value": self.p_value,
        }


@dataclass(frozen=True, slots=True)
class LeakAudit:
    """Attack success by anchor count, for one pair of systems and one kind of attacker.

    Attributes:
        source: The model of the system that leaked.
        target: The model of the system searched.
        protection: The leaked templates' protection (``"biohash-256"``), or None for
            plain embeddings.
        knows_templates: Whether the attacker fitted on the system's own templates of
            their anchors (see the module docstring).
        chance: Rank-1 of a random guess: one over the gallery's identities.
        n_leaked: Leaked people (accounts) searched.
        n_templates: Leaked templates, averaged per person.
        points: One per anchor count.
    """

    source: str
    target: str
    protection: str | None
    knows_templates: bool
    chance: float
    n_leaked: int
    n_templates: int
    points: tuple[LeakPoint, ...]

    @property
    def is_chance(self) -> bool:
        """True when no anchor count does better than chance: no p-value is below :data:`SIGNIFICANCE`."""
        return all(point.p_value >= SIGNIFICANCE for point in self.points)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``veil eval template-leak``."""
        return {
            "source": self.source,
            "target": self.target,
            "protection": self.protection,
            "knows_templates": self.knows_templates,
            "chance": self.chance,
            "is_chance": self.is_chance,
            "n_leaked": self.n_leaked,
            "n_templates": self.n_templates,
            "points": [point.to_dict() for point in self.points],
        }


def leak_audit(
    split: CrossModelSplit,
    photos: PhotoEmbeddings,
    *,
    source: str,
    target: str,
    anchor_counts: Sequence[int] = DEFAULT_ANCHOR_COUNTS,
    protection: CancelableTransform | None = None,
    knows_templates: bool = False,
    seed: int | np.random.Generator = 0,
) -> LeakAudit:
    """Attack success by anchor count: system A's templates of the probes leak; B's gallery is searched.

    Args:
        split: Leaked templates are the probes', B's gallery the gallery's, and the
            attacker's photos the anchors (:func:`split_crossmodel`).
        photos: Embeddings of ``split.paths()`` by ``source`` and ``target``.
        source: System A's model.
        target: System B's model; its gallery holds plain embeddings.
        anchor_counts: Anchor counts to try; counts above the split's anchors are left out.
        protection: System A's transform, when A stores cancelable templates.
        knows_templates: See the module docstring; only meaningful with ``protection``.
        seed: Seed or generator for the attacker's own key.

    Raises:
        InputError: A model was not embedded.
    """
    from scipy.stats import binom

    rng = np.random.default_rng(seed)
    leaked = split.arrays(photos, source, "probes")
    anchors = split.arrays(photos, source, "anchors")
    space = source
    if protection is not None:
        leaked = protection.protect(leaked, model=source)
        attacker = protection if knows_templates else _attacker_transform(protection, rng)
        anchors = attacker.protect(anchors, model=source)
        space = attacker.name
    gallery = split.arrays(photos, target, "gallery")
    counts = sorted({n for n in anchor_counts if n <= len(split.anchors)})
    tests = len(counts) * len(TARGET_SPACE_METHODS)
    chance = 1.0 / split.n_identities
    points = []
    for n in counts:
        anchor_targets = split.arrays(photos, target, "anchors", limit=n)
        found = {
            method: _attack_successes(
                EmbeddingMap(space, target, method=method),
                anchors[:n],
                anchor_targets,
                leaked,
                split,
                gallery,
            )
            for method in TARGET_SPACE_METHODS
        }
        method = max(found, key=lambda m: found[m])
        hits = found[method]
        low, high = wilson_interval(hits, split.n_identities)
        p_value = min(1.0, tests * float(binom.sf(hits - 1, split.n_identities, chance)))
        points.append(LeakPoint(n, hits / split.n_identities, method, low, high, p_value))
    label = None if protection is None else protection.scheme
    logger.info("leak audit %s -> %s (%s): %d anchor counts", source, target, label or "plain", len(points))
    return LeakAudit(
        source=source,
        target=target,
        protection=label,
        knows_templates=knows_templates and protection is not None,
        chance=chance,
        n_leaked=split.n_identities,
        n_templates=len(leaked),
        points=tuple(points),
    )


def evaluate_template_leak(
    root: str | Path,
    *,
    source: str,
    target: str,
    anchor_counts: Sequence[int] = DEFAULT_ANCHOR_COUNTS,
    protection: str | None = None,
    bits: int = DEFAULT_BITS,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    seed: int = 0,
    detector: str = MATCH_DETECTOR,
    out_dir: Path | None = None,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> list[LeakAudit]:
    """The leak audit on a folder of identity sub-folders, photos in, reports out.

    The first audit attacks plain templates. With ``protection``, two more attack
    templates protected by that method under a random key: one by an attacker
    without the key, one by an attacker who knows the templates of their anchors.
    With ``out_dir``, writes ``template_leak.json`` there.

    Args:
        root: Folder of identity sub-folders, split as :func:`split_crossmodel` does.
        source: System A's model (whose templates leak).
        target: System B's model (whose gallery is searched).
        anchor_counts: See :func:`leak_audit`.
        protection: A method of :data:`TEMPLATE_METHODS`, or None.
        bits: See :class:`CancelableTransform`.
        test_fraction: See :func:`split_crossmodel`.
        seed: Seeds the split and the keys.
        detector: The face detector.
        out_dir: Folder for the JSON report.
        progress: Called after each photo is embedded.

    Raises:
        InputError: See :func:`split_crossmodel`; a photo cannot be read.
        ValueError: An unknown protection method.
    """
    rng = np.random.default_rng(seed)
    split = split_crossmodel(root, test_fraction=test_fraction, max_anchors=max(anchor_counts), seed=rng)
    photos = embed_photos(split.paths(), models=[source, target], detector=detector, progress=progress)
    audits = [leak_audit(split, photos, source=source, target=target, anchor_counts=anchor_counts)]
    if protection is not None:
        system = CancelableTransform(rng.bytes(32), model=source, method=protection, bits=bits)
        audits.extend(
            leak_audit(
                split,
                photos,
                source=source,
                target=target,
                anchor_counts=anchor_counts,
                protection=system,
                knows_templates=knows,
                seed=rng,
            )
            for knows in (False, True)
        )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        record = {"root": str(root), "audits": [audit.to_dict() for audit in audits]}
        (out_dir / "template_leak.json").write_text(json.dumps(record, indent=2) + "\n")
    return audits


def _attacker_transform(system: CancelableTransform, rng: np.random.Generator) -> CancelableTransform:
    """The system's method and length under a key of the attacker's own."""
    return CancelableTransform(rng.bytes(32), model=system.model, method=system.method, bits=system.bits)


def _attack_successes(
    mapping: EmbeddingMap,
    anchors: Embeddings,
    anchor_targets: Embeddings,
    leaked: Embeddings,
    split: CrossModelSplit,
    gallery: Embeddings,
) -> int:
    """How many leaked people the map fitted on the anchors identifies at rank 1, from their mean template."""
    # Underdetermined least-squares fits are part of what an attacker may try; their warning is noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VeilWarning)
        mapping.fit(anchors, anchor_targets)
    # The attacker applies the map to templates of another key on purpose: that is the attack.
    mapped = mapping.transform(leaked, model=mapping.source_model)
    people, account = np.unique(split.ids("probes"), return_inverse=True)
    pooled = np.zeros((len(people), mapped.shape[1]))
    np.add.at(pooled, account, mapped)
    ranks = probe_ranks(gallery, split.ids("gallery"), pooled, list(people))
    return int(np.sum(ranks == 1))
