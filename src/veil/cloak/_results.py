"""What a cloak did: the cloaked photo and a record per face (no torch needed to read them)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from veil.types import Face, Image

__all__ = ["Cloaked", "FaceCloak"]


@dataclass(frozen=True, slots=True)
class FaceCloak:
    """What cloaking did to one face.

    Attributes:
        face: The face, as detected in the original photo.
        cloaked: False when the face was too small to cloak (``MIN_FACE_SIDE``).
        window: (left, top, right, bottom): every changed pixel lies inside.
        steps: Optimisation steps taken.
        goal_reached: Whether the mode's goal held before ``max_steps``.
        dssim: DSSIM of the saved window against the original, the larger of the
            whole window's and the face box's (within the budget).
        psnr: PSNR of the saved window in dB.
        similarity: For each white-box model, the cosine between the embeddings
            of the cloaked and the original face, as ``veil.embed`` computes them.
        seconds: Time spent on this face (its share of a batch).
    """

    face: Face
    cloaked: bool
    window: tuple[int, int, int, int]
    steps: int = 0
    goal_reached: bool = False
    dssim: float = 0.0
    psnr: float = float("inf")
    similarity: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "face": self.face.to_dict(),
            "cloaked": self.cloaked,
            "window": list(self.window),
            "steps": self.steps,
            "goal_reached": self.goal_reached,
            "dssim": self.dssim,
            "psnr": self.psnr if np.isfinite(self.psnr) else None,
            "similarity": self.similarity,
            "seconds": self.seconds,
        }


@dataclass(frozen=True, slots=True)
class Cloaked:
    """A cloaked photo and what was done to each face.

    Attributes:
        image: The cloaked photo; pixels outside the face windows are the original's.
        faces: One record per face given.
        mode: The mode's name.
        budget: The DSSIM limit every face window kept to.
        models: The white-box recognizers.
        target: The identity the faces were moved towards, or None (untargeted).
    """

    image: Image
    faces: tuple[FaceCloak, ...]
    mode: str
    budget: float
    models: tuple[str, ...]
    target: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "budget": self.budget,
            "models": list(self.models),
            "target": self.target,
            "faces": [face.to_dict() for face in self.faces],
        }
