"""The results of the protection protocols: rates per recognizer, protocol and countermeasure, and quality.

Kept apart from the protocols themselves so that the card (``_protection_card``)
and the command can read a report without loading any model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veil.evaluate._fairness import GroupRate
from veil.quality import Quality
from veil.types import Box

__all__ = ["CloakedPhoto", "PhotoQuality", "ProtectionRate", "ProtectionReport", "QualitySummary"]


@dataclass(frozen=True, slots=True)
class CloakedPhoto:
    """A cloaked photo of a protected identity and the clean photo it was made from."""

    identity: str
    clean: Path
    cloaked: Path


@dataclass(frozen=True, slots=True)
class ProtectionRate:
    """How often a cloak defeats one recognizer in one protocol, beside the rate without it.

    Attributes:
        recognizer: The recognizer's registry name.
        is_white_box: The cloak was made with this recognizer (a black-box one
            measures how well the cloak transfers to models its maker never saw).
        protocol: ``"poisoning"`` or ``"evasion"`` (see :func:`evaluate_protection`).
        countermeasure: What was done to the photos before use (``COUNTERMEASURES``).
        n_probes: Probes searched.
        n_protected: Probes whose rank-1 identity was not their own, with the cloak.
        n_baseline: The same with the clean photos in place of the cloaked ones.
        by_group: Group column to the cloaked rate in each group (with ``--groups``).
        baseline_by_group: Group column to the baseline rate in each group.
    """

    recognizer: str
    is_white_box: bool
    protocol: str
    countermeasure: str
    n_probes: int
    n_protected: int
    n_baseline: int
    by_group: dict[str, tuple[GroupRate, ...]] = field(default_factory=dict)
    baseline_by_group: dict[str, tuple[GroupRate, ...]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Protection success rate: the fraction of probes not identified, with the cloak."""
        return self.n_protected / self.n_probes

    @property
    def baseline(self) -> float:
        """The success rate with no cloak: how often the recognizer misses the person anyway."""
        return self.n_baseline / self.n_probes

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in ``protection.json`` and ``--json``."""
        return {
            "recognizer": self.recognizer,
            "white_box": self.is_white_box,
            "protocol": self.protocol,
            "countermeasure": self.countermeasure,
            "n_probes": self.n_probes,
            "rate": self.rate,
            "baseline": self.baseline,
            "by_group": _groups_dict(self.by_group),
            "baseline_by_group": _groups_dict(self.baseline_by_group),
        }


@dataclass(frozen=True, slots=True)
class PhotoQuality:
    """How visible the cloak is on one photo: the cloaked photo against its clean original.

    Attributes:
        photo: The pair compared.
        face_box: The region called the face: the main face detected in the clean
            photo (a centred square when none was found), in its pixels.
        whole: SSIM, DSSIM and PSNR over the whole photo (None with ``error``).
        face: The same over ``face_box`` (None with ``error``).
        error: Why the pair could not be compared (photos of different shapes).
    """

    photo: CloakedPhoto
    face_box: Box
    whole: Quality | None
    face: Quality | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": self.photo.identity,
            "clean": str(self.photo.clean),
            "cloaked": str(self.photo.cloaked),
            "face_box": [round(value, 1) for value in self.face_box],
            "whole": self.whole.to_dict() if self.whole else None,
            "face": self.face.to_dict() if self.face else None,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class QualitySummary:
    """The quality of many cloaked photos at once: the figures a cloak's budget is judged by.

    Attributes:
        n_photos: Photos summarised.
        mean_dssim: Mean DSSIM (0 for identical photos).
        max_dssim: The largest DSSIM: the most visible cloak.
        mean_psnr: Mean PSNR in dB (infinite when every photo is identical).
    """

    n_photos: int
    mean_dssim: float
    max_dssim: float
    mean_psnr: float

    @classmethod
    def of(cls, qualities: Sequence[Quality]) -> QualitySummary | None:
        """The summary of ``qualities``; None when there are none."""
        if not qualities:
            return None
        dssims = [q.dssim for q in qualities]
        return cls(
            n_photos=len(qualities),
            mean_dssim=math.fsum(dssims) / len(dssims),
            max_dssim=max(dssims),
            mean_psnr=math.fsum(q.psnr for q in qualities) / len(qualities),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form; an infinite PSNR becomes None, as in :meth:`veil.quality.Quality.to_dict`."""
        return {
            "n_photos": self.n_photos,
            "mean_dssim": self.mean_dssim,
            "max_dssim": self.max_dssim,
            "mean_psnr": self.mean_psnr if math.isfinite(self.mean_psnr) else None,
        }


@dataclass(frozen=True, slots=True)
class ProtectionReport:
    """Everything the protection protocols measured on a clean folder and its cloaked copy.

    Attributes:
        rates: One entry per recognizer, protocol and countermeasure.
        photos: The quality of each cloaked photo.
        protected: The protected identities that took part.
        skipped: Protected identities left out: every photo was cloaked, so none
            was left to probe with (poisoning) or to enrol clean (evasion).
        n_distractors: Unprotected identities in the galleries.
        fallbacks: Photos embedded from a centred crop because no face was found,
            by variant (``"clean:none"``: every clean photo; ``"cloaked:jpeg75"``:
            the cloaked photos after JPEG; ...). A cloak that hides the face from
            the detector shows up here.
    """

    rates: tuple[ProtectionRate, ...]
    photos: tuple[PhotoQuality, ...]
    protected: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    n_distractors: int = 0
    fallbacks: dict[str, int] = field(default_factory=dict)

    def rate(self, recognizer: str, protocol: str, countermeasure: str) -> ProtectionRate:
        """The entry of one recognizer, protocol and countermeasure.

        Raises:
            KeyError: It was not measured.
        """
        for entry in self.rates:
            if (entry.recognizer, entry.protocol, entry.countermeasure) == (
                recognizer,
                protocol,
                countermeasure,
            ):
                return entry
        raise KeyError(f"no rate for {recognizer} / {protocol} / {countermeasure} in this report")

    @property
    def whole_quality(self) -> QualitySummary | None:
        """Quality over whole photos, of the pairs that could be compared."""
        return QualitySummary.of([p.whole for p in self.photos if p.whole is not None])

    @property
    def face_quality(self) -> QualitySummary | None:
        """Quality over the face regions, of the pairs that could be compared."""
        return QualitySummary.of([p.face for p in self.photos if p.face is not None])

    @property
    def errors(self) -> tuple[PhotoQuality, ...]:
        """The pairs that could not be compared (cloaked photo of another shape)."""
        return tuple(p for p in self.photos if p.error is not None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, written as ``protection.json`` and printed by ``--json``."""
        whole, face = self.whole_quality, self.face_quality
        return {
            "protected": list(self.protected),
            "skipped": list(self.skipped),
            "n_distractors": self.n_distractors,
            "fallbacks": self.fallbacks,
            "rates": [entry.to_dict() for entry in self.rates],
            "quality": {
                "whole": whole.to_dict() if whole else None,
                "face": face.to_dict() if face else None,
                "errors": [f"{p.photo.cloaked}: {p.error}" for p in self.errors],
            },
            "photos": [photo.to_dict() for photo in self.photos],
        }


def _groups_dict(by_group: dict[str, tuple[GroupRate, ...]]) -> dict[str, list[dict[str, Any]]]:
    return {column: [rate.to_dict() for rate in rates] for column, rates in by_group.items()}
