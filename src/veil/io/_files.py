"""Turn the paths a user names (files and folders) into the list of images to process."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from veil.errors import InputError

__all__ = ["IMAGE_EXTENSIONS", "find_images"]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset(
    {
        ".bmp",
        ".gif",
        ".jfif",
        ".jpe",
        ".jpeg",
        ".jpg",
        ".pbm",
        ".pgm",
        ".png",
        ".ppm",
        ".tif",
        ".tiff",
        ".webp",
    }
)
"""Lowercase suffixes picked up when walking a folder (matched case-insensitively).

Only folders are filtered: a file named explicitly is kept whatever its suffix,
so that a mislabelled or broken file gets a clear error from ``read_image``
instead of being skipped without a word.
"""


def find_images(paths: Iterable[str | Path], *, recursive: bool = True) -> list[Path]:
    """The image files among ``paths``, with folders expanded, in a stable order.

    Files come back in the order they were named. Each folder is replaced by the
    files in it whose suffix is in ``IMAGE_EXTENSIONS``, sorted by path, so two
    runs over the same tree process (and number) images the same way. Hidden
    files and folders (name starting with ".") inside a folder are skipped:
    they are thumbnails, editor backups and version-control data, not photos.
    A path reached twice is listed once.

    Args:
        paths: Files and folders.
        recursive: Also walk sub-folders; when False, only a folder's own files.

    Raises:
        InputError: A named path that does not exist.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir():
            candidates = _walk(path, recursive=recursive)
        elif path.exists():
            candidates = [path]
        else:
            raise InputError(path, "no such file or folder")
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    logger.debug("found %d images", len(found))
    return found


def _walk(folder: Path, *, recursive: bool) -> list[Path]:
    """Image files under folder, sorted, hidden entries skipped, symlinked folders not followed."""
    images: list[Path] = []
    for root, folders, files in os.walk(folder):
        # Pruning in place is how os.walk is told not to descend; sorting makes the order stable.
        folders[:] = sorted(name for name in folders if recursive and not name.startswith("."))
        images.extend(
            Path(root, name)
            for name in sorted(files)
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS
        )
    return images
