"""Cross-model evaluation on the synthetic world: unaligned is chance, mapped is close to native."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from veil.crossmodel import (
    METHODS,
    crossmodel_report,
    plot_alignability,
    plot_learning_curve,
)


@pytest.fixture(scope="module")
def report(world):
    return crossmodel_report(
        world.split, world.photos, models=["a", "b"], anchors=160, anchor_counts=(20, 40, 160)
    )


def test_unaligned_is_chance_and_the_best_map_nearly_native(report) -> None:
    assert [(p.source, p.target) for p in report.pairs] == [("a", "b"), ("b", "a")]
    for pair in report.pairs:
        assert [s.method for s in pair.scores] == ["native", "unaligned", *METHODS]
        native, unaligned = pair.score("native"), pair.score("unaligned")
        assert native.rank1 > 0.9 and native.tar > 0.5
        assert unaligned.rank1 < 0.2 and unaligned.tar < 0.05
        assert pair.retention >= 0.9 and pair.best.tar > 0.5 * native.tar
        assert all(s.fit_ms is not None for s in pair.scores if s.method in METHODS)
    assert report.n_identities == 20 and report.n_probes == 20 * 7


def test_the_learning_curve_rises_with_anchors(report) -> None:
    ridge = [p.rank1 for p in report.curve if (p.source, p.method) == ("a", "ridge")]
    assert len(ridge) == 3 and ridge[-1] > ridge[0]
    # Plain least squares with fewer anchors than dimensions fits them exactly and collapses on the rest.
    linear = {p.n_anchors: p.rank1 for p in report.curve if (p.source, p.method) == ("a", "linear")}
    assert linear[20] < linear[160]


def test_counts_above_the_anchors_available_are_left_out(world) -> None:
    report = crossmodel_report(
        world.split, world.photos, models=["a", "b"], methods=["procrustes"], anchor_counts=(50, 5000)
    )
    assert {p.n_anchors for p in report.curve} == {50}
    assert report.pairs[0].n_anchors == len(world.split.anchors)


def test_the_report_is_json_and_plots(report, tmp_path: Path) -> None:
    data = json.loads(json.dumps(report.to_dict()))
    assert data["pairs"][0]["best"] in METHODS and data["far"] == 1e-3
    plot_alignability(report, ["a", "b"], tmp_path / "heat.png")
    plot_learning_curve(report, tmp_path / "curve.png")
    assert (tmp_path / "heat.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "curve.png").stat().st_size > 1000


def test_bad_requests_are_refused(world) -> None:
    with pytest.raises(ValueError, match="at least two models"):
        crossmodel_report(world.split, world.photos, models=["a"])
    with pytest.raises(ValueError, match="unknown map methods"):
        crossmodel_report(world.split, world.photos, models=["a", "b"], methods=["cubic"])


def test_same_photo_pairs_are_not_counted_as_genuine(world) -> None:
    # Photos that share nothing but their identity's name: a photo matches only itself. Counted as
    # genuine, each photo's self-pair would give a TAR of about 1 in 8; left out, TAR is about 0.
    photos = world.photos
    noise = np.random.default_rng(5).standard_normal(photos.embeddings["a"].shape).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    twin = type(photos)(photos.paths, {"x": noise, "y": noise.copy()}, photos.is_fallback)
    pair = crossmodel_report(world.split, twin, models=["x", "y"], methods=["procrustes"]).pairs[0]
    assert pair.score("native").tar < 0.02 and pair.score("unaligned").tar < 0.02
