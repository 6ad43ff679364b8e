"""What a platform does to an uploaded photo, as differentiable random transformations.

A cloak that only works on the exact pixels it produced is lost the moment a
site re-compresses or resizes the photo (Fawkes' best-known weakness). Robust
cloaks are optimised on the expectation over these transformations
(expectation over transformation, Athalye et al. 2018): every step sees the face
through a random one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["PlatformTransform", "sample_transform"]

JPEG_QUALITY = (50.0, 95.0)
RESIZE_FACTOR = (0.5, 1.0)
BLUR_SIGMA = (0.0, 1.0)
UNTOUCHED_CHANCE = 0.25
"""How often a step sees the face as saved: the cloak must also work without any transformation."""


@dataclass(frozen=True, slots=True)
class PlatformTransform:
    """One platform's processing: blur, then resize, then JPEG (``None`` where skipped).

    Attributes:
        blur_sigma: Gaussian blur sigma in pixels.
        resize: Scale factor (the photo is shrunk to this fraction of its size).
        jpeg_quality: JPEG quality 1-100.
    """

    blur_sigma: float | None = None
    resize: float | None = None
    jpeg_quality: float | None = None

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        """Apply to (N, 3, H, W) RGB 0-255; differentiable."""
        import kornia

        if self.blur_sigma:
            side = 2 * round(3 * self.blur_sigma) + 1
            pixels = kornia.filters.gaussian_blur2d(
                pixels, (side, side), (self.blur_sigma, self.blur_sigma), border_type="replicate"
            )
        if self.resize is not None:
            size = (
                max(8, round(pixels.shape[2] * self.resize)),
                max(8, round(pixels.shape[3] * self.resize)),
            )
            pixels = torch.nn.functional.interpolate(
                pixels, size=size, mode="bilinear", align_corners=False, antialias=True
            )
        if self.jpeg_quality is not None:
            quality = torch.tensor([self.jpeg_quality], dtype=pixels.dtype)
            unit = kornia.enhance.jpeg_codec_differentiable(pixels.clamp(0, 255) / 255.0, quality)
            pixels = unit * 255.0
        return pixels


def sample_transform(generator: torch.Generator) -> PlatformTransform:
    """A random platform: a quarter of the time none, else JPEG, resizing and slight blur, at random."""

    def uniform(low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=generator))

    if uniform(0.0, 1.0) < UNTOUCHED_CHANCE:
        return PlatformTransform()
    return PlatformTransform(
        blur_sigma=uniform(*BLUR_SIGMA),
        resize=uniform(*RESIZE_FACTOR),
        jpeg_quality=uniform(*JPEG_QUALITY),
    )
