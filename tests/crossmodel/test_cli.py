"""The cross-model commands, registered the way ``veil.cli`` registers them, driven by typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from veil.cli._crossmodel import (
    align_app,
    eval_cancelable,
    eval_crossmodel,
    eval_template_leak,
    gallery_migrate,
)
from veil.crossmodel import EmbeddingMap, MapValidation
from veil.match import Gallery, generate_key

runner = CliRunner()


def app() -> typer.Typer:
    root = typer.Typer()
    evaluate, galleries = typer.Typer(), typer.Typer()
    evaluate.command("crossmodel")(eval_crossmodel)
    evaluate.command("template-leak")(eval_template_leak)
    evaluate.command("cancelable")(eval_cancelable)
    galleries.command("migrate")(gallery_migrate)
    root.add_typer(align_app, name="align-models")
    root.add_typer(evaluate, name="eval")
    root.add_typer(galleries, name="gallery")
    return root


@pytest.fixture
def saved(world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("VEIL_KEY", generate_key())
    people = Gallery("a", 32)
    for (identity, _), vector in zip(
        world.split.gallery, world.split.arrays(world.photos, "a", "gallery"), strict=True
    ):
        people.add(identity, vector[None], model="a")
    split, photos = world.split, world.photos
    mapping = EmbeddingMap("a", "b").fit(
        split.arrays(photos, "a", "anchors"), split.arrays(photos, "b", "anchors")
    )
    mapping.validation_ = MapValidation(rank1_native=0.9, rank1_mapped=0.85, n_probes=70, n_identities=10)
    return people.save(tmp_path / "people.veil"), mapping.save(tmp_path / "a_to_b.npz")


def test_gallery_migrate_writes_a_gallery_of_the_new_model(saved: tuple[Path, Path]) -> None:
    gallery, map_file = saved
    result = runner.invoke(
        app(), ["gallery", "migrate", str(gallery), "--to", "b", "--map", str(map_file), "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.splitlines()[0])
    assert figures["entries"] == 20 and figures["model"] == "b"
    assert figures["validation"]["retention"] == pytest.approx(0.85 / 0.9)
    assert Gallery.load(gallery.with_name("people.b.veil")).model == "b"
    assert "94.4% kept" in result.stderr


def test_gallery_migrate_refuses_a_map_to_another_model(saved: tuple[Path, Path]) -> None:
    gallery, map_file = saved
    result = runner.invoke(
        app(), ["gallery", "migrate", str(gallery), "--to", "sface", "--map", str(map_file)]
    )
    assert result.exit_code == 2
    assert "this map goes to 'b', not 'sface'" in result.stderr


def test_gallery_migrate_refuses_a_map_into_a_shared_space(world, saved: tuple[Path, Path]) -> None:
    gallery, map_file = saved
    split, photos = world.split, world.photos
    EmbeddingMap("a", "b", method="cca").fit(
        split.arrays(photos, "a", "anchors"), split.arrays(photos, "b", "anchors")
    ).save(map_file)
    result = runner.invoke(app(), ["gallery", "migrate", str(gallery), "--to", "b", "--map", str(map_file)])
    assert result.exit_code == 2 and "'cca' map compares both models in a shared space" in result.stderr


@pytest.mark.parametrize("onto", ["gallery", "map", "another gallery"])
def test_gallery_migrate_never_replaces_a_file(saved: tuple[Path, Path], onto: str) -> None:
    gallery, map_file = saved
    target = {"gallery": gallery, "map": map_file, "another gallery": gallery.with_name("people.b.veil")}[
        onto
    ]
    if not target.exists():
        target.write_bytes(gallery.read_bytes())
    before = target.read_bytes()
    result = runner.invoke(
        app(), ["gallery", "migrate", str(gallery), "--to", "b", "--map", str(map_file), "-o", str(target)]
    )
    assert result.exit_code == 2 and f"{target}: already exists" in result.stderr
    assert target.read_bytes() == before


def test_align_models_fit_never_replaces_a_file(tmp_path: Path) -> None:
    existing = tmp_path / "map.npz"
    existing.write_bytes(b"kept")
    args = ["--from", "sface", "--to", "facenet", "--root", str(tmp_path), "-o", str(existing)]
    result = runner.invoke(app(), ["align-models", "fit", *args])
    assert result.exit_code == 2 and f"{existing}: already exists" in result.stderr
    assert existing.read_bytes() == b"kept"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "crossmodel", "--root", ".", "--models", "sface,vgg"], "unknown vgg"),
        (["eval", "crossmodel", "--root", ".", "--methods", "cubic"], "unknown cubic"),
        (
            [
                "eval",
                "template-leak",
                "--root",
                ".",
                "--from",
                "sface",
                "--to",
                "dlib",
                "--anchor-counts",
                "1,x",
            ],
            "integers",
        ),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app(), args)
    assert result.exit_code == 2
    assert message in result.stderr
