"""On real photos: a map fitted on some CelebA identities aligns two real models on the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from veil.cli._crossmodel import align_app
from veil.crossmodel import EmbeddingMap, crossmodel_report, split_crossmodel
from veil.evaluate import embed_photos, list_identities

pytestmark = [pytest.mark.data, pytest.mark.slow]

MODELS = ["sface", "facenet"]  # the two fast recognizers; dlib is ten times slower to embed


def celeba_subset(shared_data: Path, out: Path, *, identities: int, photos: int) -> Path:
    """Links to the first photos of the first CelebA identities: a test embeds a few hundred photos only."""
    chosen = list(list_identities(shared_data / "celeba" / "images").items())[:identities]
    for name, files in chosen:
        (out / name).mkdir(parents=True)
        for file in files[:photos]:
            (out / name / file.name).symlink_to(file)
    return out


def test_a_fitted_map_beats_unaligned_by_a_wide_margin(shared_data: Path, tmp_path: Path) -> None:
    root = celeba_subset(shared_data, tmp_path / "celeba", identities=40, photos=8)
    split = split_crossmodel(root, seed=0)
    photos = embed_photos(split.paths(), models=MODELS)
    report = crossmodel_report(
        split, photos, models=MODELS, methods=["procrustes", "ridge"], anchor_counts=()
    )
    for pair in report.pairs:
        native, unaligned = pair.score("native").rank1, pair.score("unaligned").rank1
        assert native > 0.7, pair
        assert unaligned < 0.15, pair
        assert pair.best.rank1 > unaligned + 0.4, pair


def test_align_models_fit_writes_a_validated_map(shared_data: Path, tmp_path: Path) -> None:
    root = celeba_subset(shared_data, tmp_path / "celeba", identities=12, photos=6)
    out = tmp_path / "sface_to_facenet.npz"
    app = typer.Typer()
    app.add_typer(align_app, name="align-models")  # as veil.cli registers it
    args = ["align-models", "fit", "--from", "sface", "--to", "facenet", "--root", str(root), "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--validation-fraction", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    fitted = EmbeddingMap.load(out)
    assert (fitted.source_model, fitted.target_model, fitted.method) == ("sface", "facenet", "ridge")
    assert fitted.n_anchors_ == 36 and fitted.validation_ is not None
    assert fitted.validation_.rank1_native > 0.5
    assert json.loads(result.stdout)["validation"]["n_identities"] == 6
