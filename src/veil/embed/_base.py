"""The recognizer protocol: aligned face crops in, unit-length embeddings out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from veil.types import Embeddings, Face, Image

__all__ = ["Recognizer"]


class Recognizer(Protocol):
    """A face recognizer with the alignment it was trained with.

    Attributes:
        name: The registry name (``veil.embed.RECOGNIZERS``).
        dim: Length of an embedding.
        input_size: Side of the square crop the network takes.
    """

    name: str
    dim: int
    input_size: int

    def crop(self, image: Image, face: Face) -> Image:
        """The face cut out of ``image`` in the pose and size this model expects."""
        ...

    def embed(self, crops: Sequence[Image]) -> Embeddings:
        """(N, dim) float32 embeddings of unit length for N crops from ``crop``."""
        ...
