"""Per-model score calibration and FAR thresholds, measured by ``scripts/calibrate.py``."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from veil.errors import VeilError
from veil.match._calibration import ScoreCalibrator

__all__ = ["DEFAULT_FAR", "ModelCalibration", "load_calibration"]

DEFAULT_FAR = 1e-3
"""The false accept rate whose threshold ``verify`` and ``identify`` decide at by default."""


@dataclass(frozen=True, slots=True)
class ModelCalibration:
    """What a model's cosine scores mean, measured on development data.

    Attributes:
        model: The recognizer name.
        calibrator: Maps a score to the probability that both faces are one person.
        thresholds: FAR to the score at or above which a pair is accepted.
        source: How they were measured (data set, pairs, date, command).
    """

    model: str
    calibrator: ScoreCalibrator
    thresholds: dict[float, float]
    source: dict[str, Any]

    def threshold(self, far: float) -> float:
        """The threshold for ``far``; only the measured rates are available.

        Raises:
            VeilError: ``far`` was not measured.
        """
        if far not in self.thresholds:
            measured = ", ".join(f"{f:g}" for f in sorted(self.thresholds))
            raise VeilError(f"no threshold for FAR {far:g} for model {self.model!r}; measured: {measured}")
        return self.thresholds[far]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "calibrator": self.calibrator.to_dict(),
            "thresholds": {f"{far:g}": threshold for far, threshold in sorted(self.thresholds.items())},
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCalibration:
        return cls(
            model=data["model"],
            calibrator=ScoreCalibrator.from_dict(data["calibrator"]),
            thresholds={float(far): float(t) for far, t in data["thresholds"].items()},
            source=data["source"],
        )


@functools.cache
def load_calibration(model: str) -> ModelCalibration:
    """The calibration shipped with veil for ``model`` (``veil/models/calibration/<model>.json``).

    Raises:
        VeilError: None was measured for this model.
    """
    resource = resources.files("veil.models") / "calibration" / f"{model}.json"
    if not resource.is_file():
        raise VeilError(f"no score calibration for model {model!r}; run: python scripts/calibrate.py {model}")
    return ModelCalibration.from_dict(json.loads(resource.read_text()))
