"""Visual quality of an edited photo against its original: SSIM, DSSIM and PSNR.

Cloaks are held to a perceptual budget and every report gives these figures, so
they are computed one way everywhere: SSIM with an 11 px Gaussian window
(sigma 1.5) on RGB 0-255, averaged over the three channels (pytorch-msssim, the
same function the cloak optimises), DSSIM = (1 - SSIM) / 2 as Fawkes defines it,
and PSNR in dB with a peak of 255.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from veil.errors import InputError
from veil.types import Box, Image

if TYPE_CHECKING:
    import torch

__all__ = ["SSIM_WINDOW", "Quality", "dssim", "psnr", "quality", "region", "region_bounds", "ssim"]

SSIM_WINDOW = 11
"""Side of the SSIM window in pixels: an image or region must be at least this large."""

_WINDOW_SIGMA = 1.5
_PEAK = 255.0
_IDENTICAL_PSNR = float("inf")


@dataclass(frozen=True, slots=True)
class Quality:
    """How much an edited photo (or a region of it) differs from the original.

    Attributes:
        ssim: Structural similarity, 1 for identical images.
        dssim: (1 - ssim) / 2: 0 for identical images; cloak budgets are in DSSIM.
        psnr: Peak signal-to-noise ratio in dB; infinite for identical images.
    """

    ssim: float
    dssim: float
    psnr: float

    def to_dict(self) -> dict[str, float | None]:
        """JSON form; an infinite PSNR (identical images) becomes None."""
        return {
            "ssim": self.ssim,
            "dssim": self.dssim,
            "psnr": self.psnr if np.isfinite(self.psnr) else None,
        }


def ssim(original: Image, edited: Image) -> float:
    """Structural similarity of two RGB ``uint8`` images of the same shape."""
    import torch
    from pytorch_msssim import ssim as msssim_ssim

    first, second = _checked_pair(original, edited)
    with torch.no_grad():
        value = msssim_ssim(
            _to_tensor(first),
            _to_tensor(second),
            data_range=_PEAK,
            win_size=SSIM_WINDOW,
            win_sigma=_WINDOW_SIGMA,
        )
    return float(value)


def dssim(original: Image, edited: Image) -> float:
    """Structural dissimilarity (1 - SSIM) / 2 of two RGB ``uint8`` images of the same shape."""
    return (1.0 - ssim(original, edited)) / 2.0


def psnr(original: Image, edited: Image) -> float:
    """Peak signal-to-noise ratio in dB (infinite when the images are identical)."""
    first, second = _checked_pair(original, edited)
    mse = float(np.mean((first.astype(np.float64) - second.astype(np.float64)) ** 2))
    return _IDENTICAL_PSNR if mse == 0 else float(10.0 * np.log10(_PEAK**2 / mse))


def quality(original: Image, edited: Image) -> Quality:
    """SSIM, DSSIM and PSNR of ``edited`` against ``original``."""
    similarity = ssim(original, edited)
    return Quality(ssim=similarity, dssim=(1.0 - similarity) / 2.0, psnr=psnr(original, edited))


def region(image: Image, box: Box, *, min_side: int = SSIM_WINDOW) -> Image:
    """The pixels of ``image`` inside ``box`` (x1, y1, x2, y2), clipped to the image.

    The region grows around its centre to at least ``min_side`` pixels a side
    (as far as the image allows), so that SSIM can be computed on small faces.
    """
    left, top, right, bottom = region_bounds(box, image.shape[:2], min_side=min_side)
    return image[top:bottom, left:right]


def region_bounds(
    box: Box, shape: tuple[int, ...], *, min_side: int = SSIM_WINDOW
) -> tuple[int, int, int, int]:
    """Whole-pixel bounds (left, top, right, bottom) that :func:`region` cuts from an image of ``shape``."""
    height, width = shape[:2]
    x1, y1, x2, y2 = box
    left, right = _span(x1, x2, width, min_side)
    top, bottom = _span(y1, y2, height, min_side)
    return left, top, right, bottom


def _span(start: float, end: float, limit: int, min_side: int) -> tuple[int, int]:
    """Integer pixel range covering [start, end), widened to ``min_side`` and kept inside [0, limit)."""
    low, high = max(0, int(np.floor(start))), min(limit, int(np.ceil(end)))
    missing = min(min_side, limit) - (high - low)
    if missing > 0:
        low = max(0, low - (missing + 1) // 2)
        high = min(limit, low + min(min_side, limit))
        low = high - min(min_side, limit)
    return low, high


def _checked_pair(original: Image, edited: Image) -> tuple[Image, Image]:
    if original.shape != edited.shape:
        raise InputError("<image>", f"cannot compare images of shapes {original.shape} and {edited.shape}")
    if original.ndim != 3 or original.shape[2] != 3:
        raise InputError("<image>", f"expected RGB images (H, W, 3), got shape {original.shape}")
    if min(original.shape[:2]) < SSIM_WINDOW:
        raise InputError(
            "<image>", f"images must be at least {SSIM_WINDOW} px a side for SSIM, got {original.shape[:2]}"
        )
    return original, edited


def _to_tensor(image: Image) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()
