"""veil.io read_image / decode_image / write_image, through the public API, on real files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, ImageCms
from PIL import Image as PILImage

from veil.errors import ImageTooLargeError, InputError, OutputError, VeilWarning
from veil.io import (
    OUTPUT_FORMATS,
    check_image,
    decode_image,
    read_image,
    remove_temporaries_below,
    write_image,
)

# Mean absolute error (0..255 scale) allowed after a lossy round trip at quality 95;
# measured about 2 for JPEG and WebP on the astronaut.
LOSSY_MEAN_ERROR = 4.0


def _jpeg_bytes(image: np.ndarray, tmp_path: Path) -> bytes:
    return write_image(image, tmp_path / "source.jpg").read_bytes()


# Round trips


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".tiff"])
def test_lossless_round_trip_is_exact(astronaut: np.ndarray, tmp_path: Path, suffix: str) -> None:
    path = write_image(astronaut, tmp_path / f"out{suffix}")

    assert np.array_equal(read_image(path), astronaut)


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg", ".webp", ".JPG"])
def test_lossy_round_trip_is_close(astronaut: np.ndarray, tmp_path: Path, suffix: str) -> None:
    back = read_image(write_image(astronaut, tmp_path / f"out{suffix}"))

    assert back.shape == astronaut.shape
    assert np.abs(back.astype(np.int16) - astronaut).mean() < LOSSY_MEAN_ERROR


@pytest.mark.parametrize("suffix", sorted(OUTPUT_FORMATS))
def test_written_file_has_the_format_of_its_extension(
    astronaut: np.ndarray, tmp_path: Path, suffix: str
) -> None:
    path = write_image(astronaut, tmp_path / f"out{suffix}")

    with PILImage.open(path) as written:
        assert written.format == OUTPUT_FORMATS[suffix]


def test_read_gives_a_writable_contiguous_rgb_uint8_array(astronaut: np.ndarray, tmp_path: Path) -> None:
    image = read_image(write_image(astronaut, tmp_path / "out.png"))

    assert image.dtype == np.uint8
    assert image.shape == (512, 512, 3)
    assert image.flags.c_contiguous
    assert image.flags.writeable


def test_decode_image_matches_read_image(astronaut: np.ndarray, tmp_path: Path) -> None:
    path = write_image(astronaut, tmp_path / "out.jpg")

    assert np.array_equal(decode_image(path.read_bytes()), read_image(path))


def test_read_accepts_str_paths(astronaut: np.ndarray, tmp_path: Path) -> None:
    path = write_image(astronaut, str(tmp_path / "out.png"))

    assert np.array_equal(read_image(str(path)), astronaut)


# EXIF orientation


def _with_orientation(image: np.ndarray, path: Path, orientation: int) -> Path:
    exif = PILImage.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    PILImage.fromarray(image).save(path, exif=exif)
    return path


def test_exif_orientation_6_is_applied_to_jpeg(astronaut: np.ndarray, tmp_path: Path) -> None:
    wide = astronaut[:200]
    path = _with_orientation(wide, tmp_path / "phone.jpg", 6)

    assert read_image(path).shape == (512, 200, 3)


def test_exif_orientation_6_turns_the_pixels_clockwise(astronaut: np.ndarray, tmp_path: Path) -> None:
    wide = astronaut[:200]
    path = _with_orientation(wide, tmp_path / "phone.png", 6)

    assert np.array_equal(read_image(path), np.rot90(wide, k=-1))


# Colour modes


def _saved(tmp_path: Path, image: PILImage.Image, name: str) -> Path:
    path = tmp_path / name
    image.save(path)
    with PILImage.open(path) as reopened:
        assert reopened.mode == image.mode, "the file must really hold the mode under test"
    return path


def test_grayscale_becomes_gray_rgb(tmp_path: Path) -> None:
    gray = np.array([[0, 100, 255]], dtype=np.uint8)
    path = _saved(tmp_path, PILImage.fromarray(gray), "gray.png")

    assert read_image(path)[0].tolist() == [[0, 0, 0], [100, 100, 100], [255, 255, 255]]


def test_one_bit_becomes_black_and_white(tmp_path: Path) -> None:
    bits = PILImage.new("1", (2, 1))
    bits.putpixel((1, 0), 1)
    path = _saved(tmp_path, bits, "bits.png")

    assert read_image(path)[0].tolist() == [[0, 0, 0], [255, 255, 255]]


def test_palette_becomes_its_colours(tmp_path: Path) -> None:
    palette = PILImage.new("P", (2, 1))
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.putpixel((1, 0), 1)
    path = _saved(tmp_path, palette, "palette.png")

    assert read_image(path)[0].tolist() == [[255, 0, 0], [0, 0, 255]]


def test_palette_transparency_becomes_white(tmp_path: Path) -> None:
    palette = PILImage.new("P", (2, 1))
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.putpixel((1, 0), 1)
    palette.info["transparency"] = 1
    path = tmp_path / "palette.png"
    palette.save(path, transparency=1)

    assert read_image(path)[0].tolist() == [[255, 0, 0], [255, 255, 255]]


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [0, 0, 0, 128]]], dtype=np.uint8)
    path = _saved(tmp_path, PILImage.fromarray(rgba), "rgba.png")

    assert read_image(path)[0].tolist() == [[10, 20, 30], [255, 255, 255], [127, 127, 127]]


def test_gray_with_alpha_is_composited_on_white(tmp_path: Path) -> None:
    gray_alpha = PILImage.fromarray(np.array([[[50, 255], [50, 0]]], dtype=np.uint8), mode="LA")
    path = _saved(tmp_path, gray_alpha, "la.png")

    assert read_image(path)[0].tolist() == [[50, 50, 50], [255, 255, 255]]


def test_cmyk_becomes_rgb(tmp_path: Path) -> None:
    cmyk = PILImage.new("CMYK", (3, 1))
    cmyk.putpixel((0, 0), (0, 0, 0, 0))
    cmyk.putpixel((1, 0), (255, 0, 0, 0))
    cmyk.putpixel((2, 0), (0, 0, 0, 255))
    path = _saved(tmp_path, cmyk, "cmyk.tif")

    assert read_image(path)[0].tolist() == [[255, 255, 255], [0, 255, 255], [0, 0, 0]]


@pytest.mark.parametrize(("mode", "name"), [("I;16", "deep.png"), ("I;16", "deep.tif"), ("I", "deep32.tif")])
def test_16_bit_is_scaled_not_clipped(tmp_path: Path, mode: str, name: str) -> None:
    samples = np.array([[0, 257 * 100, 32768, 65535]], dtype=np.uint16 if mode == "I;16" else np.int32)
    path = _saved(tmp_path, PILImage.fromarray(samples), name)

    assert read_image(path)[0, :, 0].tolist() == [0, 100, 128, 255]


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [PILImage.new("RGB", (4, 4), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)

    image = read_image(path)

    assert image.shape == (4, 4, 3)
    assert (image == (255, 0, 0)).all()


# Bad inputs


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"

    with pytest.raises(InputError) as caught:
        read_image(path)

    assert str(caught.value) == f"{path}: no such file"


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_image(tmp_path)

    assert str(caught.value) == f"{tmp_path}: is a folder, not an image file"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")

    with pytest.raises(InputError) as caught:
        read_image(path)

    assert str(caught.value) == f"{path}: file is empty (0 bytes)"
    assert caught.value.path == str(path)


def test_text_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: eggs, milk\n")

    with pytest.raises(InputError) as caught:
        read_image(path)

    assert str(caught.value) == f"{path}: not an image (Pillow cannot identify it)"


def test_truncated_jpeg(astronaut: np.ndarray, tmp_path: Path) -> None:
    data = _jpeg_bytes(astronaut, tmp_path)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(InputError) as caught:
        read_image(path)

    assert str(caught.value).startswith(f"{path}: truncated or corrupt image data (image file is truncated")


@pytest.mark.parametrize("suffix", [".png", ".webp", ".bmp", ".tif"])
def test_truncated_files_of_every_format(astronaut: np.ndarray, tmp_path: Path, suffix: str) -> None:
    data = write_image(astronaut, tmp_path / f"whole{suffix}").read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) * 9 // 10])

    with pytest.raises(InputError) as caught:
        read_image(path)

    assert str(caught.value).startswith(f"{path}: truncated or corrupt image ")


@pytest.mark.parametrize(
    "damage",
    [
        # Garbage without 0xFF bytes: a stray marker before the scan would make Pillow
        # unable to identify the file at all, a different case (test_text_named_jpg).
        pytest.param(
            lambda data, at: data[:at] + bytes(range(255)) * 2 + data[at + 510 :], id="garbage-over-scan"
        ),
        pytest.param(
            lambda data, at: data[: at + 4000] + b"\xff\xc0" + data[at + 4002 :], id="marker-mid-scan"
        ),
    ],
)
def test_corrupt_jpeg(astronaut: np.ndarray, tmp_path: Path, damage: Callable[[bytes, int], bytes]) -> None:
    data = _jpeg_bytes(astronaut, tmp_path)
    scan = data.index(b"\xff\xda")  # start of scan: the compressed pixels follow
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(damage(data, scan))

    with pytest.raises(InputError) as caught:
        read_image(path)

    assert str(caught.value).startswith(f"{path}: truncated or corrupt image data (")


def test_over_max_pixels_is_refused_from_the_header(
    tmp_path: Path, forged_png: Callable[[Path, int, int], Path]
) -> None:
    # 108 MP: over our 100 MP default, and over Pillow's 89 MP warning threshold,
    # whose DecompressionBombWarning must not leak (pytest turns warnings into errors).
    path = forged_png(tmp_path / "big.png", 12_000, 9_000)

    with pytest.raises(ImageTooLargeError) as caught:
        read_image(path)

    assert str(caught.value) == f"{path}: 12000x9000 px is over the 100 MP limit (raise max_pixels)"


def test_far_over_the_limit_is_refused_from_the_header(
    tmp_path: Path, forged_png: Callable[[Path, int, int], Path]
) -> None:
    # 400 MP is past Pillow's own hard limit, which refuses it before the header check.
    path = forged_png(tmp_path / "huge.png", 20_000, 20_000)

    with pytest.raises(ImageTooLargeError) as caught:
        read_image(path)

    assert str(caught.value) == f"{path}: 400 MP is over the 100 MP limit and Pillow's own hard limit"


def test_under_max_pixels_but_over_pillows_warning_is_decoded(
    tmp_path: Path, forged_png: Callable[[Path, int, int], Path]
) -> None:
    # 90 MP passes the size check; the forged file then fails as what it is, truncated.
    path = forged_png(tmp_path / "ninety.png", 10_000, 9_000)

    with pytest.raises(InputError) as caught:
        read_image(path)

    assert not isinstance(caught.value, ImageTooLargeError)
    assert str(caught.value).startswith(f"{path}: truncated or corrupt image data (")


def test_max_pixels_is_configurable(astronaut: np.ndarray, tmp_path: Path) -> None:
    path = write_image(astronaut, tmp_path / "out.png")

    assert read_image(path, max_pixels=512 * 512).shape == (512, 512, 3)
    with pytest.raises(ImageTooLargeError, match=r"512x512 px is over the 0\.262143 MP limit"):
        read_image(path, max_pixels=512 * 512 - 1)


def test_decode_image_names_the_input_in_errors() -> None:
    with pytest.raises(InputError) as empty:
        decode_image(b"", name="upload.jpg")
    with pytest.raises(InputError) as text:
        decode_image(b"hello")

    assert str(empty.value) == "upload.jpg: file is empty (0 bytes)"
    assert str(text.value) == "<bytes>: not an image (Pillow cannot identify it)"


def test_input_errors_are_value_errors(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")

    with pytest.raises(ValueError, match="empty"):
        read_image(path)


# Writing


@pytest.mark.parametrize("suffix", sorted(OUTPUT_FORMATS))
def test_output_carries_no_metadata_by_default(astronaut: np.ndarray, tmp_path: Path, suffix: str) -> None:
    source = _photo_with_metadata(astronaut, tmp_path / "camera.jpg")

    path = write_image(read_image(source), tmp_path / f"out{suffix}", metadata_from=source)

    # TIFF keeps its layout in the same tag table as EXIF, so look for the tags a camera adds.
    with PILImage.open(path) as written:
        exif = written.getexif()
        assert not {ExifTags.Base.Model, ExifTags.Base.Orientation, ExifTags.IFD.GPSInfo} & set(exif)
        assert "icc_profile" not in written.info
    assert b"Test Camera" not in path.read_bytes()


def _photo_with_metadata(image: np.ndarray, path: Path) -> Path:
    """A JPEG like a phone's: GPS position, camera model, orientation 6 and an ICC profile."""
    exif = PILImage.Exif()
    exif[ExifTags.Base.Model] = "Test Camera"
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] = "N"
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    PILImage.fromarray(image).save(path, exif=exif, icc_profile=icc)
    return path


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_keep_metadata_copies_exif_and_icc_with_orientation_reset(
    astronaut: np.ndarray, tmp_path: Path, suffix: str
) -> None:
    source = _photo_with_metadata(astronaut[:200], tmp_path / "camera.jpg")
    image = read_image(source)

    path = write_image(image, tmp_path / f"out{suffix}", keep_metadata=True, metadata_from=source)

    with PILImage.open(source) as original, PILImage.open(path) as written:
        exif = written.getexif()
        assert exif[ExifTags.Base.Model] == "Test Camera"
        assert exif[ExifTags.Base.Orientation] == 1
        assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
        assert written.info["icc_profile"] == original.info["icc_profile"]
    assert read_image(path).shape == (512, 200, 3), "pixels already upright must not turn again"


