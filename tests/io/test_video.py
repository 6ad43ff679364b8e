"""Video in and out: probing, decoding, and writing a copy that keeps size, timing, rotation and audio."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veil.errors import InputError, OutputError
from veil.io import (
    OUTPUT_VIDEO_FORMATS,
    VIDEO_EXTENSIONS,
    VideoReader,
    VideoWriter,
    is_video,
    probe_video,
)

REPO = Path(__file__).resolve().parents[2]
SIZE = (640, 360)
FRAMES = 64
FPS = 25
# Mean absolute difference, in 8-bit levels, between a frame and its re-encoded copy:
# x264 at CRF 20 of an already-decoded frame loses about one level on average.
REENCODE_TOLERANCE = 3.0


@pytest.fixture(scope="module")
def videos(
    tmp_path_factory: pytest.TempPathFactory, astronaut_canvas: Path, make_test_video: Callable[..., Path]
) -> dict[str, Path]:
    make, canvas = make_test_video, astronaut_canvas
    folder = tmp_path_factory.mktemp("videos")
    seconds = FRAMES / FPS
    return {
        "plain": make(folder / "plain.mp4", photos=[canvas], seconds=seconds, fps=FPS, size=SIZE),
        "rotated": make(
            folder / "rotated.mp4", photos=[canvas], seconds=seconds, fps=FPS, size=SIZE, rotation=90
        ),
        "silent": make(
            folder / "silent.mkv", photos=[canvas], seconds=seconds, fps=FPS, size=SIZE, audio=False
        ),
    }


def _audio_packets(path: Path) -> list[tuple[bytes, float]]:
    import av

    with av.open(str(path)) as container:
        return [
            (bytes(packet), float(packet.pts * packet.time_base))
            for packet in container.demux(container.streams.audio[0])
            if packet.size and packet.pts is not None
        ]


def _frame_times(path: Path) -> list[float]:
    import av

    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def _copy(source: Path, target: Path, **options: bool) -> Path:
    with VideoReader(source) as reader, VideoWriter(target, source=source, **options) as writer:
        for frame in reader:
            writer.write(frame)
    return target


def _with_location(source: Path, target: Path) -> Path:
    """A remux of source with the container metadata a phone writes: a title and a GPS location."""
    import av

    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        streams = {stream.index: out.add_stream_from_template(stream) for stream in inp.streams}
        out.metadata.update({"title": "holiday", "location": "+48.8577+002.2950/"})
        for packet in inp.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream_index]
                out.mux(packet)
    return target


def test_is_video_goes_by_suffix() -> None:
    assert is_video("clip.MP4") and is_video(Path("a/b.mkv")) and is_video("phone.mov")
    assert not is_video("photo.jpg") and not is_video("notes.txt")
    assert set(OUTPUT_VIDEO_FORMATS) <= VIDEO_EXTENSIONS


def test_probe_reports_size_rate_frames_rotation_and_audio(videos: dict[str, Path]) -> None:
    info = probe_video(videos["plain"])
    assert (info.width, info.height) == SIZE
    assert info.fps == Fraction(FPS)
    assert info.frames == FRAMES
    assert info.rotation == 0
    assert info.has_audio
    assert info.codec == "h264"
    assert info.to_dict()["fps"] == FPS

    silent = probe_video(videos["silent"])
    assert not silent.has_audio
    assert abs(silent.frames - FRAMES) <= 1  # Matroska has no frame count: estimated from the duration


def test_rotated_video_is_read_as_stored(videos: dict[str, Path]) -> None:
    info = probe_video(videos["rotated"])
    assert info.rotation == 90
    assert (info.width, info.height) == SIZE[::-1]  # stored turned a quarter, shown as SIZE
    with VideoReader(videos["rotated"]) as reader:
        first = next(iter(reader))
    assert first.image.shape == (SIZE[0], SIZE[1], 3)


def test_reader_gives_every_frame_in_order(videos: dict[str, Path]) -> None:
    with VideoReader(videos["plain"]) as reader:
        frames = list(reader)
    assert [frame.index for frame in frames] == list(range(FRAMES))
    assert all(
        frame.image.shape == (SIZE[1], SIZE[0], 3) and frame.image.dtype == np.uint8 for frame in frames
    )
    pts = [frame.pts for frame in frames]
    assert all(isinstance(value, int) for value in pts)
    assert pts == sorted(pts) and len(set(pts)) == FRAMES


def test_reader_can_stop_early(videos: dict[str, Path]) -> None:
    with VideoReader(videos["plain"]) as reader:
        for frame in reader:
            if frame.index == 3:
                break
    # Leaving the block joined the decoding thread and closed the file without error.


@pytest.mark.parametrize("name", ["plain", "rotated"])
def test_copy_keeps_frames_timing_size_rotation_and_audio(
    videos: dict[str, Path], tmp_path: Path, name: str
) -> None:
    source = videos[name]
    copy = _copy(source, tmp_path / "copy.mp4")
    before, after = probe_video(source), probe_video(copy)
    assert (after.width, after.height, after.fps, after.frames, after.rotation, after.has_audio) == (
        before.width,
        before.height,
        before.fps,
        before.frames,
        before.rotation,
        before.has_audio,
    )
    assert _frame_times(copy) == _frame_times(source)
    # Audio is copied packet for packet, not re-encoded.
    assert _audio_packets(copy) == _audio_packets(source)
    with VideoReader(source) as original, VideoReader(copy) as copied:
        for one, two in zip(original, copied, strict=True):
            assert np.abs(one.image.astype(np.int16) - two.image).mean() < REENCODE_TOLERANCE


def test_copy_to_matroska_keeps_audio_in_step(videos: dict[str, Path], tmp_path: Path) -> None:
    source = videos["plain"]
    copy = _copy(source, tmp_path / "copy.mkv")
    assert probe_video(copy).has_audio
    packets, original = _audio_packets(copy), _audio_packets(source)
    assert [data for data, _ in packets] == [data for data, _ in original]
    # Matroska may shift every stream by the same amount (no negative timestamps): sync is what counts.
    audio_shift = packets[0][1] - original[0][1]
    video_shift = _frame_times(copy)[0] - _frame_times(source)[0]
    assert abs(audio_shift - video_shift) < 0.002


def test_location_and_other_metadata_are_dropped_unless_kept(videos: dict[str, Path], tmp_path: Path) -> None:
    import av

    source = _with_location(videos["plain"], tmp_path / "phone.mp4")
    stripped = _copy(source, tmp_path / "stripped.mp4")
    kept = _copy(source, tmp_path / "kept.mp4", keep_metadata=True)
    with av.open(str(stripped)) as container:
        assert not {"location", "title"} & set(container.metadata)
    with av.open(str(kept)) as container:
        assert container.metadata["location"] == "+48.8577+002.2950/"
        assert container.metadata["title"] == "holiday"


def test_writer_refuses_to_overwrite(videos: dict[str, Path], tmp_path: Path) -> None:
    source = videos["plain"]
    original = source.read_bytes()
    with pytest.raises(OutputError, match="input file"):
        VideoWriter(source, source=source, overwrite=True)
    assert source.read_bytes() == original

    existing = tmp_path / "existing.mp4"
    existing.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="already exists"):
        VideoWriter(existing, source=source)
    assert existing.read_bytes() == b"keep me"
    _copy(source, existing, overwrite=True)
    assert probe_video(existing).frames == FRAMES

    with pytest.raises(OutputError, match="unknown video extension"):
        VideoWriter(tmp_path / "out.gif", source=source)


def test_failed_write_leaves_no_file(videos: dict[str, Path], tmp_path: Path) -> None:
    source = videos["plain"]
    target = tmp_path / "out" / "broken.mp4"
    with (
        pytest.raises(RuntimeError),
        VideoReader(source) as reader,
        VideoWriter(target, source=source) as writer,
    ):
        for frame in reader:
            writer.write(frame)
            if frame.index == 5:
                raise RuntimeError("stopped halfway")
    assert list(target.parent.iterdir()) == []


def test_writer_checks_frame_size(videos: dict[str, Path], tmp_path: Path) -> None:
    source = videos["plain"]
    with VideoReader(source) as reader:
        frame = next(iter(reader))
    target = tmp_path / "out.mp4"
    with pytest.raises(InputError, match="shape"), VideoWriter(target, source=source) as writer:
        writer.write(dataclasses.replace(frame, image=frame.image[:100]))
    assert not target.exists()


@pytest.fixture
def bad_videos(tmp_path: Path, videos: dict[str, Path]) -> dict[str, Path]:
    data = videos["plain"].read_bytes()
    paths = {
        "empty": tmp_path / "empty.mp4",
        "text": tmp_path / "notes.mp4",
        "truncated": tmp_path / "truncated.mp4",
        "missing": tmp_path / "missing.mp4",
        "image": tmp_path / "photo.mp4",
    }
    paths["empty"].write_bytes(b"")
    paths["text"].write_text("these are my holiday notes, not a video\n")
    paths["truncated"].write_bytes(data[: len(data) // 2])  # the index (moov) is written last: cut off
    Image.new("RGB", (64, 48)).save(paths["image"], format="PNG")
    return paths


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("empty", "empty"),
        ("text", "not a video"),
        ("truncated", "truncated or corrupt"),
        ("missing", "no such file"),
        ("image", "still image"),
    ],
)
def test_bad_inputs_raise_input_error_naming_the_file(
    bad_videos: dict[str, Path], kind: str, reason: str
) -> None:
    path = bad_videos[kind]
    with pytest.raises(InputError, match=reason) as caught:
        probe_video(path)
    assert str(path) in str(caught.value)
    assert caught.value.path == str(path)
    with pytest.raises(InputError):
        VideoReader(path)
