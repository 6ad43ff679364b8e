"""detect_video, detect_animation and `veil detect` on them: every frame searched, boxes as shown."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import veil
from veil.cli import app
from veil.detect import detect_animation, detect_video
from veil.errors import InputError

SIZE = (480, 272)  # (width, height) as displayed
FPS = 10
FRAMES = 12


@pytest.fixture(scope="module")
def clips(
    tmp_path_factory: pytest.TempPathFactory, astronaut_canvas: Path, make_test_video: Callable[..., Path]
) -> dict[int, Path]:
    """The same pan over the astronaut, stored upright and stored sideways (a portrait phone's way)."""
    folder = tmp_path_factory.mktemp("clips")
    options = {
        "photos": [astronaut_canvas],
        "seconds": FRAMES / FPS,
        "fps": FPS,
        "size": SIZE,
        "audio": False,
    }
    return {
        rotation: make_test_video(folder / f"r{rotation}.mp4", rotation=rotation, **options)
        for rotation in (0, 90)
    }


@pytest.mark.parametrize("rotation", [0, 90])
def test_every_frame_has_her_face_inside_the_displayed_frame(clips: dict[int, Path], rotation: int) -> None:
    frames = list(detect_video(clips[rotation]))
    assert [f.index for f in frames] == list(range(FRAMES))
    assert frames[3].seconds == pytest.approx(3 / FPS)
    for frame in frames:
        (face, *_) = frame.faces
        x1, y1, x2, y2 = face.box
        assert 0 <= x1 < x2 <= SIZE[0] and 0 <= y1 < y2 <= SIZE[1], frame  # upright pixels
        right_eye, left_eye = face.landmarks[:2]
        assert right_eye[0] < left_eye[0]  # the subject's right eye on the viewer's left: upright


def test_a_clip_stored_sideways_gives_the_boxes_of_the_same_clip_stored_upright(
    clips: dict[int, Path],
) -> None:
    assert veil.io.probe_video(clips[90]).rotation == 90
    for upright, sideways in zip(detect_video(clips[0]), detect_video(clips[90]), strict=True):
        assert sideways.faces[0].box == pytest.approx(upright.faces[0].box, abs=4.0)


def test_every_nth_frame(clips: dict[int, Path]) -> None:
    assert [f.index for f in detect_video(clips[0], every=5)] == [0, 5, 10]
    with pytest.raises(ValueError, match="every"):
        next(detect_video(clips[0], every=0))


def test_a_file_that_is_not_a_video_names_itself(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    with pytest.raises(InputError, match=r"notes\.mp4: "):
        next(detect_video(fake))


def test_cli_lists_faces_per_frame_beside_photos(
    clips: dict[int, Path], tmp_path: Path, astronaut: np.ndarray
) -> None:
    photo = veil.write_image(astronaut, tmp_path / "astronaut.png")
    result = CliRunner().invoke(app, ["detect", str(clips[0]), str(photo), "--json", "--detect-every", "4"])
    assert result.exit_code == 0, result.output
    video, still = (json.loads(line) for line in result.stdout.splitlines())
    assert video["file"] == str(clips[0]) and [f["frame"] for f in video["frames"]] == [0, 4, 8]
    assert all(len(f["faces"]) >= 1 for f in video["frames"])
    assert still["file"] == str(photo) and len(still["faces"]) == 1
    table = CliRunner().invoke(app, ["detect", str(clips[0].parent)])
    assert table.exit_code == 0 and f"of {FRAMES} frames" in table.stderr


def test_every_frame_of_an_animation_and_when_it_shows(astronaut_gif: Path) -> None:
    animation = veil.io.read_animation(astronaut_gif)
    frames = detect_animation(animation)
    assert [len(f.faces) for f in frames] == [1] * len(animation.frames)
    starts = [sum(animation.durations_ms[:index]) / 1000 for index in range(len(frames))]
    assert [f.seconds for f in frames] == pytest.approx(starts)
    result = CliRunner().invoke(app, ["detect", str(astronaut_gif), "--json"])
    assert result.exit_code == 0, result.output
    assert [len(f["faces"]) for f in json.loads(result.stdout)["frames"]] == [1] * len(frames)
