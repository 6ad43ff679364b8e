"""Calibrated verification and identification on real photos, through the public API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import veil
from veil.embed import RECOGNIZERS
from veil.errors import NoFaceError, VeilWarning
from veil.match import Gallery, enroll, identify, load_calibration, verify


@pytest.mark.parametrize("model", list(RECOGNIZERS))
def test_every_model_has_a_measured_calibration(model: str) -> None:
    calibration = load_calibration(model)
    assert set(calibration.thresholds) == {1e-2, 1e-3, 1e-4}
    # A stricter false accept rate needs a higher score.
    assert calibration.thresholds[1e-2] < calibration.thresholds[1e-3] < calibration.thresholds[1e-4]
    probabilities = calibration.calibrator.predict_proba([-0.2, calibration.thresholds[1e-3], 0.95])
    assert probabilities[0] < 0.05 and probabilities[2] > 0.95
    assert calibration.source["impostor_pairs"] >= 10 / 1e-4


def _lfw(shared_data: Path, person: str, number: int) -> np.ndarray:
    return veil.read_image(shared_data / "lfw" / "images" / person / f"{person}_{number:04d}.jpg")


@pytest.mark.data
@pytest.mark.parametrize("model", list(RECOGNIZERS))
def test_verify_says_same_and_different(shared_data: Path, model: str) -> None:
    same = verify(_lfw(shared_data, "Colin_Powell", 1), _lfw(shared_data, "Colin_Powell", 2), model=model)
    different = verify(_lfw(shared_data, "Colin_Powell", 1), _lfw(shared_data, "Tony_Blair", 1), model=model)
    assert same.is_same and same.probability > 0.5 and same.score >= same.threshold
    assert not different.is_same and different.probability < 0.5
    assert same.to_dict()["model"] == model and same.far == 1e-3


@pytest.mark.data
def test_enroll_then_identify(shared_data: Path) -> None:
    gallery = Gallery("sface", 128)
    for person in ("Colin_Powell", "Tony_Blair", "Gerhard_Schroeder"):
        enroll(gallery, person, [_lfw(shared_data, person, 1), _lfw(shared_data, person, 2)])
    assert gallery.names() == ["Colin_Powell", "Gerhard_Schroeder", "Tony_Blair"] and len(gallery) == 6
    (result,) = identify(_lfw(shared_data, "Tony_Blair", 3), gallery)
    assert result.name == "Tony_Blair" and result.matches[0].name == "Tony_Blair"
    (stranger,) = identify(_lfw(shared_data, "George_W_Bush", 1), gallery)
    assert stranger.name is None  # open set: the nearest enrolled person is not accepted


def test_a_photo_without_a_face_is_a_clear_error(astronaut: np.ndarray) -> None:
    sky = np.full((300, 300, 3), (120, 170, 230), np.uint8)
    with pytest.raises(NoFaceError, match=r"^sky.png: no face found"):
        verify(astronaut, sky, sources=("astronaut.png", "sky.png"))
    with pytest.warns(VeilWarning, match="using a centred crop"):
        result = verify(astronaut, sky, allow_fallback=True)
    assert not result.is_same
