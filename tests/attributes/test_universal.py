"""Universal perturbations: learned once from a few photos, applied to new photos and to video frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from veil.attributes import (
    HideWork,
    LiveHider,
    UniversalPerturbation,
    classify_attributes,
    hide_attributes_files,
    hide_attributes_video,
    universal_perturbation,
)
from veil.cli import app
from veil.errors import InputError
from veil.io import VideoReader, read_image, write_image

runner = CliRunner()
FRAMES = 12
SIZE = (1280, 720)


def _views(astronaut: np.ndarray) -> list[np.ndarray]:
    """The astronaut at three scales and offsets: what a few photos of one person look like to alignment."""
    import cv2

    views = []
    for side, (dx, dy) in ((256, (0, 0)), (320, (-30, 10)), (400, (20, -15))):
        resized = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        views.append(np.asarray(cv2.warpAffine(resized, matrix, (side, side), borderMode=cv2.BORDER_REFLECT)))
    return views


@pytest.fixture(scope="module")
def learned(astronaut: np.ndarray) -> UniversalPerturbation:
    # Race, with a chosen class: the judge reads her as White with over 90% confidence, a clear before.
    return universal_perturbation(
        _views(astronaut), hide="race=Asian", judges=("sface",), steps=60, visible=True
    )


@pytest.mark.slow
def test_universal_perturbation_fools_the_judge_on_a_photo_it_never_saw(
    astronaut: np.ndarray, learned: UniversalPerturbation
) -> None:
    import cv2

    assert learned.targets == {"race": "Asian"} and learned.fooled["sface"] == 1.0
    assert np.abs(learned.delta).max() <= learned.limit + 1e-3
    assert np.abs(learned.delta[0]).max() < 0.05 * learned.limit  # feathered to almost nothing at the edge
    unseen = np.asarray(cv2.resize(astronaut, (360, 360), interpolation=cv2.INTER_AREA))
    (face,) = classify_attributes(unseen, judge="sface")
    assert face.label("race") == "White"
    protected = learned.apply(unseen, [face.face])
    (after,) = classify_attributes(protected, faces=[face.face], judge="sface")
    assert after.label("race") == "Asian"
    changed = np.argwhere((protected != unseen).any(axis=2))
    x1, y1, x2, y2 = face.face.box
    assert changed[:, 1].min() > x1 - face.face.width and changed[:, 1].max() < x2 + face.face.width
    assert changed[:, 0].min() > y1 - face.face.height and changed[:, 0].max() < y2 + face.face.height


@pytest.mark.slow
def test_save_load_and_video(astronaut: np.ndarray, learned: UniversalPerturbation, tmp_path: Path) -> None:
    import av
    import cv2

    learned.save(tmp_path / "p.npz")
    loaded = UniversalPerturbation.load(tmp_path / "p.npz")
    assert np.array_equal(loaded.delta, learned.delta) and loaded.targets == learned.targets
    with pytest.raises(InputError, match=r"missing\.npz: no such file"):
        UniversalPerturbation.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not numpy")
    with pytest.raises(InputError, match=r"bad\.npz"):
        UniversalPerturbation.load(tmp_path / "bad.npz")

    frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    frame[100:612, 400:912] = astronaut
    src = tmp_path / "clip.mp4"
    with av.open(str(src), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for index in range(FRAMES):
            shifted = np.asarray(cv2.warpAffine(frame, np.float32([[1, 0, 3 * index], [0, 1, 0]]), SIZE))
            video_frame = av.VideoFrame.from_ndarray(shifted, format="rgb24")
            video_frame.pts = index
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
    report = hide_attributes_video(src, tmp_path / "out.mp4", loaded, detect_every=4)
    assert report.frames == FRAMES and report.frames_with_faces == FRAMES
    with VideoReader(tmp_path / "out.mp4") as out, VideoReader(src) as clean:
        assert (out.info.width, out.info.height) == SIZE and float(out.info.fps) == 25
        pairs = list(zip(out, clean, strict=True))
    last_out, last_clean = pairs[-1]
    (face,) = classify_attributes(last_clean.image, judge="sface")
    (read,) = classify_attributes(last_out.image, faces=[face.face], judge="sface")
    assert face.label("race") == "White" and read.label("race") == "Asian"


@pytest.mark.slow
def test_live_hider_protects_every_frame_of_a_stream(
    astronaut: np.ndarray, learned: UniversalPerturbation
) -> None:
    """Frames one at a time, as from a camera: detected on frames 0, 3 and 6, tracked between."""
    import cv2

    frames = []
    for index in range(8):
        frame = np.full((480, 640, 3), 60, np.uint8)
        frame[40:440, 40 + 5 * index : 440 + 5 * index] = cv2.resize(astronaut, (400, 400))
        frames.append(frame)
    hider = LiveHider(learned, detect_every=3)
    protected = [hider(frame) for frame in frames]
    assert (hider.frames, hider.frames_with_faces, hider.tracks) == (8, 8, 1)
    for index, (frame, out) in enumerate(zip(frames, protected, strict=True)):
        rows, cols = np.nonzero((out != frame).any(axis=2))  # around her face only, wherever she is
        assert len(rows) > 0 and rows.min() > 40 and rows.max() < 440
        assert cols.min() > 40 + 5 * index and cols.max() < 440 + 5 * index
    (face,) = classify_attributes(frames[5], judge="sface")  # a frame detection skipped
    (read,) = classify_attributes(protected[5], faces=[face.face], judge="sface")
    assert face.label("race") == "White" and read.label("race") == "Asian"
    blank = np.full((480, 640, 3), 60, np.uint8)
    assert LiveHider(learned)(blank) is blank  # no face: the frame itself, untouched
    bgr = np.ascontiguousarray(frames[0][:, :, ::-1])  # as OpenCV's capture gives it
    assert np.array_equal(LiveHider(learned)(bgr[:, :, ::-1]), protected[0])  # a reversed view works
    with pytest.raises(InputError, match=r"shape \(H, W, 3\)"):
        LiveHider(learned)(frames[0][:, :, 0])  # a grey frame


@pytest.mark.slow
def test_folder_job_mirrors_the_tree_resumes_and_fails_faceless_photos_alone(
    astronaut: np.ndarray, learned: UniversalPerturbation, tmp_path: Path
) -> None:
    learned.save(tmp_path / "p.npz")
    photos = tmp_path / "in"
    write_image(astronaut, photos / "a" / "one.jpg")
    write_image(astronaut[:, ::-1], photos / "two.png")
    write_image(np.full((200, 200, 3), 90, np.uint8), photos / "wall.png")  # no face: not protected
    work = HideWork(hide="race=Asian", judges=("sface",), universal=tmp_path / "p.npz")
    report = hide_attributes_files([photos], tmp_path / "out", work)
    status = {record.input: record.status for record in report.records}
    assert status == {"a/one.jpg": "done", "two.png": "done", "wall.png": "failed"}
    assert "no face found to protect" in str(report.failures[0].error)
    (face,) = classify_attributes(astronaut, judge="sface")
    (read,) = classify_attributes(
        read_image(tmp_path / "out" / "a" / "one.png"), faces=[face.face], judge="sface"
    )
    assert read.label("race") == "Asian"
    again = hide_attributes_files([photos], tmp_path / "out", work, resume=True)
    assert again.resumed == 2 and again.count("failed") == 1


@pytest.mark.slow
def test_cli_folder_job_with_a_saved_perturbation(
    learned: UniversalPerturbation, astronaut: np.ndarray, tmp_path: Path
) -> None:
    learned.save(tmp_path / "p.npz")
    write_image(astronaut, tmp_path / "in" / "one.jpg")
    command = ["cloak", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--hide", "race=Asian",
               "--universal", str(tmp_path / "p.npz"), "--models", "sface", "--workers", "1"]  # fmt: skip
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "1 protected (1 faces)" in result.output and (tmp_path / "out" / "one.png").is_file()
    assert runner.invoke(app, command).exit_code == 2  # the manifest is there: needs --resume
    assert runner.invoke(app, [*command, "--resume"]).exit_code == 0
    single = ["cloak", str(tmp_path / "in" / "one.jpg"), "-o", str(tmp_path / "out" / "one.png"), "--hide",
              "race=Asian", "--universal", str(tmp_path / "p.npz")]  # fmt: skip
    before = (tmp_path / "out" / "one.png").read_bytes()
    refused = runner.invoke(app, single)
    assert refused.exit_code == 2 and "already exists" in refused.output  # refused before any work
    assert (tmp_path / "out" / "one.png").read_bytes() == before  # nothing overwritten
