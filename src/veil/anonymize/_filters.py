"""Obfuscation filters: what replaces the pixels of a face."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from veil.types import Image

__all__ = ["FILTERS", "gaussian", "pixelate", "solid"]

Filter = Callable[[Image, float], Image]
"""Takes a face region (H, W, 3) and a strength, returns the obfuscated region of the same shape."""

SOLID_COLOUR = (0, 0, 0)


def gaussian(region: Image, strength: float) -> Image:
    """Gaussian blur with sigma ``strength`` times the region's size.

    Blurring a small copy and enlarging it gives the same look as a huge kernel at
    a fraction of the cost, so large faces blur as fast as small ones.
    """
    import cv2

    height, width = region.shape[:2]
    sigma = max(strength * max(height, width), 0.5)
    shrink = max(1.0, sigma / 4)  # keep at least 4 px of sigma in the small copy
    small_size = (max(1, round(width / shrink)), max(1, round(height / shrink)))
    small = cv2.resize(region, small_size, interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma / shrink, borderType=cv2.BORDER_REFLECT)
    return np.asarray(cv2.resize(blurred, (width, height), interpolation=cv2.INTER_LINEAR), np.uint8)


def pixelate(region: Image, strength: float) -> Image:
    """Square blocks of ``strength`` times the region's size, each its mean colour."""
    import cv2

    height, width = region.shape[:2]
    block = max(strength * max(height, width), 1.0)
    small_size = (max(1, round(width / block)), max(1, round(height / block)))
    small = cv2.resize(region, small_size, interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST), np.uint8)


def solid(region: Image, strength: float) -> Image:
    """A flat colour (``SOLID_COLOUR``); ``strength`` is ignored."""
    return np.full_like(region, SOLID_COLOUR)


FILTERS: dict[str, Filter] = {"gaussian": gaussian, "pixelate": pixelate, "solid": solid}