def test_keep_metadata_in_bmp_warns_that_it_is_dropped(astronaut: np.ndarray, tmp_path: Path) -> None:
    source = _photo_with_metadata(astronaut, tmp_path / "camera.jpg")

    with pytest.warns(VeilWarning, match="BMP files cannot hold EXIF"):
        path = write_image(astronaut, tmp_path / "out.bmp", keep_metadata=True, metadata_from=source)

    assert path.is_file()


def test_keep_metadata_needs_a_source(astronaut: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="keep_metadata=True needs metadata_from"):
        write_image(astronaut, tmp_path / "out.jpg", keep_metadata=True)


def test_never_overwrites_the_input(astronaut: np.ndarray, tmp_path: Path) -> None:
    source = write_image(astronaut, tmp_path / "in.jpg")
    before = source.read_bytes()
    alias = tmp_path / "sub" / ".." / "in.jpg"
    (tmp_path / "sub").mkdir()

    for target in (source, alias):
        with pytest.raises(OutputError) as caught:
            write_image(astronaut[::-1].copy(), target, metadata_from=source, overwrite=True)
        assert (
            str(caught.value)
            == f"{target}: is the input file; write to another path (inputs are never overwritten)"
        )

    assert source.read_bytes() == before


def test_never_overwrites_the_input_through_a_symlink(astronaut: np.ndarray, tmp_path: Path) -> None:
    source = write_image(astronaut, tmp_path / "in.png")
    link = tmp_path / "link.png"
    link.symlink_to(source)

    with pytest.raises(OutputError, match="is the input file"):
        write_image(astronaut, link, metadata_from=source, overwrite=True)


