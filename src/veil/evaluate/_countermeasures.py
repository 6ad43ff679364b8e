"""What a platform or an attacker does to a photo before using it, and which a cloak must survive.

Cloaks are small, high-frequency perturbations, and the cheapest ways to wash them
out are the ones every upload pipeline applies anyway: JPEG re-compression,
resizing and a little smoothing (Fawkes, section 7; Radiya-Dixit et al. 2022,
"Data poisoning won't save you from facial recognition"). The protection
protocols measure each cloak after every one of these.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import numpy as np

from veil.types import Image

__all__ = ["COUNTERMEASURES", "NO_COUNTERMEASURE"]

NO_COUNTERMEASURE = "none"
"""The name of the photo used as it is."""

_JPEG_QUALITY = 75  # the default of Pillow and of many upload pipelines
_DOWNSCALE = 0.5
_BLUR_SIGMA = 1.0


def _unchanged(image: Image) -> Image:
    return image.copy()


def _jpeg(image: Image) -> Image:
    """Encode as JPEG at quality 75 and decode again, in memory."""
    from PIL import Image as PILImage

    buffer = BytesIO()
    PILImage.fromarray(image).save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    buffer.seek(0)
    with PILImage.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.uint8)


def _downscale(image: Image) -> Image:
    """Halve the size (area averaging, as thumbnailers do) and scale back up bilinearly."""
    import cv2

    height, width = image.shape[:2]
    small_size = (max(1, round(width * _DOWNSCALE)), max(1, round(height * _DOWNSCALE)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def _blur(image: Image) -> Image:
    """Gaussian blur of sigma 1 px (the kernel size follows from sigma)."""
    import cv2

    return np.asarray(cv2.GaussianBlur(image, (0, 0), _BLUR_SIGMA), dtype=np.uint8)


COUNTERMEASURES: dict[str, Callable[[Image], Image]] = {
    NO_COUNTERMEASURE: _unchanged,
    f"jpeg{_JPEG_QUALITY}": _jpeg,
    f"downscale{_DOWNSCALE:g}": _downscale,
    f"blur{_BLUR_SIGMA:g}": _blur,
}
"""Countermeasure name to a function from an RGB ``uint8`` photo to a new one of the same shape.

``none`` (the photo as it is), ``jpeg75`` (JPEG at quality 75), ``downscale0.5``
(half size with area averaging, then back up bilinearly) and ``blur1`` (Gaussian
blur, sigma 1 px). The input is never modified.
"""
