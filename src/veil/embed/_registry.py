"""Recognizer registry: names to factories, one loaded instance per name and process."""

from __future__ import annotations

import functools
from collections.abc import Callable

from veil import models
from veil.embed._base import Recognizer
from veil.errors import UnknownModelError

__all__ = ["DEFAULT_RECOGNIZER", "RECOGNIZERS", "get_recognizer"]

DEFAULT_RECOGNIZER = "sface"
"""The most accurate recognizer on LFW and CelebA (``benchmarks/recognize.py``)."""

# FaceNet was trained on MTCNN boxes with a margin, not on tight landmark crops:
# a little more context than the ArcFace template gives measured best on LFW
# (98.5% at 0.1 against 98.4% at 0, 97.7% at 0.2, on pairsDevTest without flips).
FACENET_MARGIN = 0.1


def _sface() -> Recognizer:
    from veil.embed._sface_net import SFACE_INPUT_SIZE, load_sface
    from veil.embed._torch import TorchRecognizer

    network = load_sface(models.weights_path("sface"))
    return TorchRecognizer("sface", network, input_size=SFACE_INPUT_SIZE, template="arcface", margin=0.0)


def _facenet() -> Recognizer:
    from veil.embed._facenet_net import FACENET_INPUT_SIZE, load_facenet
    from veil.embed._torch import TorchRecognizer

    network = load_facenet(models.weights_path("facenet"))
    return TorchRecognizer(
        "facenet", network, input_size=FACENET_INPUT_SIZE, template="arcface", margin=FACENET_MARGIN
    )


def _dlib() -> Recognizer:
    from veil.embed._dlib import DlibRecognizer

    return DlibRecognizer(models.weights_path("dlib-resnet"), models.weights_path("dlib-5-landmarks"))


RECOGNIZERS: dict[str, Callable[[], Recognizer]] = {"sface": _sface, "facenet": _facenet, "dlib": _dlib}


@functools.cache
def get_recognizer(name: str = DEFAULT_RECOGNIZER) -> Recognizer:
    """A loaded recognizer, built on first use and reused for the rest of the process.

    Raises:
        UnknownModelError: No recognizer by that name.
        ModelNotPulledError: Its weights are not pulled yet.
    """
    if name not in RECOGNIZERS:
        raise UnknownModelError("recognizer", name, RECOGNIZERS)
    return RECOGNIZERS[name]()
