"""Galleries: add, search, remove, model refusal, and the encrypted file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import veil.match
from veil.errors import (
    GalleryFileError,
    GalleryKeyError,
    InputError,
    ModelMismatchError,
    OutputError,
    VeilError,
    VeilWarning,
)
from veil.match import Gallery, Match, create_key_file, generate_key, load_key

DIM = 128


def unit_rows(n: int, dim: int = DIM, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def near(rows: np.ndarray, noise: float, *, seed: int = 1) -> np.ndarray:
    """Probes like a second photo of the same people: noisy copies of ``rows``, renormalised."""
    rng = np.random.default_rng(seed)
    noisy = rows + noise * rng.standard_normal(rows.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Key files go under tmp_path, never into the user's real cache."""
    home = tmp_path / "home"
    monkeypatch.setenv("VEIL_HOME", str(home))
    return home


@pytest.fixture
def people() -> Gallery:
    gallery = Gallery("sface", DIM)
    vectors = unit_rows(6)
    gallery.add("ada", vectors[:2], model="sface", metadata={"source": "ada.jpg"})
    gallery.add("bob", vectors[2:5], model="sface")
    gallery.add("cy", vectors[5:], model="sface", metadata={"source": "cy.png"})
    return gallery


def test_public_names_are_exact() -> None:
    public = {name for name in dir(veil.match) if not name.startswith("_")}
    assert public - {"annotations"} == set(veil.match.__all__)


def test_importing_veil_match_loads_neither_faiss_nor_cryptography() -> None:
    code = "import sys, veil.match; print(sorted({'faiss', 'cryptography', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_search_finds_each_probe_own_entry_first(index: str) -> None:
    gallery = Gallery("sface", DIM, index=index)
    vectors = unit_rows(50)
    ids = [gallery.add(f"p{i}", vectors[i : i + 1], model="sface")[0] for i in range(50)]

    results = gallery.search(near(vectors, 0.05), top_k=1)

    assert [r[0].name for r in results] == [f"p{i}" for i in range(50)]
    assert [r[0].entry_id for r in results] == ids
    assert all(r[0].score > 0.8 for r in results)  # cos ≈ 1 / sqrt(1 + 0.05² × 128) ≈ 0.87


def test_add_returns_one_new_id_per_row(people: Gallery) -> None:
    assert len(people) == 6
    assert people.names() == ["ada", "bob", "cy"]
    assert people.add("dee", unit_rows(2, seed=9), model="sface") == [6, 7]


def test_search_returns_top_k_best_first_with_cosine_scores(people: Gallery) -> None:
    vectors = unit_rows(6)
    probe = near(vectors[2:3], 0.02)

    (matches,) = people.search(probe, top_k=4)

    assert len(matches) == 4
    assert matches[0].name == "bob"
    assert matches[0].entry_id == 2
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    expected = sorted((vectors @ probe[0]).tolist(), reverse=True)[:4]
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_search_returns_fewer_than_top_k_when_gallery_is_small(people: Gallery) -> None:
    results = people.search(unit_rows(3, seed=5), top_k=100)
    assert [len(r) for r in results] == [6, 6, 6]


def test_search_on_empty_gallery_gives_one_empty_list_per_probe() -> None:
    assert Gallery("sface", DIM).search(unit_rows(2)) == [[], []]


def test_match_carries_metadata_and_has_a_json_form(people: Gallery) -> None:
    (matches,) = people.search(unit_rows(6)[:1], top_k=1)
    match = matches[0]
    assert match == Match(name="ada", score=match.score, entry_id=0, metadata={"source": "ada.jpg"})
    assert json.loads(json.dumps(match.to_dict())) == {
        "name": "ada",
        "score": round(match.score, 4),
        "entry_id": 0,
        "metadata": {"source": "ada.jpg"},
    }
    assert hash(match) == hash(Match(name="ada", score=match.score, entry_id=0))


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_remove_deletes_every_entry_of_a_name_and_keeps_the_rest(index: str) -> None:
    gallery = Gallery("sface", DIM, index=index)
    vectors = unit_rows(6)
    gallery.add("ada", vectors[:2], model="sface")
    bob_ids = gallery.add("bob", vectors[2:5], model="sface")
    gallery.add("cy", vectors[5:], model="sface")
    gallery.search(vectors[:1])  # builds the index, so remove must invalidate it

    assert gallery.remove("ada") == 2
    assert gallery.remove("ada") == 0
    assert len(gallery) == 4
    assert gallery.names() == ["bob", "cy"]
    results = gallery.search(vectors, top_k=1)
    assert {r[0].name for r in results[:2]} <= {"bob", "cy"}
    assert [r[0].entry_id for r in results[2:5]] == bob_ids
    assert gallery.add("ada", vectors[:1], model="sface") == [6]  # ids are never reused


