"""Attribute judges: gender, age-group and race-group heads on a recognizer's face embeddings.

A judge is one recognizer plus one small head per attribute, a multinomial
logistic regression on the unit embedding, trained on UTKFace by
``scripts/train_attributes.py`` (weights and accuracy in
``veil/models/attributes/<recognizer>.npz`` and ``.json``). Heads on different
recognizers are different judges: a perturbation optimised against the sface
and facenet judges is tested on the dlib judge, which it never saw.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from veil.attributes._classes import ATTRIBUTES, JUDGES
from veil.errors import UnknownModelError
from veil.types import Embeddings, Face, Image

if TYPE_CHECKING:
    import torch

    from veil.embed import Recognizer

__all__ = [
    "DEFAULT_JUDGE",
    "AttributeJudge",
    "AttributePrediction",
    "FaceAttributes",
    "classify_attributes",
    "get_judge",
]

DEFAULT_JUDGE = "facenet"
"""Held-back UTKFace accuracy (``veil/models/attributes/*.json``): facenet 81.5% gender, 81.0% age group,
84.0% race group; dlib reads gender best (84.5%) but is ~4x slower; sface 80.2 / 81.0 / 76.0%."""


@dataclass(frozen=True, slots=True)
class AttributePrediction:
    """What a judge reads of one attribute of one face.

    Attributes:
        attribute: A key of ``veil.attributes.ATTRIBUTES``.
        label: The most probable class name.
        confidence: Its probability.
        probabilities: Class name to probability, in the order of ``ATTRIBUTES[attribute]``.
    """

    attribute: str
    label: str
    confidence: float
    probabilities: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the CLI's ``--json`` lines and reports."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probabilities": {name: round(p, 4) for name, p in self.probabilities},
        }


@dataclass(frozen=True, slots=True)
class FaceAttributes:
    """Every attribute one judge reads from one face.

    Attributes:
        face: The face, as detected.
        judge: The judge's name (its recognizer's).
        predictions: One per attribute, in the order of ``ATTRIBUTES``.
    """

    face: Face
    judge: str
    predictions: tuple[AttributePrediction, ...]

    def label(self, attribute: str) -> str:
        """The class the judge reads for ``attribute``."""
        return next(p.label for p in self.predictions if p.attribute == attribute)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the CLI's ``--json`` lines and reports."""
        return {
            "face": self.face.to_dict(),
            "judge": self.judge,
            **{p.attribute: p.to_dict() for p in self.predictions},
        }


class AttributeJudge:
    """The attribute heads of one recognizer.

    Args:
        recognizer: The recognizer whose embeddings the heads read (``veil.embed.RECOGNIZERS``).
        heads: Attribute name to (weight (K, D), bias (K,)) of its logistic regression.
    """

    def __init__(self, recognizer: str, heads: dict[str, tuple[NDArray[np.float32], NDArray[np.float32]]]):
        self.name = recognizer
        self.heads = heads

    @property
    def recognizer(self) -> Recognizer:
        """The loaded recognizer (``veil.embed.get_recognizer``)."""
        from veil.embed import get_recognizer

        return get_recognizer(self.name)

    def probabilities(self, embeddings: Embeddings) -> dict[str, NDArray[np.float64]]:
        """Attribute name to (N, K) class probabilities for N unit embeddings of this recognizer."""
        out = {}
        for attribute, (weight, bias) in self.heads.items():
            logits = embeddings.astype(np.float64) @ weight.T.astype(np.float64) + bias
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            out[attribute] = exp / exp.sum(axis=1, keepdims=True)
        return out

    def readable(self, attribute: str) -> NDArray[np.bool_]:
        """Which classes of ``attribute`` this head can read at all.

        A class with no training example (this UTKFace copy has no one aged 45-59)
        has an all-zero weight row and a bias that keeps it from ever being
        predicted: no perturbation can make the judge read it.
        """
        weight, _ = self.heads[attribute]
        return np.asarray(np.any(weight != 0, axis=1))

    def logits(self, features: torch.Tensor, attribute: str) -> torch.Tensor:
        """(N, K) logits of ``attribute`` for (N, D) unit embeddings; differentiable."""
        import torch

        weight, bias = self.heads[attribute]
        return features @ torch.from_numpy(weight).T + torch.from_numpy(bias)

    def predict(self, embeddings: Embeddings) -> list[tuple[AttributePrediction, ...]]:
        """Each embedding's predictions, one per attribute."""
        probabilities = self.probabilities(embeddings)
        rows = []
        for row in range(len(embeddings)):
            predictions = []
            for attribute, names in ATTRIBUTES.items():
                p = probabilities[attribute][row]
                best = int(np.argmax(p))
                predictions.append(
                    AttributePrediction(
                        attribute=attribute,
                        label=names[best],
                        confidence=float(p[best]),
                        probabilities=tuple((name, float(v)) for name, v in zip(names, p, strict=True)),
                    )
                )
            rows.append(tuple(predictions))
        return rows

    def classify(self, image: Image, faces: Sequence[Face]) -> list[FaceAttributes]:
        """Every attribute of each of ``faces`` of ``image``; see ``veil.attributes.classify_attributes``."""
        recognizer = self.recognizer
        embeddings = recognizer.embed([recognizer.crop(image, face) for face in faces])
        return [
            FaceAttributes(face=face, judge=self.name, predictions=predictions)
            for face, predictions in zip(faces, self.predict(embeddings), strict=True)
        ]

    def card(self) -> dict[str, Any]:
        """How the heads were trained and their held-back accuracy (``veil/models/attributes/*.json``)."""
        text = (resources.files("veil.models") / "attributes" / f"{self.name}.json").read_text()
        card: dict[str, Any] = json.loads(text)
        return card


def readable_classes(judges: Sequence[AttributeJudge]) -> dict[str, NDArray[np.bool_]]:
    """Per attribute, the classes every one of ``judges`` can read (see ``AttributeJudge.readable``)."""
    return {
        attribute: np.logical_and.reduce([judge.readable(attribute) for judge in judges])
        for attribute in ATTRIBUTES
    }


@functools.cache
def get_judge(name: str = DEFAULT_JUDGE) -> AttributeJudge:
    """The attribute judge on recognizer ``name``, loaded once per process.

    Raises:
        UnknownModelError: No judge by that name (``veil.attributes.JUDGES``).
    """
    if name not in JUDGES:
        raise UnknownModelError("attribute judge", name, JUDGES)
    with (resources.files("veil.models") / "attributes" / f"{name}.npz").open("rb") as file:
        stored = np.load(file)
        heads = {
            attribute: (
                np.asarray(stored[f"{attribute}_weight"], np.float32),
                np.asarray(stored[f"{attribute}_bias"], np.float32),
            )
            for attribute in ATTRIBUTES
        }
    return AttributeJudge(name, heads)


def classify_attributes(
    image: Image,
    *,
    faces: Sequence[Face] | None = None,
    judge: str = DEFAULT_JUDGE,
    detector: str = "auto",
    threshold: float | None = None,
) -> list[FaceAttributes]:
    """What a judge reads from each face of a photo: gender, age group and race group, with probabilities.

    Args:
        image: RGB ``uint8`` photo.
        faces: The faces to read; None finds them with ``detector``.
        judge: Whose heads read them: ``"facenet"`` (default, see ``DEFAULT_JUDGE``),
            ``"sface"`` or ``"dlib"`` (``veil.attributes.JUDGES``). Each judge's
            held-back accuracy, overall and per group, is in ``get_judge(name).card()``.
        detector: See ``veil.detect.detect``, as is ``threshold``.
        threshold: See ``detector``.

    Returns:
        One ``FaceAttributes`` per face, in the order of ``faces`` (best detection first).

    Raises:
        UnknownModelError: An unknown judge or detector.
        ModelNotPulledError: The recognizer's weights are not pulled.
    """
    model = get_judge(judge)
    if faces is None:
        from veil.detect import detect

        faces = detect(image, detector=detector, threshold=threshold)
    if not faces:
        return []
    return model.classify(image, faces)
