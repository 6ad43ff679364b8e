"""Cloaking: the perturbation moves embeddings, keeps to its budget, and touches only the face window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import veil
from veil.cli import app
from veil.cloak import (
    MODES,
    Cloaked,
    CloakWork,
    Target,
    choose_target,
    cloak,
    cloak_faces,
    cloak_file,
    cloak_files,
    person_embeddings,
    protection_card,
)
from veil.errors import InputError, NoFaceError, OutputError, VeilError
from veil.jobs import MANIFEST_NAME
from veil.quality import dssim, region

QUICK = {"mode": "low", "budget": 0.006}  # a few seconds per face on 2 cores


@pytest.fixture(scope="module")
def small(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut at 256 px: a 45 px face keeps each cloak to a second or two."""
    import cv2

    return np.asarray(cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA))


@pytest.fixture(scope="module")
def cloaked(small: np.ndarray) -> Cloaked:
    return cloak(small, **QUICK)


def test_cloak_moves_every_white_box_embedding_away(small: np.ndarray, cloaked: Cloaked) -> None:
    (face,) = cloaked.faces
    assert face.cloaked and face.steps > 0
    for model in ("sface", "facenet"):
        before = veil.embed(small, [face.face], model=model)[0]
        after = veil.embed(cloaked.image, [face.face], model=model)[0]
        assert face.similarity[model] == pytest.approx(float(before @ after), abs=1e-4)
        assert face.similarity[model] < 0.6  # a clean copy scores 1.0


def test_only_the_face_window_changes_and_within_budget(small: np.ndarray, cloaked: Cloaked) -> None:
    (face,) = cloaked.faces
    left, top, right, bottom = face.window
    changed = np.argwhere((cloaked.image != small).any(axis=2))
    assert len(changed) > 0
    assert changed[:, 0].min() >= top and changed[:, 0].max() < bottom
    assert changed[:, 1].min() >= left and changed[:, 1].max() < right
    window = (left, top, right, bottom)
    assert dssim(region(small, window), region(cloaked.image, window)) <= QUICK["budget"]
    assert dssim(region(small, face.face.box), region(cloaked.image, face.face.box)) <= QUICK["budget"]
    assert face.dssim <= QUICK["budget"]
    assert small.dtype == cloaked.image.dtype and small.shape == cloaked.image.shape


def test_a_small_bystander_inside_the_window_keeps_to_the_budget(small: np.ndarray) -> None:
    """A face too small to cloak, half inside another face's window, is still held to the budget."""
    from dataclasses import replace

    face = veil.detect(small)[0]
    side = 16.0  # under MIN_FACE_SIDE: not cloaked itself
    corner = (face.box[2] - side / 2, face.box[1] + face.height / 2)
    bystander = replace(
        face,
        box=(corner[0], corner[1], corner[0] + side, corner[1] + side),
        landmarks=tuple((corner[0] + side / 2, corner[1] + side / 2) for _ in face.landmarks),
    )
    result = cloak_faces(small, [face, bystander], **QUICK)
    assert [f.cloaked for f in result.faces] == [True, False]
    assert dssim(region(small, bystander.box), region(result.image, bystander.box)) <= QUICK["budget"]


def test_same_seed_same_cloak(small: np.ndarray, cloaked: Cloaked) -> None:
    again = cloak(small, **QUICK)
    assert np.array_equal(again.image, cloaked.image)


def test_the_differentiable_crop_matches_the_aligned_crop(small: np.ndarray) -> None:
    from veil.cloak._optimise import FaceProblem, white_box_recognizers
    from veil.cloak._transforms import PlatformTransform

    recognizers = white_box_recognizers(["sface", "facenet"])
    face = veil.detect(small)[0]
    problem = FaceProblem.build(small, face, [face], recognizers, None)
    crops = problem.crops(problem.perturbed_window(), recognizers, PlatformTransform())
    for recognizer, crop in zip(recognizers, crops, strict=True):
        reference = recognizer.crop(small, face).astype(np.float32)
        ours = crop[0].permute(1, 2, 0).detach().numpy()
        assert np.abs(ours - reference).mean() < 0.5
        assert np.abs(ours - reference).max() < 3.0