def test_refuses_an_existing_file_unless_overwrite(astronaut: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    path.write_bytes(b"keep me")

    with pytest.raises(OutputError) as caught:
        write_image(astronaut, path)
    assert str(caught.value) == f"{path}: already exists (pass overwrite=True to replace it)"
    assert path.read_bytes() == b"keep me"

    write_image(astronaut, path, overwrite=True)
    assert np.array_equal(read_image(path), astronaut)


@pytest.mark.parametrize("name", ["out.xyz", "out.gif", "out"])
def test_unknown_extension(astronaut: np.ndarray, tmp_path: Path, name: str) -> None:
    path = tmp_path / name

    with pytest.raises(OutputError) as caught:
        write_image(astronaut, path)

    assert str(caught.value).startswith(f"{path}: unknown image extension ")
    assert ".bmp, .jpeg, .jpg, .png, .tif, .tiff, .webp" in str(caught.value)
    assert not path.exists()


def test_creates_parent_folders_and_returns_the_path(astronaut: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "out.png"

    assert write_image(astronaut, path) == path
    assert path.is_file()


def test_write_leaves_no_temporary_files(astronaut: np.ndarray, tmp_path: Path) -> None:
    write_image(astronaut, tmp_path / "out.jpg")
    write_image(astronaut, tmp_path / "out.jpg", overwrite=True)

    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    too_wide_for_webp = np.zeros((1, 17_000, 3), dtype=np.uint8)

    with pytest.raises(OutputError, match="could not write"):
        write_image(too_wide_for_webp, tmp_path / "out.webp")

    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.webp"
    path.write_bytes(b"old")

    with pytest.raises(OutputError):
        write_image(np.zeros((1, 17_000, 3), dtype=np.uint8), path, overwrite=True)

    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.webp"]


def test_output_permissions_follow_the_umask(astronaut: np.ndarray, tmp_path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)

    path = write_image(astronaut, tmp_path / "out.png")

    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


_NOT_RGB_UINT8 = pytest.mark.parametrize(
    "array",
    [
        np.zeros((4, 4, 3), dtype=np.float32),
        np.zeros((4, 4), dtype=np.uint8),
        np.zeros((4, 4, 4), dtype=np.uint8),
        np.zeros((0, 4, 3), dtype=np.uint8),
    ],
    ids=["float32", "gray", "rgba", "empty"],
)


@_NOT_RGB_UINT8
def test_write_rejects_arrays_that_are_not_rgb_uint8(tmp_path: Path, array: np.ndarray) -> None:
    with pytest.raises(InputError) as caught:
        write_image(array, tmp_path / "out.png")

    expected = f"got {array.dtype} array of shape {array.shape}"
    assert str(caught.value) == f"<array>: expected an RGB uint8 array of shape (H, W, 3), {expected}"
    assert not (tmp_path / "out.png").exists()


# check_image


@_NOT_RGB_UINT8
def test_check_image_rejects_arrays_that_are_not_rgb_uint8(array: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"^<array>: expected an RGB uint8 array"):
        check_image(array)


def test_check_image_rejects_other_types() -> None:
    with pytest.raises(InputError) as caught:
        check_image([[[0, 0, 0]]])  # type: ignore[arg-type]

    assert str(caught.value) == "<array>: expected an RGB uint8 array of shape (H, W, 3), got list"


def test_check_image_passes_a_good_array_through(astronaut: np.ndarray) -> None:
    assert check_image(astronaut) is astronaut


def test_check_image_makes_views_contiguous(astronaut: np.ndarray) -> None:
    mirrored = astronaut[:, ::-1]

    checked = check_image(mirrored)

    assert checked.flags.c_contiguous
    assert np.array_equal(checked, mirrored)


def test_write_accepts_non_contiguous_views(astronaut: np.ndarray, tmp_path: Path) -> None:
    mirrored = astronaut[:, ::-1]

    assert np.array_equal(read_image(write_image(mirrored, tmp_path / "out.png")), mirrored)


def test_remove_temporaries_below_walks_the_tree_once(tmp_path: Path) -> None:
    leftovers = [tmp_path / ".a.png.0a1b2c3d.tmp", tmp_path / "x" / "y" / ".b.jpg.ffff0000.tmp"]
    others = [
        tmp_path / "x" / ".b.jpg",
        tmp_path / "x" / "b.jpg.0a1b2c3d.tmp",
        tmp_path / ".c.gif.0a1b2c3d.tmp",
    ]
    for path in [*leftovers, *others]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert remove_temporaries_below(tmp_path, "*.[pj][np]g") == 2
    assert not any(path.exists() for path in leftovers) and all(path.exists() for path in others)
