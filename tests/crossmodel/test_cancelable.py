"""Cancelable templates: reproducible under one key, unlinkable across keys, revocable, stable."""

from __future__ import annotations

import numpy as np
import pytest

from veil.crossmodel import TEMPLATE_METHODS, CancelableTransform
from veil.errors import InputError, ModelMismatchError
from veil.match import Gallery, generate_key

KEY_A, KEY_B = b"a" * 32, b"b" * 32


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def embeddings() -> np.ndarray:
    return unit(np.random.default_rng(3).standard_normal((200, 128))).astype(np.float32)


@pytest.mark.parametrize("method", TEMPLATE_METHODS)
def test_one_key_gives_the_same_unit_templates(embeddings: np.ndarray, method: str) -> None:
    first = CancelableTransform(KEY_A, model="sface", method=method).protect(embeddings, model="sface")
    again = CancelableTransform(KEY_A, model="sface", method=method).protect(embeddings, model="sface")
    np.testing.assert_array_equal(first, again)
    assert first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)


def test_biohash_templates_are_signs_whose_agreement_tracks_the_angle(embeddings: np.ndarray) -> None:
    transform = CancelableTransform(KEY_A, model="sface", bits=512)
    templates = transform.protect(embeddings, model="sface")
    assert templates.shape == (200, 512)
    np.testing.assert_allclose(np.abs(templates), 1 / np.sqrt(512))
    # Charikar: two codes agree on 1 - angle / pi of their bits, so template cosines follow embedding cosines.
    rng = np.random.default_rng(4)
    near = unit(embeddings + 0.6 * rng.standard_normal(embeddings.shape) / np.sqrt(128))
    angle = np.arccos(np.clip(np.sum(embeddings * near, axis=1), -1, 1))
    agreement = (1 + np.sum(templates * transform.protect(near, model="sface"), axis=1)) / 2
    np.testing.assert_allclose(agreement.mean(), 1 - angle.mean() / np.pi, atol=0.01)


def test_rotation_keeps_every_cosine(embeddings: np.ndarray) -> None:
    templates = CancelableTransform(KEY_A, model="sface", method="rotation").protect(
        embeddings, model="sface"
    )
    np.testing.assert_allclose(templates @ templates.T, embeddings @ embeddings.T, atol=1e-5)


@pytest.mark.parametrize("method", TEMPLATE_METHODS)
def test_two_keys_give_unrelated_templates_of_the_same_face(embeddings: np.ndarray, method: str) -> None:
    a = CancelableTransform(KEY_A, model="sface", method=method).protect(embeddings, model="sface")
    b = CancelableTransform(KEY_B, model="sface", method=method).protect(embeddings, model="sface")
    same_face = np.sum(a * b, axis=1)
    # Independent directions: cosines of mean 0 and spread 1 / sqrt(width), as for two strangers.
    assert abs(same_face.mean()) < 0.02
    assert same_face.std() < 2 / np.sqrt(a.shape[1])


def test_one_key_gives_unrelated_transforms_for_two_models(embeddings: np.ndarray) -> None:
    a = CancelableTransform(KEY_A, model="sface").protect(embeddings, model="sface")
    b = CancelableTransform(KEY_A, model="dlib").protect(embeddings, model="dlib")
    assert abs(np.sum(a * b, axis=1).mean()) < 0.02


def test_a_revoked_template_no_longer_matches_in_a_gallery(embeddings: np.ndarray) -> None:
    old = CancelableTransform(KEY_A, model="sface")
    new = CancelableTransform(KEY_B, model="sface")
    people = Gallery(new.name, new.bits)
    people.add("ann", new.protect(embeddings[:1], model="sface"), model=new.name)
    people.add("bob", new.protect(embeddings[1:2], model="sface"), model=new.name)
    assert people.search(new.protect(embeddings[:1], model="sface"), model=new.name)[0][
        0
    ].score == pytest.approx(1)
    with pytest.raises(ModelMismatchError):  # the gallery knows the key by its id and refuses the old one
        people.search(old.protect(embeddings[:1], model="sface"), model=old.name)
    stolen = people.search(old.protect(embeddings[:1], model="sface"))[0][0]
    assert stolen.score < 0.3


def test_the_name_tells_keys_apart_without_showing_them() -> None:
    key = generate_key()
    transform = CancelableTransform(key, model="sface", bits=128)
    recognizer, method, key_id = transform.name.split("/")
    assert (recognizer, method) == ("sface", "biohash-128")
    assert key_id not in key and len(key_id) == 8
    assert CancelableTransform(key, model="sface", bits=128).name == transform.name
    assert CancelableTransform(generate_key(), model="sface", bits=128).name != transform.name
    assert key not in repr(transform)


def test_templates_are_remade_identically_by_later_versions() -> None:
    # The key is stretched by SHAKE-256, not by NumPy's generators: these bits must never change.
    embedding = np.arange(1, 129, dtype=np.float64)[None] % 7 - 3
    template = CancelableTransform(b"k" * 32, model="sface", bits=64).protect(embedding, model="sface")
    bits = "".join("1" if value > 0 else "0" for value in template[0])
    assert bits == "0110000101111000101110111011101111001101001000101100110000000101"


def test_misuse_is_refused(embeddings: np.ndarray) -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        CancelableTransform(b"short", model="sface")
    with pytest.raises(ValueError, match="unknown template method"):
        CancelableTransform(KEY_A, model="sface", method="xor")
    with pytest.raises(ValueError, match="bits must be at least 1"):
        CancelableTransform(KEY_A, model="sface", bits=0)
    with pytest.raises(InputError, match="protects 'sface' embeddings, not 'dlib'"):
        CancelableTransform(KEY_A, model="sface").protect(embeddings, model="dlib")