def test_platform_transforms_keep_gradients_and_shape() -> None:
    import torch

    from veil.cloak._transforms import PlatformTransform, sample_transform

    pixels = (torch.rand(1, 3, 64, 48) * 255).requires_grad_()
    out = PlatformTransform(blur_sigma=0.8, resize=0.5, jpeg_quality=60.0)(pixels)
    assert out.shape == (1, 3, 32, 24)
    out.sum().backward()
    assert pixels.grad is not None and float(pixels.grad.abs().sum()) > 0
    generator = torch.Generator().manual_seed(0)
    samples = [sample_transform(generator) for _ in range(40)]
    assert any(s.jpeg_quality is None for s in samples)
    assert all(50 <= s.jpeg_quality <= 95 for s in samples if s.jpeg_quality is not None)


def test_bad_options_are_refused(small: np.ndarray) -> None:
    faces = veil.detect(small)
    with pytest.raises(VeilError, match="unknown cloak mode"):
        cloak_faces(small, faces, mode="extreme")
    with pytest.raises(VeilError, match="budget"):
        cloak_faces(small, faces, budget=0.7)
    with pytest.raises(VeilError, match="not differentiable"):
        cloak_faces(small, faces, models=["dlib"])
    with pytest.raises(NoFaceError, match="no face"):
        cloak(np.full((120, 160, 3), 90, np.uint8))


def test_tiny_faces_are_left_alone(small: np.ndarray) -> None:
    face = veil.detect(small)[0]
    x, y = face.landmarks[2]
    tiny = veil.Face(box=(x - 5, y - 5, x + 5, y + 5), score=0.9, landmarks=face.landmarks)
    result = cloak_faces(small, [tiny], **QUICK)
    assert not result.faces[0].cloaked
    assert np.array_equal(result.image, small)


def test_modes_are_documented_and_mid_is_within_the_issue_limit() -> None:
    assert set(MODES) == {"low", "mid", "high"}
    assert MODES["low"].budget < MODES["mid"].budget <= 0.01 < MODES["high"].budget
    assert MODES["mid"].robust and MODES["high"].robust


def test_target_is_the_least_alike_identity(small: np.ndarray, tmp_path: Path, astronaut: np.ndarray) -> None:
    from skimage import data

    (tmp_path / "self").mkdir()
    (tmp_path / "other").mkdir()
    veil.write_image(astronaut, tmp_path / "self" / "a.png")
    veil.write_image(np.asarray(np.fliplr(astronaut)), tmp_path / "self" / "b.png")
    veil.write_image(np.dstack([data.camera()] * 3), tmp_path / "other" / "c.png")
    person = person_embeddings([tmp_path / "self" / "a.png"], ["sface"])
    target = choose_target(tmp_path, person, ["sface"])
    assert target.name == "other"
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no photos"):
        choose_target(tmp_path / "empty", person, ["sface"])
    with pytest.raises(InputError, match="does not exist"):
        choose_target(tmp_path / "missing", person, ["sface"])
    with pytest.raises(VeilError, match="no embedding for facenet"):
        Target("t", {"sface": target.embeddings["sface"]}).check_models(["sface", "facenet"])


def test_targeted_cloak_moves_towards_the_target(small: np.ndarray) -> None:
    face = veil.detect(small)[0]
    rng = np.random.default_rng(0)
    direction = {m: rng.standard_normal(128).astype(np.float32) for m in ("sface", "facenet")}
    target = Target("random", {m: v / np.linalg.norm(v) for m, v in direction.items()})
    result = cloak_faces(small, [face], target=target, **QUICK)
    for model in ("sface", "facenet"):
        before = veil.embed(small, [face], model=model)[0] @ target.embeddings[model]
        after = veil.embed(result.image, [face], model=model)[0] @ target.embeddings[model]
        assert after > before + 0.1
    assert result.target == "random"


def test_cloak_file_writes_png_without_metadata_and_never_overwrites(
    small: np.ndarray, tmp_path: Path
) -> None:
    from PIL import Image as PILImage

    source = tmp_path / "in.jpg"
    exif = PILImage.Exif()
    exif[0x8825] = {2: (1.0, 2.0, 3.0)}  # GPSInfo
    PILImage.fromarray(small).save(source, exif=exif)
    result = cloak_file(source, tmp_path / "out.png", CloakWork(**QUICK))
    with PILImage.open(tmp_path / "out.png") as written:
        assert not written.getexif()
        assert np.array_equal(np.asarray(written.convert("RGB")), result.image)
    with pytest.raises(OutputError, match="already exists"):
        cloak_file(source, tmp_path / "out.png")
    with pytest.raises(InputError, match="not a photo"):
        cloak_file(tmp_path / "clip.mp4", tmp_path / "clip-out.mp4")


