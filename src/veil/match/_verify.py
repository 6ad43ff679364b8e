"""Verification (1:1) and identification (1:N) of photos, with calibrated decisions."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from veil.align import centred_face
from veil.detect import detect
from veil.embed import DEFAULT_RECOGNIZER, embed
from veil.errors import NoFaceError, VeilWarning
from veil.match._gallery import Gallery, Match
from veil.match._thresholds import DEFAULT_FAR, load_calibration
from veil.types import Embeddings, Face, Image

__all__ = [
    "MATCH_DETECTOR",
    "Identification",
    "Verification",
    "enroll",
    "faces_to_match",
    "identify",
    "verify",
]

logger = logging.getLogger(__name__)

MATCH_DETECTOR = "centerface"
"""The detector whose landmarks align faces for matching. CenterFace's landmarks
measured better than YuNet's for recognition (LFW View 1 DevTest, SFace with
flip averaging: 99.1% against 98.9%), which is worth its extra ~30 ms a photo;
anonymization keeps a faster one (``veil.anonymize.DEFAULT_DETECTOR``)."""


@dataclass(frozen=True, slots=True)
class Verification:
    """Whether two faces are the same person.

    Attributes:
        score: Cosine similarity of the embeddings, in [-1, 1].
        probability: Calibrated probability that they are one person.
        threshold: The score at or above which pairs are accepted at ``far``.
        far: The false accept rate the decision is made at.
        is_same: ``score >= threshold``.
        model: The recognizer.
    """

    score: float
    probability: float
    threshold: float
    far: float
    is_same: bool
    model: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "probability": round(self.probability, 4),
            "threshold": round(self.threshold, 4),
            "far": self.far,
            "is_same": self.is_same,
            "model": self.model,
        }


@dataclass(frozen=True, slots=True)
class Identification:
    """Who one face in a photo is, among a gallery's people.

    Attributes:
        face: The face searched for.
        matches: The closest gallery entries, best first, with their scores.
        probabilities: Calibrated same-person probability of each match.
        threshold: Score needed to accept a match at ``far``.
        far: The false accept rate of the decision.
        name: The best match's name if it passes the threshold, else None (unknown).
    """

    face: Face
    matches: tuple[Match, ...]
    probabilities: tuple[float, ...]
    threshold: float
    far: float
    name: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "face": self.face.to_dict(),
            "name": self.name,
            "threshold": round(self.threshold, 4),
            "far": self.far,
            "matches": [
                {**match.to_dict(), "probability": round(p, 4)}
                for match, p in zip(self.matches, self.probabilities, strict=True)
            ],
        }


def faces_to_match(
    image: Image,
    *,
    detector: str = MATCH_DETECTOR,
    all_faces: bool = False,
    allow_fallback: bool = False,
    source: str = "<array>",
) -> list[Face]:
    """The faces of a photo to verify, enroll or identify: the largest one, or all of them.

    Args:
        image: The RGB photo.
        detector: See ``veil.detect``.
        all_faces: Every face, largest first, instead of only the largest.
        allow_fallback: With no face found, use a centred crop (``veil.align.centred_face``)
            and warn, instead of raising.
        source: Name of the photo in error messages (its path).

    Raises:
        NoFaceError: No face was found and ``allow_fallback`` is False.
    """
    faces = sorted(detect(image, detector=detector), key=lambda f: f.width * f.height, reverse=True)
    if faces:
        return faces if all_faces else faces[:1]
    if not allow_fallback:
        raise NoFaceError(source, "no face found (use allow_fallback / --allow-fallback for a centred crop)")
    warnings.warn(f"{source}: no face found; using a centred crop", VeilWarning, stacklevel=2)
    return [centred_face(image)]


def verify(
    image_a: Image,
    image_b: Image,
    *,
    model: str = DEFAULT_RECOGNIZER,
    far: float = DEFAULT_FAR,
    detector: str = MATCH_DETECTOR,
    allow_fallback: bool = False,
    sources: tuple[str, str] = ("first photo", "second photo"),
) -> Verification:
    """Decide whether the largest faces of two photos are the same person.

    The decision uses the threshold measured for ``model`` at ``far`` (see
    ``scripts/calibrate.py``), and the probability its score calibration.
    ``sources`` name the photos in error messages (their paths).

    Raises:
        NoFaceError: A photo has no face and ``allow_fallback`` is False.
        VeilError: ``far`` is not one of the measured rates (1e-2, 1e-3, 1e-4).
    """
    calibration = load_calibration(model)
    threshold = calibration.threshold(far)
    (face_a,) = faces_to_match(image_a, detector=detector, allow_fallback=allow_fallback, source=sources[0])
    (face_b,) = faces_to_match(image_b, detector=detector, allow_fallback=allow_fallback, source=sources[1])
    score = float(embed(image_a, [face_a], model=model)[0] @ embed(image_b, [face_b], model=model)[0])
    probability = float(calibration.calibrator.predict_proba([score])[0])
    return Verification(score, probability, threshold, far, score >= threshold, model)


def enroll(
    gallery: Gallery,
    name: str,
    images: Sequence[Image],
    *,
    detector: str = MATCH_DETECTOR,
    allow_fallback: bool = False,
    metadata: dict[str, str] | None = None,
    sources: Sequence[str] | None = None,
) -> list[int]:
    """Add a person to ``gallery`` from photos of them (the largest face of each).

    ``sources`` name the photos in error messages (their paths); nothing is added
    unless every photo has a face.

    Raises:
        NoFaceError: A photo has no face and ``allow_fallback`` is False.
        ModelMismatchError: Never for a gallery made by veil: the gallery's own model is used.
    """
    embeddings: list[Embeddings] = []
    names = sources or [f"photo {index + 1}" for index in range(len(images))]
    for image, source in zip(images, names, strict=True):
        faces = faces_to_match(image, detector=detector, allow_fallback=allow_fallback, source=source)
        embeddings.append(embed(image, faces, model=gallery.model))
    return gallery.add(name, np.concatenate(embeddings), model=gallery.model, metadata=metadata)


def identify(
    image: Image,
    gallery: Gallery,
    *,
    top_k: int = 5,
    far: float = DEFAULT_FAR,
    detector: str = MATCH_DETECTOR,
    all_faces: bool = False,
    allow_fallback: bool = False,
    source: str = "<array>",
) -> list[Identification]:
    """Search ``gallery`` for the largest face of a photo (or every face), with calibrated decisions.

    A face is named only when its best match reaches the threshold for ``far``;
    otherwise ``name`` is None: an open-set search says "unknown" rather than
    the nearest stranger. ``source`` names the photo in error messages.

    Raises:
        NoFaceError: The photo has no face and ``allow_fallback`` is False.
    """
    calibration = load_calibration(gallery.model)
    threshold = calibration.threshold(far)
    faces = faces_to_match(
        image, detector=detector, all_faces=all_faces, allow_fallback=allow_fallback, source=source
    )
    results = []
    for face, matches in zip(
        faces, gallery.search(embed(image, faces, model=gallery.model), top_k=top_k), strict=True
    ):
        probabilities = (
            calibration.calibrator.predict_proba([m.score for m in matches]).tolist() if matches else []
        )
        name = matches[0].name if matches and matches[0].score >= threshold else None
        results.append(
            Identification(face, tuple(matches), tuple(float(p) for p in probabilities), threshold, far, name)
        )
    return results
