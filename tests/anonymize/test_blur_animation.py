"""Animated images: every frame blurred and kept, with its timing; folder jobs and the CLI handle them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import veil
from veil.anonymize import blur_animation
from veil.cli import app
from veil.errors import OutputError
from veil.io import read_animation, write_animation
from veil.jobs import MANIFEST_NAME

runner = CliRunner()
# A blurred face differs from the original by far more than GIF's colour palette does.
FACE_CHANGE = 12.0


def _assert_every_face_is_blurred(source: Path, output: Path) -> None:
    before, after = read_animation(source), read_animation(output)
    assert len(after.frames) == len(before.frames) and after.durations_ms == before.durations_ms
    for clean, blurred in zip(before.frames, after.frames, strict=True):
        (face,) = veil.detect(clean)
        x1, y1, x2, y2 = (round(v) for v in face.box)
        change = np.abs(clean[y1:y2, x1:x2].astype(float) - blurred[y1:y2, x1:x2]).mean()
        assert change > FACE_CHANGE
        # Far from the face (the bottom rows show her suit) nothing changes.
        assert np.array_equal(clean[-40:], blurred[-40:])


def test_every_frame_is_blurred_and_timed_as_before(astronaut_gif: Path, tmp_path: Path) -> None:
    report = blur_animation(astronaut_gif, tmp_path / "out.png")

    _assert_every_face_is_blurred(astronaut_gif, tmp_path / "out.png")
    assert (report.frames, report.frames_with_faces, report.tracks) == (4, 4, 1)
    assert report.fps_in == pytest.approx(4000 / (80 + 90 + 100 + 110))


def test_animations_are_not_written_as_gif_or_over_files(astronaut_gif: Path, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"use one of \.png, \.webp"):
        blur_animation(astronaut_gif, tmp_path / "out.gif")
    as_png = write_animation(read_animation(astronaut_gif), tmp_path / "in.png")
    with pytest.raises(OutputError, match="is the input file"):
        blur_animation(as_png, as_png, overwrite=True)
    (tmp_path / "taken.webp").touch()
    with pytest.raises(OutputError, match="already exists"):
        blur_animation(astronaut_gif, tmp_path / "taken.webp")


def test_cli_blurs_an_animation_alone_and_in_a_folder(astronaut_gif: Path, tmp_path: Path) -> None:
    single = runner.invoke(app, ["blur", str(astronaut_gif), "-o", str(tmp_path / "one.webp")])
    assert single.exit_code == 0, single.output
    _assert_every_face_is_blurred(astronaut_gif, tmp_path / "one.webp")

    folder = runner.invoke(app, ["blur", str(astronaut_gif.parent), "-o", str(tmp_path / "out"), "--json"])
    assert folder.exit_code == 0, folder.output
    # GIF is read, not written: folder jobs write animations as animated PNG.
    _assert_every_face_is_blurred(astronaut_gif, tmp_path / "out" / "astronaut.png")
    (record,) = (json.loads(line) for line in (tmp_path / "out" / MANIFEST_NAME).read_text().splitlines())
    assert (record["output"], record["status"], record["faces"]) == ("astronaut.png", "done", 1)

    as_gif = runner.invoke(app, ["blur", str(astronaut_gif), "-o", str(tmp_path / "one.gif")])
    assert as_gif.exit_code == 2 and "use one of .png, .webp" in as_gif.output
