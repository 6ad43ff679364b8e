"""Gallery migration: a gallery of model a becomes one of model b that still finds its people."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from veil.crossmodel import MIGRATED_FROM, EmbeddingMap, migrate_gallery
from veil.errors import ModelMismatchError
from veil.match import Gallery, generate_key


@pytest.fixture
def gallery_a(world) -> Gallery:
    people = Gallery("a", 32, index="hnsw")
    vectors = world.split.arrays(world.photos, "a", "gallery")
    for (identity, path), vector in zip(world.split.gallery, vectors, strict=True):
        people.add(identity, vector[None], model="a", metadata={"source": path.name})
    return people


@pytest.fixture
def a_to_b(world) -> EmbeddingMap:
    split, photos = world.split, world.photos
    return EmbeddingMap("a", "b").fit(
        split.arrays(photos, "a", "anchors"), split.arrays(photos, "b", "anchors")
    )


def test_a_migrated_gallery_finds_people_from_the_new_models_embeddings(
    world,
    gallery_a: Gallery,
    a_to_b: EmbeddingMap,
) -> None:
    migrated = migrate_gallery(gallery_a, a_to_b)
    assert (migrated.model, migrated.dim, migrated.index, len(migrated)) == ("b", 32, "hnsw", 20)
    assert migrated.names() == gallery_a.names()
    probes = world.split.arrays(world.photos, "b", "probes")
    found = [matches[0].name for matches in migrated.search(probes, top_k=1, model="b")]
    assert np.mean(np.array(found) == np.array(world.split.ids("probes"))) > 0.9
    best = migrated.search(probes[:1], top_k=1)[0][0]
    assert best.metadata["source"] == "00.jpg" and best.metadata[MIGRATED_FROM] == "a (ridge map)"
    assert len(gallery_a) == 20 and gallery_a.model == "a"  # the original is left alone


def test_a_migrated_gallery_saves_and_loads(gallery_a: Gallery, a_to_b: EmbeddingMap, tmp_path: Path) -> None:
    key = generate_key()
    path = migrate_gallery(gallery_a, a_to_b).save(tmp_path / "b.veil", key=key)
    assert Gallery.load(path, key=key).model == "b"


def test_a_map_from_another_model_is_refused(gallery_a: Gallery, world) -> None:
    other = EmbeddingMap("b", "a").fit(np.eye(32), np.eye(32))
    with pytest.raises(ModelMismatchError):
        migrate_gallery(gallery_a, other)


def test_a_map_into_a_shared_space_is_refused(gallery_a: Gallery, world) -> None:
    split, photos = world.split, world.photos
    shared = EmbeddingMap("a", "b", method="cca").fit(
        split.arrays(photos, "a", "anchors"), split.arrays(photos, "b", "anchors")
    )
    with pytest.raises(ValueError, match="shared space"):
        migrate_gallery(gallery_a, shared)


def test_an_empty_gallery_migrates_to_an_empty_one(a_to_b: EmbeddingMap) -> None:
    migrated = migrate_gallery(Gallery("a", 32), a_to_b)
    assert (migrated.model, len(migrated)) == ("b", 0)
