"""blur_video: every face hidden in every frame; size, timing, rotation and audio kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import veil
from veil.anonymize import VideoReport, blur_video
from veil.errors import InputError, OutputError, UnknownModelError
from veil.io import VideoReader, probe_video
from veil.types import Face, ProgressUpdate

REPO = Path(__file__).resolve().parents[2]
SIZE = (640, 360)
FRAMES = 64
FPS = 25
# Mean absolute difference, in 8-bit levels, that re-encoding alone causes (x264 CRF 20): a little over 1.
BACKGROUND_TOLERANCE = 3.0
# A blurred face differs from the original by far more than re-encoding does.
FACE_CHANGE = 12.0


@pytest.fixture(scope="module")
def videos(
    tmp_path_factory: pytest.TempPathFactory, astronaut_canvas: Path, make_test_video: Callable[..., Path]
) -> dict[str, Path]:
    """Slow pans and zooms over the astronaut on a wider canvas (her face never leaves the frame)."""
    folder = tmp_path_factory.mktemp("videos")
    make = make_test_video
    options = {"photos": [astronaut_canvas], "seconds": FRAMES / FPS, "fps": FPS, "size": SIZE}
    return {
        "plain": make(folder / "plain.mp4", **options),
        "rotated": make(folder / "rotated.mov", rotation=90, **options),
    }


def _frames(path: Path) -> Iterator[np.ndarray]:
    with VideoReader(path) as reader:
        for frame in reader:
            yield frame.image


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(image, rotation // 90))


def _changes(face: Face, before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """Mean absolute change inside the face box, and far outside it (the background)."""
    diff = np.abs(before.astype(np.int16) - after).mean(axis=2)
    x1, y1, x2, y2 = (round(v) for v in face.box)
    inside = diff[y1:y2, x1:x2].mean()
    outside = np.ones(diff.shape, bool)
    grow_x, grow_y = x2 - x1, y2 - y1  # well beyond the blurred ellipse (expand 0.3 plus feathering)
    outside[max(0, y1 - grow_y) : y2 + grow_y, max(0, x1 - grow_x) : x2 + grow_x] = False
    return float(inside), float(diff[outside].mean())


def _check_every_face_hidden(source: Path, output: Path, rotation: int = 0) -> None:
    for index, (before, after) in enumerate(zip(_frames(source), _frames(output), strict=True)):
        upright_before, upright_after = _upright(before, rotation), _upright(after, rotation)
        faces = veil.detect(upright_before)
        assert faces, f"test video frame {index} shows no face"
        face_change, background_change = _changes(faces[0], upright_before, upright_after)
        assert face_change > FACE_CHANGE, f"frame {index}: the face is not blurred ({face_change:.1f})"
        assert background_change < BACKGROUND_TOLERANCE, f"frame {index}: background changed"


def test_blurs_every_frame_and_keeps_the_video_as_it_was(videos: dict[str, Path], tmp_path: Path) -> None:
    source = videos["plain"]
    updates: list[ProgressUpdate] = []
    report = blur_video(source, tmp_path / "out.mp4", progress=updates.append)

    assert isinstance(report, VideoReport)
    assert report.frames == report.frames_with_faces == FRAMES
    assert report.tracks == 1
    assert report.fps_in == FPS
    assert report.frames_per_second > 0
    assert set(report.to_dict()) == {
        "frames", "frames_with_faces", "tracks", "tracks_kept", "fps_in", "seconds", "frames_per_second",
    }  # fmt: skip
    assert [update.done for update in updates] == list(range(1, FRAMES + 1))
    assert updates[-1].total == FRAMES

    before, after = probe_video(source), probe_video(tmp_path / "out.mp4")
    assert (after.width, after.height, after.fps, after.frames, after.rotation) == (
        before.width, before.height, before.fps, before.frames, before.rotation,
    )  # fmt: skip
    assert after.has_audio
    _check_every_face_hidden(source, tmp_path / "out.mp4")


def test_audio_is_copied_not_reencoded(videos: dict[str, Path], tmp_path: Path) -> None:
    import av

    def packets(path: Path) -> list[bytes]:
        with av.open(str(path)) as container:
            return [bytes(packet) for packet in container.demux(container.streams.audio[0]) if packet.size]

    output = tmp_path / "out.mkv"
    blur_video(videos["plain"], output)
    assert packets(output) == packets(videos["plain"])


def test_rotated_video_is_searched_upright_and_keeps_its_rotation(
    videos: dict[str, Path], tmp_path: Path
) -> None:
    source = videos["rotated"]
    # dlib's HOG detector finds only upright faces (YuNet finds this one at any angle), so
    # every face in the output proves the frames were turned upright for detection.
    report = blur_video(source, tmp_path / "out.mov", detector="dlib-hog", detect_every=4)
    before, after = probe_video(source), probe_video(tmp_path / "out.mov")
    assert after.rotation == before.rotation == 90
    assert (after.width, after.height) == (before.width, before.height) == SIZE[::-1]
    assert report.frames_with_faces == FRAMES
    _check_every_face_hidden(source, tmp_path / "out.mov", rotation=90)


def test_detecting_every_third_frame_still_hides_the_moving_face(
    videos: dict[str, Path], tmp_path: Path
) -> None:
    report = blur_video(videos["plain"], tmp_path / "out.mp4", detect_every=3)
    assert report.frames_with_faces == FRAMES
    _check_every_face_hidden(videos["plain"], tmp_path / "out.mp4")


def test_never_overwrites_the_input(videos: dict[str, Path]) -> None:
    source = videos["plain"]
    original = source.read_bytes()
    with pytest.raises(OutputError, match="input file"):
        blur_video(source, source, overwrite=True)
    assert source.read_bytes() == original


def test_refuses_an_existing_output_unless_told(videos: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="already exists"):
        blur_video(videos["plain"], target)
    assert target.read_bytes() == b"keep me"
    blur_video(videos["plain"], target, overwrite=True, detect_every=4)
    assert probe_video(target).frames == FRAMES


@pytest.mark.parametrize("kind", ["empty", "text", "truncated"])
def test_bad_inputs_raise_input_error_naming_the_file(
    videos: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    source = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        source.write_bytes(b"")
    elif kind == "text":
        source.write_text("not a video\n")
    else:
        data = videos["plain"].read_bytes()
        source.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as caught:
        blur_video(source, tmp_path / "out.mp4")
    assert str(source) in str(caught.value)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"method": "smudge"}, UnknownModelError),
        ({"detector": "nope"}, UnknownModelError),
        ({"detect_every": 0}, ValueError),
        ({"detect_side": 0}, ValueError),
        ({"strength": 0.0}, ValueError),
        ({"expand": -0.2}, ValueError),
    ],
)
def test_bad_options_fail_before_writing(
    videos: dict[str, Path], tmp_path: Path, options: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        blur_video(videos["plain"], tmp_path / "out.mp4", **options)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
