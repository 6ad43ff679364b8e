"""Target identities: who a targeted cloak makes a person look like.

Moving a face towards one other identity moves it further, and more
consistently across photos, than pushing it away from its own: every cloaked
photo of a person then teaches a recognizer the same wrong face, which is what
poisoning needs (Fawkes, Shan et al. 2020, picks the candidate identity whose
embeddings are furthest from the user's). veil does the same with the
identities the user provides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from veil.errors import InputError, VeilError
from veil.types import Embeddings

__all__ = ["Target", "choose_target", "person_embeddings"]


@dataclass(frozen=True)
class Target:
    """An identity to move faces towards.

    Attributes:
        name: The identity (its folder name).
        embeddings: Model name to the identity's unit-length centroid embedding (D,).
    """

    name: str
    embeddings: dict[str, np.ndarray]

    def check_models(self, models: Sequence[str]) -> None:
        """Raise ``VeilError`` unless the target has an embedding for each of ``models``."""
        missing = [m for m in models if m not in self.embeddings]
        if missing:
            raise VeilError(f"target {self.name!r} has no embedding for {', '.join(missing)}")


def person_embeddings(photos: Sequence[str | Path], models: Sequence[str]) -> dict[str, Embeddings]:
    """Each model's embeddings of the main face of each photo (a centred crop where none is found)."""
    from veil.evaluate import embed_photos

    return embed_photos(photos, models=models).embeddings


def choose_target(target_dir: str | Path, person: dict[str, Embeddings], models: Sequence[str]) -> Target:
    """The identity under ``target_dir`` least like ``person``.

    Args:
        target_dir: A folder of identity sub-folders (one person each), or a
            folder of photos of one person.
        person: Each model's embeddings of the person to cloak (``person_embeddings``).
        models: The white-box recognizers.

    Raises:
        InputError: ``target_dir`` holds no photos.
    """
    from veil.evaluate import embed_photos

    root = Path(target_dir)
    if not root.is_dir():
        raise InputError(root, "target folder does not exist")
    candidates = _candidates(root)
    if not candidates:
        raise InputError(root, "no photos of target identities found")
    names = list(candidates)
    photos = [p for name in names for p in candidates[name]]
    embedded = embed_photos(photos, models=models)
    centroids: dict[str, dict[str, np.ndarray]] = {name: {} for name in names}
    for model in models:
        for name in names:
            rows = embedded.embeddings[model][embedded.rows(candidates[name])]
            centroids[name][model] = _unit(rows.mean(axis=0))
    own = {model: _unit(person[model].mean(axis=0)) for model in models}
    likeness = [np.mean([centroids[name][m] @ own[m] for m in models]) for name in names]
    best = names[int(np.argmin(likeness))]
    return Target(name=best, embeddings=centroids[best])


def _candidates(root: Path) -> dict[str, list[Path]]:
    """Identity name to photos: sub-folders with photos, else the folder itself as one identity."""
    from veil.io import IMAGE_EXTENSIONS

    folders = {
        sub.name: sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        for sub in sorted(root.iterdir())
        if sub.is_dir() and not sub.name.startswith(".")
    }
    found = {name: photos for name, photos in folders.items() if photos}
    if found:
        return found
    own = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    return {root.name: own} if own else {}


def _unit(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector / max(float(np.linalg.norm(vector)), 1e-12), np.float32)
