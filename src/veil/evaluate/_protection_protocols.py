"""Who plays which part in the protection protocols, and who is found: names and embeddings, no model.

DESIGN.md's protocols, for a protected identity P with cloaked photos C_P, other
photos H_P, and unprotected identities U (distractors):

- *poisoning* (the platform enrols the cloaked photos): gallery = cloaked C_P of
  every P + the clean photos of U; probes = the clean H_P;
- *evasion* (the cloaked photo is searched): gallery = clean H_P + clean U;
  probes = the cloaked C_P.

Searches are closed-set and per photo, by cosine, as in identification; protection
succeeds for a probe when its rank-1 identity is not its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from veil.errors import InputError
from veil.evaluate._identification import list_identities, probe_ranks
from veil.evaluate._protection_report import CloakedPhoto

__all__ = ["PROTOCOLS", "ProtectionSplit", "protection_outcomes", "split_protection"]

logger = logging.getLogger(__name__)

PROTOCOLS = ("poisoning", "evasion")
"""The protection protocols, in the order reports list them."""


@dataclass(frozen=True, slots=True)
class ProtectionSplit:
    """Which photo plays which part in the protection protocols.

    Attributes:
        cloaked: The cloaked photos C_P of the protected identities, with their originals.
        held_out: (identity, clean photo) of each protected identity's other photos, H_P.
        distractors: (identity, clean photo) of the unprotected identities, U.
        skipped: Protected identities left out because every photo of theirs is cloaked.
    """

    cloaked: tuple[CloakedPhoto, ...]
    held_out: tuple[tuple[str, Path], ...]
    distractors: tuple[tuple[str, Path], ...]
    skipped: tuple[str, ...] = ()

    @property
    def protected(self) -> tuple[str, ...]:
        return tuple(sorted({photo.identity for photo in self.cloaked}))

    def probes(self, protocol: str) -> tuple[str, ...]:
        """The identity of each probe of ``protocol``, in the order of :func:`protection_outcomes`' flags.

        Raises:
            KeyError: Not one of :data:`PROTOCOLS`.
        """
        probes = {
            "poisoning": tuple(identity for identity, _ in self.held_out),
            "evasion": tuple(photo.identity for photo in self.cloaked),
        }
        return probes[protocol]


def split_protection(clean_dir: str | Path, cloaked_dir: str | Path) -> ProtectionSplit:
    """Pair each cloaked photo with its clean original and split the photos into C_P, H_P and U.

    Both folders hold identity sub-folders (``DIR/<identity>/<photo>``). A cloaked
    photo is paired with the clean photo of the same identity and file stem, since
    the cloak tool may save it under another suffix (``.jpg`` to ``.png``).

    Raises:
        InputError: A folder is missing; no identity has cloaked photos; a cloaked
            photo has no clean original (or two clean photos share its stem, or two
            cloaked photos share one original); every protected identity has all
            its photos cloaked; or only one identity in all.
    """
    clean_dir, cloaked_dir = Path(clean_dir), Path(cloaked_dir)
    clean, cloaked = list_identities(clean_dir), list_identities(cloaked_dir)
    if not cloaked:
        raise InputError(
            cloaked_dir,
            "no protected identity: expected identity sub-folders of cloaked photos (DIR/<id>/<photo>)",
        )
    pairs = [photo for identity in sorted(cloaked) for photo in _pair(identity, clean, cloaked[identity])]
    originals = {photo.clean for photo in pairs}
    held_out = [(i, path) for i in sorted(cloaked) for path in clean[i] if path not in originals]
    kept = {identity for identity, _ in held_out}
    skipped = tuple(sorted(set(cloaked) - kept))
    if not kept:
        raise InputError(
            cloaked_dir,
            "every photo of every protected identity is cloaked: leave some clean, to probe with "
            "(poisoning) and to enrol (evasion)",
        )
    distractors = [(i, path) for i in sorted(set(clean) - set(cloaked)) for path in clean[i]]
    if not distractors and len(kept) < 2:
        raise InputError(clean_dir, "only one identity: protection needs other people to be mistaken for")
    logger.debug(
        "%d protected identities, %d skipped, %d distractors", len(kept), len(skipped), len(distractors)
    )
    return ProtectionSplit(
        tuple(photo for photo in pairs if photo.identity in kept),
        tuple(held_out),
        tuple(distractors),
        skipped,
    )


def _pair(identity: str, clean: Mapping[str, Sequence[Path]], cloaked: Sequence[Path]) -> list[CloakedPhoto]:
    """Each cloaked photo of ``identity`` with the one clean photo of the same stem."""
    pairs: dict[Path, Path] = {}
    for path in cloaked:
        candidates = [original for original in clean.get(identity, ()) if original.stem == path.stem]
        if len(candidates) != 1:
            found = ", ".join(original.name for original in candidates) or "none"
            raise InputError(
                path,
                f"needs exactly one clean photo {identity}/{path.stem}.* (found: {found})",
            )
        if candidates[0] in pairs:
            raise InputError(
                path, f"is a second cloaked version of {candidates[0]} (the first: {pairs[candidates[0]]})"
            )
        pairs[candidates[0]] = path
    return [CloakedPhoto(identity, original, path) for original, path in pairs.items()]


def protection_outcomes(
    split: ProtectionSplit, edited: ArrayLike, held_out: ArrayLike, distractors: ArrayLike
) -> dict[str, NDArray[np.bool_]]:
    """Whether protection succeeded for each probe of both protocols, from embeddings.

    Args:
        split: Who is who, and the order of the rows below.
        edited: (len(split.cloaked), D) embeddings of the cloaked photos, or of their
            clean originals for the baseline (after any countermeasure).
        held_out: (len(split.held_out), D) embeddings of the clean H_P photos.
        distractors: (len(split.distractors), D) embeddings of the distractors' photos
            ((0, D) when there are none).

    Returns:
        ``"poisoning"``: one flag per held-out photo; ``"evasion"``: one per cloaked
        photo. A flag is True when the probe's rank-1 identity is not its own; a tie
        with another identity counts as protected (see :func:`probe_ranks`).

    Raises:
        InputError: Row counts that do not match ``split``, or embeddings of different widths.
    """
    cloaked_ids, held_ids = list(split.probes("evasion")), list(split.probes("poisoning"))
    gallery_ids = [identity for identity, _ in split.distractors]
    blocks = [np.asarray(rows, np.float64) for rows in (edited, held_out, distractors)]
    if any(block.ndim != 2 for block in blocks) or len({block.shape[1] for block in blocks}) > 1:
        shapes = ", ".join(str(block.shape) for block in blocks)
        raise InputError("<array>", f"need (N, D) embeddings of one width D, got shapes {shapes}")
    edited_rows, held_rows, other_rows = blocks
    poisoning = probe_ranks(
        np.concatenate([edited_rows, other_rows]), cloaked_ids + gallery_ids, held_rows, held_ids
    )
    evasion = probe_ranks(
        np.concatenate([held_rows, other_rows]), held_ids + gallery_ids, edited_rows, cloaked_ids
    )
    return {"poisoning": poisoning > 1, "evasion": evasion > 1}
