"""Detector registry: names to factories, with one loaded instance per (name, threshold)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from veil import models
from veil.detect._base import Detector
from veil.errors import UnknownModelError, VeilError

__all__ = [
    "AUTO_DETECTOR",
    "DEFAULT_THRESHOLDS",
    "DETECTORS",
    "THREADED_DETECTORS",
    "check_detector",
    "get_detector",
    "resolve_detector",
]

AUTO_DETECTOR = "yunet"
"""What ``detector="auto"`` means; chosen by ``benchmarks/detect.py`` (see the README)."""

DEFAULT_THRESHOLDS: dict[str, float] = {
    "yunet": 0.5,
    "yunet-voting": 0.5,
    "yunet-int8": 0.5,
    "centerface": 0.4,
    "dlib-hog": 0.2,
    "dlib-cnn": 0.0,
}
"""Default ``threshold`` of each detector, chosen on the dlib_faces boxes (benchmarks/detect.py)."""


def _yunet(min_score: float) -> Detector:
    from veil.detect._yunet import YuNet  # onnxruntime is imported only when a detector is asked for

    return YuNet(models.weights_path("yunet"), name="yunet", min_score=min_score)


def _yunet_voting(min_score: float) -> Detector:
    from veil.detect._yunet import YuNet

    return YuNet(models.weights_path("yunet"), name="yunet-voting", min_score=min_score, box_voting=True)


def _yunet_int8(min_score: float) -> Detector:
    from veil.detect._yunet import OpenCVYuNet

    return OpenCVYuNet(models.weights_path("yunet-int8"), name="yunet-int8", min_score=min_score)


def _centerface(min_score: float) -> Detector:
    from veil.detect._centerface import CenterFace

    return CenterFace(models.weights_path("centerface"), name="centerface", min_score=min_score)


def _dlib_hog(min_score: float) -> Detector:
    from veil.detect._dlib import DlibDetector

    return DlibDetector(models.weights_path("dlib-68-landmarks"), name="dlib-hog", min_score=min_score)


def _dlib_cnn(min_score: float) -> Detector:
    from veil.detect._dlib import DlibDetector

    return DlibDetector(
        models.weights_path("dlib-68-landmarks"),
        name="dlib-cnn",
        min_score=min_score,
        cnn_weights=models.weights_path("dlib-cnn"),
    )


DETECTORS: dict[str, Callable[[float], Detector]] = {
    "yunet": _yunet,
    "yunet-voting": _yunet_voting,
    "yunet-int8": _yunet_int8,
    "centerface": _centerface,
    "dlib-hog": _dlib_hog,
    "dlib-cnn": _dlib_cnn,
}


THREADED_DETECTORS = frozenset({"yunet", "yunet-voting"})
"""Detectors one loaded instance of which serves many threads at once, with the GIL released (onnxruntime).

OpenCV's and dlib's networks run one call at a time per model, so work on them
gains more from processes.
"""


def resolve_detector(name: str) -> str:
    """The detector ``name`` stands for: ``"auto"``, alone or in a union, becomes ``AUTO_DETECTOR``.

    What manifests and reports record, so that they say which detector really ran.
    """
    return "+".join(AUTO_DETECTOR if part == "auto" else part for part in name.split("+"))


def check_detector(name: str, threshold: float | None = None) -> None:
    """Refuse an unknown detector or a threshold outside [0, 1] without loading anything.

    For jobs, so that bad options stop them at the start instead of failing every file.

    Raises:
        UnknownModelError: A name (or a part of a union) that is no detector.
        VeilError: ``threshold`` outside [0, 1] (scores are probabilities: above 1
            nothing is found, and a blur would hide nothing).
    """
    if threshold is not None and not 0 <= threshold <= 1:
        raise VeilError(f"the detection threshold must be between 0 and 1, got {threshold}")
    for part in name.split("+"):
        if part != "auto" and part not in DETECTORS:
            raise UnknownModelError("detector", part, [*DETECTORS, "auto"])


def get_detector(name: str = "auto", *, threshold: float | None = None) -> Detector:
    """A loaded detector, built on first use and reused for the rest of the process.

    Args:
        name: A key of ``DETECTORS``, ``"auto"`` for ``AUTO_DETECTOR``, or a union of
            keys joined by ``+`` (``"yunet+centerface"``): every face any of them finds.
        threshold: Minimum detection score; None for the detector's entry in
            ``DEFAULT_THRESHOLDS``. Lower finds more faces and more false ones.
            For a union, it applies to every member.

    Raises:
        UnknownModelError: No detector by that name.
        ModelNotPulledError: Its weights are not pulled yet.
        VeilError: ``threshold`` outside [0, 1] (see ``check_detector``).
    """
    check_detector(name, threshold)
    if "+" in name:
        from veil.detect._union import UnionDetector

        return UnionDetector([get_detector(part, threshold=threshold) for part in name.split("+")])
    resolved = AUTO_DETECTOR if name == "auto" else name
    return _load(resolved, DEFAULT_THRESHOLDS[resolved] if threshold is None else float(threshold))


@functools.cache
def _load(name: str, min_score: float) -> Detector:
    return DETECTORS[name](min_score)