def test_add_refuses_another_models_embeddings(people: Gallery) -> None:
    with pytest.raises(ModelMismatchError, match=r"'facenet'.*'sface'") as info:
        people.add("eve", unit_rows(1), model="facenet")
    assert (info.value.expected, info.value.actual) == ("sface", "facenet")
    assert isinstance(info.value, VeilError | ValueError)
    assert len(people) == 6


def test_search_refuses_another_model_when_told(people: Gallery) -> None:
    with pytest.raises(ModelMismatchError):
        people.search(unit_rows(1), model="facenet")
    assert len(people.search(unit_rows(1), model="sface")[0]) == 5


@pytest.mark.parametrize(
    ("embeddings", "message"),
    [
        (unit_rows(2, dim=512), "512-D but gallery 'sface' holds 128-D"),
        (unit_rows(1)[0], "must be 2-D"),
        (unit_rows(2) * 2.0, "unit L2 norm"),
        (np.full((1, DIM), np.nan, dtype=np.float32), "NaN"),
        (np.ones((1, DIM), dtype=np.int64), "floating point"),
    ],
    ids=["wrong-dim", "1-D", "not-normalised", "nan", "integers"],
)
def test_add_and_search_refuse_bad_embeddings(people: Gallery, embeddings: np.ndarray, message: str) -> None:
    with pytest.raises(InputError, match=message):
        people.add("eve", embeddings, model="sface")
    with pytest.raises(InputError, match=message):
        people.search(embeddings)
    assert len(people) == 6


def test_add_copies_the_callers_array() -> None:
    gallery = Gallery("sface", DIM)
    vectors = unit_rows(2)
    gallery.add("ada", vectors, model="sface")
    vectors[:] = unit_rows(2, seed=7)
    (matches,) = gallery.search(unit_rows(2)[:1], top_k=1)
    assert matches[0].score == pytest.approx(1.0, abs=1e-5)


def test_entries_lists_every_entry_in_order_as_a_copy(people: Gallery) -> None:
    vectors, names, metadata = people.entries()
    np.testing.assert_allclose(vectors, unit_rows(6), atol=1e-6)
    assert names == ["ada", "ada", "bob", "bob", "bob", "cy"]
    assert metadata[0] == {"source": "ada.jpg"} and metadata[2] == {}
    vectors[:] = 0
    metadata[0]["source"] = "changed"
    assert people.entries()[2][0] == {"source": "ada.jpg"}
    assert np.abs(people.entries()[0]).sum() > 0


def test_unknown_index_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of: exact, hnsw"):
        Gallery("sface", DIM, index="ivf")


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_save_then_load_gives_the_same_gallery(people: Gallery, tmp_path: Path, index: str) -> None:
    gallery = Gallery("sface", DIM, index=index)
    vectors = unit_rows(6)
    gallery.add("ada", vectors[:2], model="sface", metadata={"source": "ada.jpg", "note": "żółw"})
    gallery.add("bob", vectors[2:], model="sface")
    gallery.remove("ada")
    key = generate_key()

    path = gallery.save(tmp_path / "people.veil", key=key)
    loaded = Gallery.load(path, key=key)

    assert (loaded.model, loaded.dim, loaded.index, len(loaded)) == ("sface", DIM, index, 4)
    assert loaded.search(vectors, top_k=3) == gallery.search(vectors, top_k=3)
    assert loaded.add("cy", vectors[:1], model="sface") == [6]


def test_metadata_survives_the_round_trip(people: Gallery, tmp_path: Path) -> None:
    key = generate_key()
    loaded = Gallery.load(people.save(tmp_path / "g.veil", key=key), key=key)
    (matches,) = loaded.search(unit_rows(6)[5:], top_k=1)
    assert matches[0].metadata == {"source": "cy.png"}


def test_empty_gallery_round_trips(tmp_path: Path) -> None:
    key = generate_key()
    loaded = Gallery.load(Gallery("dlib", 128).save(tmp_path / "empty.veil", key=key), key=key)
    assert (loaded.model, len(loaded), loaded.names()) == ("dlib", 0, [])