def test_cloak_refuses_animations_rather_than_keep_one_frame(astronaut_gif: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="animated image"):
        cloak_file(astronaut_gif, tmp_path / "out.png", CloakWork(**QUICK))
    assert not (tmp_path / "out.png").exists()


def test_folder_job_mirrors_and_reports_failures(
    small: np.ndarray, tmp_path: Path, bad_inputs: dict[str, Path]
) -> None:
    inputs = tmp_path / "in"
    veil.write_image(small, inputs / "person" / "a.jpg")
    veil.write_image(np.full((64, 64, 3), 128, np.uint8), inputs / "empty.png")
    report = cloak_files([inputs], tmp_path / "out", CloakWork(**QUICK), workers=1)
    assert (tmp_path / "out" / "person" / "a.png").is_file()  # PNG by default
    assert not (tmp_path / "out" / "empty.png").exists()
    failed = {r.input: r.error for r in report.failures}
    assert any("no face" in error for error in failed.values())
    records = [json.loads(line) for line in (tmp_path / "out" / MANIFEST_NAME).read_text().splitlines()]
    assert {r["status"] for r in records} == {"done", "failed"}


def test_protection_card_checks_every_recognizer(small: np.ndarray, cloaked: Cloaked) -> None:
    card = protection_card(small, cloaked, recognizers=["sface", "dlib"])
    data = card.to_dict()
    assert {(c["recognizer"], c["white_box"]) for c in data["checks"]} == {("sface", True), ("dlib", False)}
    assert {c["countermeasure"] for c in data["checks"]} == {"none", "jpeg75", "downscale0.5", "blur1"}
    assert data["protected"] == (not any(c["same_person"] for c in data["checks"]))
    assert card.html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in card.html
    uncloaked = Cloaked(small, cloaked.faces, "low", 0.006, ("sface",))
    assert not protection_card(small, uncloaked, recognizers=["sface"]).protected


def test_cli_cloaks_one_photo_with_a_card(small: np.ndarray, tmp_path: Path) -> None:
    veil.write_image(small, tmp_path / "me.png")
    result = CliRunner().invoke(
        app,
        [
            "cloak",
            str(tmp_path / "me.png"),
            "-o",
            str(tmp_path / "me-cloaked.jpg"),
            "--mode",
            "low",
            "--budget",
            "0.006",
            "--format",
            "jpg",
            "--card",
            str(tmp_path / "card.html"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["mode"] == "low" and line["faces"][0]["dssim"] <= 0.006
    assert (tmp_path / "me-cloaked.jpg").is_file()
    assert json.loads((tmp_path / "card.json").read_text())["cloak"]["budget"] == 0.006
    assert "veil protection card" in (tmp_path / "card.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("card_name", ["card.html", "card.json", "me.png"])
def test_cli_refuses_a_card_over_an_existing_file_before_cloaking(
    small: np.ndarray, tmp_path: Path, card_name: str
) -> None:
    photo = veil.write_image(small, tmp_path / "me.png")
    existing = tmp_path / card_name
    if not existing.exists():
        existing.write_text("kept")
    before = existing.read_bytes()
    card = existing.with_suffix(".html") if card_name == "card.json" else existing
    out = tmp_path / "me-cloaked.png"
    result = CliRunner().invoke(app, ["cloak", str(photo), "-o", str(out), "--card", str(card)])
    assert result.exit_code == 2, result.output
    assert f"{existing}: already exists" in result.output
    assert existing.read_bytes() == before and not out.exists()


def test_cli_usage_errors_exit_2(small: np.ndarray, tmp_path: Path) -> None:
    veil.write_image(small, tmp_path / "me.png")
    runner = CliRunner()
    for extra in (["--format", "gif"], ["--mode", "extreme"], ["--models", "dlib"]):
        result = runner.invoke(
            app, ["cloak", str(tmp_path / "me.png"), "-o", str(tmp_path / "o.png"), *extra]
        )
        assert result.exit_code == 2, (extra, result.output)
        assert "error:" in result.output
