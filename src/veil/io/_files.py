"""Turn the paths a user names (files and folders) into the list of images to process."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from veil.errors import InputError

__all__ = ["IMAGE_EXTENSIONS", "FoundFile", "find_files", "find_images"]

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


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A file reached from the paths a user named.

    Attributes:
        path: The file.
        relative: Its path below the folder that was named (its name, for a file
            named directly), used to mirror a tree into an output folder.
        is_named: The user named this file itself, rather than a folder holding it.
    """

    path: Path
    relative: Path
    is_named: bool

    @property
    def is_image(self) -> bool:
        """Named by the user, or an image by its suffix (see ``IMAGE_EXTENSIONS``)."""
        return self.is_named or self.path.suffix.lower() in IMAGE_EXTENSIONS


def find_files(paths: Iterable[str | Path], *, recursive: bool = True) -> list[FoundFile]:
    """Every file among ``paths``, with folders expanded, in a stable order.

    Files come back in the order they were named. Each folder is replaced by the
    files in it, sorted by path, so two runs over the same tree process (and
    number) files the same way. Hidden files and folders (name starting with ".")
    inside a folder are skipped: they are thumbnails, editor backups and
    version-control data, not photos. A path reached twice is listed once.

    Args:
        paths: Files and folders.
        recursive: Also walk sub-folders; when False, only a folder's own files.

    Raises:
        InputError: A named path that does not exist.
    """
    found: list[FoundFile] = []
    seen: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir():
            candidates = [FoundFile(f, f.relative_to(path), False) for f in _walk(path, recursive=recursive)]
        elif path.exists():
            candidates = [FoundFile(path, Path(path.name), True)]
        else:
            raise InputError(path, "no such file or folder")
        for candidate in candidates:
            key = candidate.path.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    logger.debug("found %d files", len(found))
    return found


def find_images(paths: Iterable[str | Path], *, recursive: bool = True) -> list[Path]:
    """The image files among ``paths``: see ``find_files``.

    Inside folders only files whose suffix is in ``IMAGE_EXTENSIONS`` count; a
    file named explicitly is kept whatever its suffix (see ``IMAGE_EXTENSIONS``).

    Raises:
        InputError: A named path that does not exist.
    """
    return [found.path for found in find_files(paths, recursive=recursive) if found.is_image]


def _walk(folder: Path, *, recursive: bool) -> list[Path]:
    """Files under folder, sorted, hidden entries skipped, symlinked folders not followed."""
    files_found: list[Path] = []
    for root, folders, files in os.walk(folder):
        # Pruning in place is how os.walk is told not to descend; sorting makes the order stable.
        folders[:] = sorted(name for name in folders if recursive and not name.startswith("."))
        files_found.extend(Path(root, name) for name in sorted(files) if not name.startswith("."))
    return files_found
