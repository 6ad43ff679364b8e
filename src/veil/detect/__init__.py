"""Face detection: ``veil.detect(image)`` and the detectors behind it."""

from __future__ import annotations

from collections.abc import Iterable

from veil.detect._base import Detector, box_iou
from veil.detect._frames import FrameFaces, detect_animation, detect_video
from veil.detect._registry import (
    AUTO_DETECTOR,
    DEFAULT_THRESHOLDS,
    DETECTORS,
    THREADED_DETECTORS,
    check_detector,
    get_detector,
    resolve_detector,
)
from veil.types import Face, Image

__all__ = [
    "AUTO_DETECTOR",
    "DEFAULT_THRESHOLDS",
    "DETECTORS",
    "THREADED_DETECTORS",
    "Detector",
    "FrameFaces",
    "box_iou",
    "check_detector",
    "detect",
    "detect_animation",
    "detect_batch",
    "detect_video",
    "get_detector",
    "resolve_detector",
]


def detect(image: Image, *, detector: str = "auto", threshold: float | None = None) -> list[Face]:
    """Find the faces in an RGB photo, best first.

    Photos of any size work: large ones get an extra tiled pass so that their small
    faces are not lost, tiny ones are enlarged (see ``veil.detect._multiscale``).
    Finding no face is not an error: the list is empty.

    Args:
        image: RGB ``uint8`` array (H, W, 3), as ``veil.io.read_image`` returns.
        detector: ``"auto"`` (``AUTO_DETECTOR``, the best recall for its speed on the
            benchmarks), ``"yunet"`` (fast), ``"yunet-voting"`` (YuNet's boxes refined
            by box voting, anonymization's default), ``"yunet-int8"``, ``"centerface"``
            (finds smaller faces, slower), ``"dlib-hog"`` or ``"dlib-cnn"`` (very slow on a CPU).
        threshold: Minimum score; None for the detector's default (``DEFAULT_THRESHOLDS``).

    Returns:
        Faces with boxes and five landmarks in the photo's pixel coordinates.

    Raises:
        UnknownModelError: No detector by that name.
        ModelNotPulledError: Its weights are not pulled (the message names the command).
        InputError: ``image`` is not an RGB uint8 array.
    """
    return get_detector(detector, threshold=threshold).detect(_checked(image))


def detect_batch(
    images: Iterable[Image], *, detector: str = "auto", threshold: float | None = None
) -> list[list[Face]]:
    """``detect`` for many photos with one loaded detector; one list of faces per photo."""
    model = get_detector(detector, threshold=threshold)
    return [model.detect(_checked(image)) for image in images]


def _checked(image: Image) -> Image:
    from veil.io import check_image

    return check_image(image)
