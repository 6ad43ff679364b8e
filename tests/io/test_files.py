"""veil.io.find_images: which files a run over files and folders picks up, and in what order."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image as PILImage

from veil.errors import InputError
from veil.io import IMAGE_EXTENSIONS, find_images


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_folder_is_walked_sorted_and_recursively(tmp_path: Path) -> None:
    _touch(tmp_path, "b.jpg", "a.png", "sub/c.webp", "sub/deeper/d.tif", "Z.JPG")

    found = find_images([tmp_path])

    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "Z.JPG",
        "a.png",
        "b.jpg",
        "sub/c.webp",
        "sub/deeper/d.tif",
    ]


def test_not_recursive_keeps_only_the_folders_own_files(tmp_path: Path) -> None:
    _touch(tmp_path, "a.jpg", "sub/b.jpg")

    assert find_images([tmp_path], recursive=False) == [tmp_path / "a.jpg"]


def test_folder_walk_skips_hidden_and_non_image_files(tmp_path: Path) -> None:
    _touch(tmp_path, "photo.jpg", ".hidden.jpg", ".thumbnails/t.jpg", "notes.txt", "clip.mp4", "jpg")

    assert find_images([tmp_path]) == [tmp_path / "photo.jpg"]


def test_named_files_are_kept_whatever_their_extension(tmp_path: Path) -> None:
    _touch(tmp_path, "notes.txt", ".hidden.jpg")

    found = find_images([tmp_path / "notes.txt", tmp_path / ".hidden.jpg"])

    assert found == [tmp_path / "notes.txt", tmp_path / ".hidden.jpg"]


def test_named_order_is_kept_and_duplicates_dropped(tmp_path: Path) -> None:
    _touch(tmp_path, "z.jpg", "album/a.jpg", "album/b.jpg")

    found = find_images([str(tmp_path / "z.jpg"), tmp_path / "album", tmp_path / "album" / "b.jpg"])

    assert found == [tmp_path / "z.jpg", tmp_path / "album" / "a.jpg", tmp_path / "album" / "b.jpg"]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(InputError) as caught:
        find_images([tmp_path, missing])

    assert str(caught.value) == f"{missing}: no such file or folder"


def test_empty_folder_gives_no_images(tmp_path: Path) -> None:
    assert find_images([tmp_path]) == []


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    _touch(tmp_path, "real/a.jpg")
    (tmp_path / "real" / "loop").symlink_to(tmp_path / "real")

    assert find_images([tmp_path / "real"]) == [tmp_path / "real" / "a.jpg"]


def test_image_extensions_are_lowercase_suffixes_pillow_reads() -> None:
    readable = {suffix for suffix, name in PILImage.registered_extensions().items() if name in PILImage.OPEN}

    assert all(suffix == suffix.lower() and suffix.startswith(".") for suffix in IMAGE_EXTENSIONS)
    assert readable >= IMAGE_EXTENSIONS
