"""Maps between embedding spaces: known maps are recovered, files round-trip, misuse is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from veil.crossmodel import METHODS, EmbeddingMap, MapValidation
from veil.errors import InputError, NotFittedError, VeilWarning


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def orthogonal(rng: np.random.Generator, dim: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q


def test_procrustes_recovers_a_rotation_exactly(rng: np.random.Generator) -> None:
    x = unit(rng.standard_normal((300, 24)))
    rotation = orthogonal(rng, 24)
    fitted = EmbeddingMap("a", "b", method="procrustes").fit(x, x @ rotation)
    np.testing.assert_allclose(fitted.weight_, rotation, atol=1e-5)
    assert not fitted.bias_.any()
    probes = unit(rng.standard_normal((10, 24)))
    np.testing.assert_allclose(fitted.transform(probes, model="a"), probes @ rotation, atol=1e-5)


def test_procrustes_between_different_widths_is_semi_orthogonal(rng: np.random.Generator) -> None:
    x, y = rng.standard_normal((200, 16)), rng.standard_normal((200, 8))
    weight = EmbeddingMap("a", "b", method="procrustes").fit(x, y).weight_
    assert weight.shape == (16, 8)
    np.testing.assert_allclose(weight.T @ weight, np.eye(8), atol=1e-5)


@pytest.mark.parametrize("method", ["linear", "ridge"])
def test_least_squares_recover_a_linear_map(rng: np.random.Generator, method: str) -> None:
    x = unit(rng.standard_normal((400, 16)))
    weight = rng.standard_normal((16, 12))
    fitted = EmbeddingMap("a", "b", method=method).fit(x, x @ weight)
    # Ridge shrinks a little; with exact targets its leave-one-out choice is the smallest penalty.
    np.testing.assert_allclose(fitted.weight_, weight, atol=1e-5 if method == "linear" else 1e-2)


def test_affine_recovers_the_bias_that_linear_cannot(rng: np.random.Generator) -> None:
    x = rng.standard_normal((400, 16))
    weight, bias = rng.standard_normal((16, 12)), rng.standard_normal(12)
    y = x @ weight + bias
    affine = EmbeddingMap("a", "b", method="affine").fit(x, y)
    np.testing.assert_allclose(affine.weight_, weight, atol=1e-4)
    np.testing.assert_allclose(affine.bias_, bias, atol=1e-4)
    np.testing.assert_allclose(affine.transform(x[:5], model="a"), unit(y[:5]), atol=1e-5)
    linear = EmbeddingMap("a", "b", method="linear").fit(x, y)
    assert np.abs(linear.weight_ - weight).max() > 0.1


def test_ridge_maps_around_the_means_and_leaves_the_target_mean_out(rng: np.random.Generator) -> None:
    x = unit(rng.standard_normal((400, 16))) + 0.5
    weight, offset = rng.standard_normal((16, 12)), 3 * rng.standard_normal(12)
    fitted = EmbeddingMap("a", "b", method="ridge").fit(x, x @ weight + offset)
    np.testing.assert_allclose(fitted.weight_, weight, atol=1e-2)
    centred = (x[:5] - x.mean(axis=0)) @ weight
    np.testing.assert_allclose(fitted.transform(x[:5], model="a"), unit(centred), atol=1e-3)


def test_ridge_chooses_a_larger_penalty_for_noisier_anchors(rng: np.random.Generator) -> None:
    x = unit(rng.standard_normal((150, 32)))
    weight = rng.standard_normal((32, 32))
    clean = EmbeddingMap("a", "b").fit(x, x @ weight)
    noisy = EmbeddingMap("a", "b").fit(x, x @ weight + 3 * rng.standard_normal((150, 32)))
    assert clean.alpha_ is not None and noisy.alpha_ is not None
    assert noisy.alpha_ > clean.alpha_
    fixed = EmbeddingMap("a", "b", alpha=0.5).fit(x, x @ weight)
    assert fixed.alpha_ == 0.5


def test_maps_generalise_from_noisy_anchors(rng: np.random.Generator) -> None:
    rotation = orthogonal(rng, 32)
    x = unit(rng.standard_normal((1000, 32)))
    y = unit(x @ rotation + 0.05 * rng.standard_normal((1000, 32)))
    probes = unit(rng.standard_normal((200, 32)))
    for method in METHODS:
        fitted = EmbeddingMap("a", "b", method=method).fit(x, y)
        cosines = np.sum(
            fitted.transform(probes, model="a") * fitted.transform(probes @ rotation, model="b"), axis=1
        )
        assert cosines.mean() > 0.99, method


def test_cca_damps_target_directions_the_source_does_not_predict(rng: np.random.Generator) -> None:
    # The target model has the source's identity signal on 16 axes and loud noise on 16 more.
    rotation = orthogonal(rng, 16)

    def photos(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = unit(rng.standard_normal((n, 16)))
        return x, np.hstack([x @ rotation, 0.5 * rng.standard_normal((n, 16))])

    (x, y), (x_test, y_test) = photos(2000), photos(300)

    def same_photo_cosine(method: str) -> float:
        fitted = EmbeddingMap("a", "b", method=method).fit(x, y)
        pairs = fitted.transform(x_test, model="a") * fitted.transform(y_test, model="b")
        return float(np.sum(pairs, axis=1).mean())

    assert same_photo_cosine("cca") > 0.9 > 0.6 > same_photo_cosine("ridge")


def test_only_cca_transforms_the_target_models_embeddings(rng: np.random.Generator) -> None:
    x, y = rng.standard_normal((200, 12)), rng.standard_normal((200, 8))
    for method in METHODS:
        fitted = EmbeddingMap("a", "b", method=method).fit(x, y)
        assert fitted.target_dim == 8 and fitted.output_dim == 8
        assert fitted.transform(x[:5], model="a").shape == fitted.transform(y[:5], model="b").shape == (5, 8)
        if method == "cca":
            assert fitted.target_weight_ is not None and fitted.target_weight_.shape == (8, 8)
        else:
            assert fitted.target_weight_ is None
            np.testing.assert_allclose(fitted.transform(y[:5], model="b"), unit(y[:5]), atol=1e-6)


def test_transform_gives_unit_float32_rows(rng: np.random.Generator) -> None:
    x = rng.standard_normal((100, 8))
    mapped = (
        EmbeddingMap("a", "b", method="affine").fit(x, rng.standard_normal((100, 8))).transform(x, model="a")
    )
    assert mapped.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(mapped, axis=1), 1.0, atol=1e-5)


def test_transform_refuses_another_model_and_another_width(rng: np.random.Generator) -> None:
    fitted = EmbeddingMap("sface", "dlib").fit(rng.standard_normal((50, 8)), rng.standard_normal((50, 8)))
    with pytest.raises(InputError, match="takes 'sface' embeddings to 'dlib', not 'facenet'"):
        fitted.transform(rng.standard_normal((3, 8)), model="facenet")
    with pytest.raises(InputError, match="9-D but the 'sface' map takes 8-D"):
        fitted.transform(rng.standard_normal((3, 9)), model="sface")


def test_a_map_is_not_used_before_fit() -> None:
    unfitted = EmbeddingMap("a", "b")
    assert not unfitted.is_fitted
    with pytest.raises(NotFittedError, match="not fitted"):
        unfitted.transform(np.ones((1, 4)), model="a")
    with pytest.raises(NotFittedError):
        unfitted.save("never.npz")


def test_bad_options_and_anchors_are_refused(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="unknown map method"):
        EmbeddingMap("a", "b", method="cubic")
    with pytest.raises(ValueError, match="positive penalty"):
        EmbeddingMap("a", "b", method="linear", alpha=1.0)
    with pytest.raises(InputError, match="need pairs"):
        EmbeddingMap("a", "b").fit(np.ones((5, 4)), np.ones((6, 4)))
    with pytest.raises(InputError, match="at least 2"):
        EmbeddingMap("a", "b").fit(np.ones((1, 4)), np.ones((1, 4)))
    with pytest.raises(InputError, match="NaN"):
        EmbeddingMap("a", "b").fit(np.full((5, 4), np.nan), np.ones((5, 4)))


def test_underdetermined_least_squares_warns(rng: np.random.Generator) -> None:
    x, y = rng.standard_normal((10, 16)), rng.standard_normal((10, 16))
    with pytest.warns(VeilWarning, match="use 'ridge' or 'procrustes'"):
        EmbeddingMap("a", "b", method="linear").fit(x, y)
    EmbeddingMap("a", "b", method="procrustes").fit(x, y)  # no warning: a rotation cannot overfit


@pytest.mark.parametrize("method", METHODS)
def test_save_and_load_round_trip(rng: np.random.Generator, tmp_path: Path, method: str) -> None:
    x, y = rng.standard_normal((300, 12)), rng.standard_normal((300, 10))
    fitted = EmbeddingMap("facenet", "sface", method=method).fit(x, y)
    fitted.validation_ = MapValidation(rank1_native=0.9, rank1_mapped=0.81, n_probes=100, n_identities=20)
    path = fitted.save(tmp_path / "maps" / "facenet_to_sface.npz")
    loaded = EmbeddingMap.load(path)
    assert loaded.to_dict() == fitted.to_dict()
    assert loaded.to_dict()["n_anchors"] == 300 and loaded.to_dict()["source_dim"] == 12
    assert loaded.validation_ is not None and loaded.validation_.retention == pytest.approx(0.9)
    for model, embeddings in (("facenet", x), ("sface", y)):
        np.testing.assert_array_equal(
            loaded.transform(embeddings, model=model), fitted.transform(embeddings, model=model)
        )
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left behind


def test_load_refuses_what_is_not_a_map(tmp_path: Path, rng: np.random.Generator) -> None:
    with pytest.raises(InputError, match=r"missing\.npz: no such file"):
        EmbeddingMap.load(tmp_path / "missing.npz")
    text = tmp_path / "notes.npz"
    text.write_text("not a map")
    with pytest.raises(InputError, match="not a veil embedding map"):
        EmbeddingMap.load(text)
    other = tmp_path / "other.npz"
    np.savez(other, weight=np.ones((2, 2)))
    with pytest.raises(InputError, match="not a veil embedding map"):
        EmbeddingMap.load(other)
    fitted = EmbeddingMap("a", "b").fit(rng.standard_normal((20, 4)), rng.standard_normal((20, 4)))
    path = fitted.save(tmp_path / "map.npz")
    with np.load(path) as arrays:
        parts = dict(arrays)
    np.savez(path, **{**parts, "weight": np.ones((3, 4), np.float32)})
    with pytest.raises(InputError, match="malformed embedding map"):
        EmbeddingMap.load(path)
    cca = EmbeddingMap("a", "b", method="cca").fit(rng.standard_normal((20, 4)), rng.standard_normal((20, 4)))
    path = cca.save(tmp_path / "cca.npz")
    with np.load(path) as arrays:
        parts = dict(arrays)
    np.savez(path, **{name: array for name, array in parts.items() if name != "target_weight"})
    with pytest.raises(InputError, match="malformed embedding map"):
        EmbeddingMap.load(path)
