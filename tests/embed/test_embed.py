"""veil.embed on real faces: unit rows, stable under mirroring, and people kept apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import veil
from veil.embed import RECOGNIZERS, embed, get_recognizer
from veil.errors import UnknownModelError
from veil.match import faces_to_match

MODELS = list(RECOGNIZERS)


@pytest.mark.parametrize("model", MODELS)
def test_embeddings_are_unit_rows_of_the_model_width(astronaut: np.ndarray, model: str) -> None:
    faces = veil.detect(astronaut)
    rows = embed(astronaut, faces, model=model)
    assert rows.shape == (1, get_recognizer(model).dim) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert embed(astronaut, [], model=model).shape == (0, get_recognizer(model).dim)


@pytest.mark.parametrize("model", MODELS)
def test_a_mirrored_photo_is_the_same_person(astronaut: np.ndarray, model: str) -> None:
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    a = embed(astronaut, veil.detect(astronaut), model=model)
    b = embed(mirrored, veil.detect(mirrored), model=model)
    assert float(a[0] @ b[0]) > 0.9


@pytest.mark.data
@pytest.mark.parametrize("model", MODELS)
def test_same_person_scores_above_different_people(shared_data: Path, model: str) -> None:
    images = shared_data / "lfw" / "images"
    people = ["George_W_Bush", "Colin_Powell", "Tony_Blair"]
    vectors = {}
    for person in people:
        photos = sorted((images / person).glob("*.jpg"))[:2]
        for photo in photos:
            image = veil.read_image(photo)
            vectors[photo.name] = embed(image, faces_to_match(image), model=model)[0]
    same = [vectors[f"{p}_0001.jpg"] @ vectors[f"{p}_0002.jpg"] for p in people]
    different = [vectors[f"{a}_0001.jpg"] @ vectors[f"{b}_0001.jpg"] for a in people for b in people if a < b]
    assert min(same) > max(different)


def test_unknown_model_lists_the_known_ones(astronaut: np.ndarray) -> None:
    with pytest.raises(
        UnknownModelError, match="unknown recognizer 'arcface'; choose one of: dlib, facenet, sface"
    ):
        embed(astronaut, [], model="arcface")


def test_a_fusion_scores_the_mean_of_its_members(astronaut: np.ndarray) -> None:
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    faces, mirrored_faces = veil.detect(astronaut), veil.detect(mirrored)
    fused = embed(astronaut, faces, model="sface+facenet")
    assert fused.shape == (1, 256) and np.isclose(np.linalg.norm(fused), 1.0, atol=1e-5)
    scores = {
        model: float(
            embed(astronaut, faces, model=model)[0] @ embed(mirrored, mirrored_faces, model=model)[0]
        )
        for model in ("sface", "facenet", "sface+facenet")
    }
    assert np.isclose(scores["sface+facenet"], (scores["sface"] + scores["facenet"]) / 2, atol=1e-5)
