"""Run a PyTorch face network on aligned crops: batching, flip averaging, normalisation."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np
import torch

from veil.align import align
from veil.types import Embeddings, Face, Image

__all__ = ["TorchRecognizer"]

logger = logging.getLogger(__name__)

BATCH_SIZE = 32


class TorchRecognizer:
    """A recognizer backed by a differentiable ``torch.nn.Module``.

    Args:
        name: Registry name.
        network: Takes (N, 3, S, S) float RGB 0-255, returns (N, D) raw features.
        input_size: S.
        template: Alignment template (``veil.align.TEMPLATES``).
        margin: Alignment margin (see ``veil.align.alignment_matrix``).
        flip: Average each crop's features with its mirror image's. Costs twice
            the time and buys a few tenths of a point of verification accuracy.
    """

    def __init__(
        self,
        name: str,
        network: torch.nn.Module,
        *,
        input_size: int,
        template: str,
        margin: float,
        flip: bool = True,
    ) -> None:
        self.name = name
        self.network = network
        self.input_size = input_size
        self.template = template
        self.margin = margin
        self.flip = flip
        with torch.no_grad():
            self.dim = int(network(torch.zeros(1, 3, input_size, input_size)).shape[1])
        self._lock = threading.Lock()

    def crop(self, image: Image, face: Face) -> Image:
        """See ``Recognizer.crop``."""
        aligned = align(image, face, size=self.input_size, template=self.template, margin=self.margin)
        return aligned.crop

    def features(self, pixels: torch.Tensor, *, flip: bool | None = None) -> torch.Tensor:
        """Unit-length embeddings of (N, 3, S, S) RGB 0-255 tensors; differentiable.

        ``flip`` (default: as the recognizer was built) averages with the mirror
        image, as ``embed`` does. Cloaking passes False and mirrors a random half
        of its steps instead: the same expectation at half the cost per step.
        """
        features = self.network(pixels)
        if self.flip if flip is None else flip:
            features = features + self.network(torch.flip(pixels, dims=[3]))
        return torch.nn.functional.normalize(features, dim=1)

    def embed(self, crops: Sequence[Image]) -> Embeddings:
        """See ``Recognizer.embed``."""
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32)
        batches = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(crops), BATCH_SIZE):
                chunk = np.stack(crops[start : start + BATCH_SIZE]).astype(np.float32)
                pixels = torch.from_numpy(chunk).permute(0, 3, 1, 2)
                batches.append(self.features(pixels).numpy())
        return np.concatenate(batches).astype(np.float32)
