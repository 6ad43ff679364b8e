"""veil.io's animations: every frame and its timing in and out, and no silent loss of frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from veil.errors import ImageTooLargeError, InputError, OutputError
from veil.io import (
    Animation,
    count_frames,
    count_frames_in_bytes,
    read_animation,
    read_still,
    write_animation,
    write_image,
)

COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))


def _gif(path: Path, durations: tuple[int, ...] = (40, 60, 80), loop: int = 2) -> Path:
    frames = [PILImage.new("RGB", (6, 4), colour) for colour in COLOURS]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=list(durations), loop=loop)
    return path


def test_gif_frames_and_timing_are_read(tmp_path: Path) -> None:
    animation = read_animation(_gif(tmp_path / "a.gif"))

    assert [tuple(frame[0, 0]) for frame in animation.frames] == list(COLOURS)
    assert all(frame.shape == (4, 6, 3) for frame in animation.frames)
    assert animation.durations_ms == (40, 60, 80) and animation.loop == 2


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_round_trip_keeps_every_frame_exactly(tmp_path: Path, astronaut: np.ndarray, suffix: str) -> None:
    frames = (astronaut[:64, :96], astronaut[64:128, :96], np.ascontiguousarray(astronaut[:64, 96:192]))
    written = write_animation(Animation(frames, (30, 50, 70), loop=0), tmp_path / f"out{suffix}")

    back = read_animation(written)

    assert len(back.frames) == 3 and all(
        np.array_equal(a, b) for a, b in zip(back.frames, frames, strict=True)
    )
    assert back.durations_ms == (30, 50, 70)


def test_a_still_photo_is_one_frame(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = write_image(astronaut, tmp_path / "still.jpg")

    assert count_frames(path) == 1
    assert len(read_animation(path).frames) == 1
    assert read_still(path).shape == astronaut.shape


def test_work_that_writes_photos_back_refuses_animations(tmp_path: Path) -> None:
    path = _gif(tmp_path / "a.gif")

    with pytest.raises(InputError, match="animated image \\(3 frames\\)") as caught:
        read_still(path)
    assert caught.value.path == str(path)


def test_bad_files_give_read_images_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gif"
    empty.touch()
    text = tmp_path / "text.gif"
    text.write_text("not a picture")

    for path, reason in ((empty, "file is empty"), (text, "not an image")):
        assert count_frames(path) == 1  # not an animation; reading it says what it is
        with pytest.raises(InputError, match=reason):
            read_animation(path)
        with pytest.raises(InputError, match=reason):
            read_still(path)
    broken = tmp_path / "broken.gif"
    broken.write_bytes(_gif(tmp_path / "a.gif").read_bytes()[:40])
    with pytest.raises(InputError, match=r"broken\.gif: not an image"):
        count_frames(broken)


def test_only_gif_png_and_webp_animate(tmp_path: Path, astronaut: np.ndarray) -> None:
    pages = [PILImage.fromarray(astronaut[:64, :64]), PILImage.fromarray(astronaut[64:128, :64])]
    tiff, mpo = tmp_path / "pages.tif", tmp_path / "phone.jpg"  # a phone's JPEG with a second picture
    pages[0].save(tiff, save_all=True, append_images=pages[1:])
    pages[0].save(mpo, format="MPO", save_all=True, append_images=pages[1:])
    for path in (tiff, mpo):
        with PILImage.open(path) as opened:
            assert opened.n_frames == 2

        assert count_frames(path) == 1 and count_frames_in_bytes(path.read_bytes()) == 1
        assert len(read_animation(path).frames) == 1
        assert read_still(path).shape == (64, 64, 3)
    assert count_frames_in_bytes(_gif(tmp_path / "a.gif").read_bytes()) == 3


def test_the_pixel_limit_counts_every_frame(tmp_path: Path) -> None:
    path = _gif(tmp_path / "a.gif")  # 3 frames of 6x4 = 72 pixels

    assert len(read_animation(path, max_pixels=72).frames) == 3
    with pytest.raises(ImageTooLargeError, match="3 frames of 6x4 px"):
        read_animation(path, max_pixels=71)


def test_writing_refuses_gif_the_input_and_existing_files(tmp_path: Path) -> None:
    source = _gif(tmp_path / "a.gif")
    animation = read_animation(source)
    taken = write_animation(animation, tmp_path / "taken.png")

    with pytest.raises(OutputError, match=r"use one of \.png, \.webp"):
        write_animation(animation, tmp_path / "out.gif")
    with pytest.raises(OutputError, match="already exists"):
        write_animation(animation, taken)
    with pytest.raises(OutputError, match="is the input file"):
        write_animation(animation, taken, metadata_from=taken, overwrite=True)
    with pytest.raises(InputError, match="all of one size"):
        write_animation(
            Animation((animation.frames[0], animation.frames[0][:2]), (10, 10)), tmp_path / "b.png"
        )


def test_output_carries_no_metadata(tmp_path: Path, astronaut: np.ndarray) -> None:
    exif = PILImage.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    frames = [PILImage.fromarray(astronaut[:32, :32]), PILImage.fromarray(astronaut[32:64, :32])]
    source = tmp_path / "with_exif.webp"
    frames[0].save(source, save_all=True, append_images=frames[1:], exif=exif.tobytes(), lossless=True)
    with PILImage.open(source) as original:
        assert original.getexif()

    written = write_animation(read_animation(source), tmp_path / "out.webp", metadata_from=source)

    with PILImage.open(written) as out:
        assert not out.getexif() and "exif" not in out.info