def test_key_comes_from_veil_key_when_not_passed(
    people: Gallery, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEIL_KEY", generate_key())
    path = people.save(tmp_path / "g.veil")
    assert len(Gallery.load(path)) == 6


def test_key_comes_from_the_key_file_last(people: Gallery, tmp_path: Path, private_home: Path) -> None:
    key_path = create_key_file()
    assert key_path == private_home / "gallery.key"
    path = people.save(tmp_path / "g.veil")
    assert len(Gallery.load(path, key=key_path.read_text().strip())) == 6


def test_raw_32_byte_keys_work_too(people: Gallery, tmp_path: Path) -> None:
    raw = load_key(generate_key())
    assert len(raw) == 32
    assert len(Gallery.load(people.save(tmp_path / "g.veil", key=raw), key=raw)) == 6


def test_wrong_key_is_named_as_such(people: Gallery, tmp_path: Path) -> None:
    path = people.save(tmp_path / "gallery.veil", key=generate_key())
    with pytest.raises(GalleryKeyError) as info:
        Gallery.load(path, key=generate_key())
    assert str(info.value) == (
        f"{path}: cannot decrypt: wrong key (set VEIL_KEY to the key it was saved with)"
    )


def test_missing_key_names_veil_key_and_the_key_file(
    people: Gallery, tmp_path: Path, private_home: Path
) -> None:
    with pytest.raises(GalleryKeyError, match="VEIL_KEY") as info:
        people.save(tmp_path / "g.veil")
    assert str(private_home / "gallery.key") in str(info.value)
    assert not (tmp_path / "g.veil").exists()
    assert not private_home.exists()  # no key was created on the way


def test_loading_never_creates_a_key(people: Gallery, tmp_path: Path, private_home: Path) -> None:
    path = people.save(tmp_path / "g.veil", key=generate_key())
    with pytest.raises(GalleryKeyError, match="no gallery key"):
        Gallery.load(path)
    assert not (private_home / "gallery.key").exists()


def test_malformed_veil_key_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_KEY", "not-a-key-but-secret")
    with pytest.raises(GalleryKeyError, match="VEIL_KEY: not a gallery key") as info:
        load_key()
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(
    ("offset", "error"),
    [
        (8, GalleryFileError),  # format version
        (15, GalleryKeyError),  # nonce: the key check no longer matches, which reads as a wrong key
        (25, GalleryKeyError),  # key check
        (40, GalleryFileError),  # ciphertext
        (-1, GalleryFileError),  # authentication tag
    ],
    ids=["version", "nonce", "check", "body", "tag"],
)
def test_altered_file_is_refused(
    people: Gallery, tmp_path: Path, offset: int, error: type[Exception]
) -> None:
    key = generate_key()
    path = people.save(tmp_path / "g.veil", key=key)
    blob = bytearray(path.read_bytes())
    blob[offset] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(error):
        Gallery.load(path, key=key)


def test_damage_is_not_reported_as_a_wrong_key(people: Gallery, tmp_path: Path) -> None:
    key = generate_key()
    path = people.save(tmp_path / "g.veil", key=key)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(GalleryFileError, match="damaged or was altered"):
        Gallery.load(path, key=key)


def test_other_files_are_not_galleries(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    with pytest.raises(GalleryFileError, match="not a veil gallery file"):
        Gallery.load(path, key=generate_key())


def test_a_missing_gallery_is_a_gallery_error(tmp_path: Path) -> None:
    with pytest.raises(GalleryFileError, match=r"nowhere\.veil: no such file"):
        Gallery.load(tmp_path / "nowhere.veil", key=generate_key())


def test_file_holds_no_plaintext_embedding_name_or_metadata(people: Gallery, tmp_path: Path) -> None:
    vectors = unit_rows(6)
    blob = people.save(tmp_path / "g.veil", key=generate_key()).read_bytes()
    for row in vectors:
        assert row.tobytes() not in blob
        assert row[:4].tobytes() not in blob  # not even a 16-byte run of one
    for text in (b"ada", b"bob", b"ada.jpg", b"sface"):
        assert text not in blob


def test_save_replaces_atomically_and_privately(people: Gallery, tmp_path: Path) -> None:
    key = generate_key()
    path = tmp_path / "g.veil"
    Gallery("sface", DIM).save(path, key=key)
    people.save(path, key=key)
    assert len(Gallery.load(path, key=key)) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.veil"]  # no temp file left behind
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_to_an_unwritable_place_is_an_output_error(people: Gallery, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(OutputError, match="cannot write gallery"):
        people.save(blocker / "g.veil", key=generate_key())


def test_key_file_is_private_and_never_overwritten_by_default(private_home: Path) -> None:
    path = create_key_file()
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(load_key()) == 32
    with pytest.raises(OutputError, match="overwrite=True"):
        create_key_file()
    assert path.read_text() == first
    create_key_file(overwrite=True)
    assert path.read_text() != first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_key_file_readable_by_others_draws_a_warning(private_home: Path) -> None:
    path = create_key_file()
    path.chmod(0o644)
    with pytest.warns(VeilWarning, match="chmod 600"):
        load_key()


def test_hnsw_recall_at_1_matches_exact_search() -> None:
    # Probes near an entry (cosine about 0.87), as a probe with a true match is;
    # random vectors are otherwise HNSW's hardest case.
    vectors = unit_rows(20_000, seed=3)
    probes = near(vectors[::67], 0.05, seed=4)
    exact = Gallery("sface", DIM)
    hnsw = Gallery("sface", DIM, index="hnsw")
    for gallery in (exact, hnsw):
        gallery.add("crowd", vectors, model="sface")

    truth = [r[0].entry_id for r in exact.search(probes, top_k=1)]
    found = [r[0].entry_id for r in hnsw.search(probes, top_k=1)]

    recall = np.mean(np.array(truth) == np.array(found))
    assert recall >= 0.99
