"""Pairs files for face verification: LFW View 1, LFW View 2 and a plain three-column list.

The format is recognised from the first line that is not blank or a comment:

- one integer ``N``: LFW View 1 (``pairsDevTrain.txt``, ``pairsDevTest.txt``), then
  ``N`` lines ``name n1 n2`` (same person) and ``N`` lines ``name1 n1 name2 n2``;
- two integers ``folds pairs``: LFW View 2 (``pairs.txt``, ``10 300``), then for each
  fold ``pairs`` same-person lines followed by ``pairs`` different-people lines;
- anything else: one pair per line, ``path_a path_b label``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from veil.errors import InputError

__all__ = ["Pair", "read_pairs"]

logger = logging.getLogger(__name__)

_LABELS = {"1": True, "same": True, "0": False, "different": False}
"""Labels of the plain format, matched case-insensitively."""

_SAME_FIELDS, _DIFFERENT_FIELDS = 3, 4
"""Fields on an LFW line: ``name n1 n2`` and ``name1 n1 name2 n2``."""


@dataclass(frozen=True, slots=True)
class Pair:
    """Two photos and whether they show the same person.

    Attributes:
        path_a: The first photo.
        path_b: The second photo.
        is_same: True for a genuine pair (one person), False for an impostor pair.
        fold: The LFW View 2 fold (0-9) the pair belongs to; 0 in the other formats.
    """

    path_a: Path
    path_b: Path
    is_same: bool
    fold: int = 0


def read_pairs(path: str | Path, *, images_root: Path | None = None) -> list[Pair]:
    """The pairs listed in a pairs file, in file order, with the format recognised from its header.

    Args:
        path: An LFW View 1 or View 2 pairs file, or a plain file of ``path_a path_b label``
            lines. In the plain format the label is ``1``/``same`` or ``0``/``different``,
            relative paths are relative to the pairs file's folder, fields are separated
            by whitespace (so paths cannot hold spaces) and lines starting with ``#`` are
            comments.
        images_root: LFW formats only: the folder holding ``<name>/<name>_<nnnn>.jpg``.
            Defaults to ``images`` beside the pairs file, the layout of the shared data.

    Raises:
        InputError: The file cannot be read, or a line is malformed (the error names the
            line number and what is wrong with it).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read pairs file ({error})") from error
    lines = list(_content_lines(text))
    if not lines:
        raise InputError(path, "pairs file holds no pairs")
    header = lines[0][1]
    if all(field.isdecimal() for field in header) and len(header) in (1, 2):
        folds, per_class = (1, int(header[0])) if len(header) == 1 else (int(header[0]), int(header[1]))
        root = path.parent / "images" if images_root is None else images_root
        pairs = _lfw_pairs(path, lines[1:], folds=folds, per_class=per_class, images_root=root)
    else:
        pairs = [_plain_pair(path, number, fields) for number, fields in lines]
    logger.debug("read %d pairs from %s", len(pairs), path)
    return pairs


def _content_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number, whitespace-separated fields) of each line that is not blank or a comment."""
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            yield number, fields


def _lfw_pairs(
    path: Path, lines: list[tuple[int, list[str]]], *, folds: int, per_class: int, images_root: Path
) -> list[Pair]:
    """LFW pairs: ``folds`` blocks of ``per_class`` same-person lines then ``per_class`` others."""
    if len(lines) != 2 * folds * per_class:
        raise InputError(
            path,
            f"header promises {folds} fold(s) of {per_class} same + {per_class} different pairs "
            f"({2 * folds * per_class} lines), but {len(lines)} pair lines follow",
        )
    pairs = []
    for index, (number, fields) in enumerate(lines):
        fold, position = divmod(index, 2 * per_class)
        is_same = position < per_class
        expected = _SAME_FIELDS if is_same else _DIFFERENT_FIELDS
        if len(fields) != expected:
            shape = "name n1 n2" if is_same else "name1 n1 name2 n2"
            raise InputError(
                path, f"line {number}: expected {expected} fields ({shape}), found {len(fields)}"
            )
        names = (fields[0], fields[0]) if is_same else (fields[0], fields[2])
        numbers = (fields[1], fields[2]) if is_same else (fields[1], fields[3])
        path_a, path_b = (
            _lfw_image(path, number, images_root, name, n) for name, n in zip(names, numbers, strict=True)
        )
        pairs.append(Pair(path_a, path_b, is_same, fold))
    return pairs


def _lfw_image(path: Path, number: int, images_root: Path, name: str, n: str) -> Path:
    """LFW's file name for image ``n`` of ``name``: ``<name>/<name>_<4-digit n>.jpg``."""
    if not n.isdecimal():
        raise InputError(path, f"line {number}: image number {n!r} is not a whole number")
    return images_root / name / f"{name}_{int(n):04d}.jpg"


def _plain_pair(path: Path, number: int, fields: list[str]) -> Pair:
    """One ``path_a path_b label`` line, paths taken relative to the pairs file's folder."""
    if len(fields) != 3:
        raise InputError(path, f"line {number}: expected 3 fields (path_a path_b label), found {len(fields)}")
    label = fields[2].lower()
    if label not in _LABELS:
        raise InputError(path, f"line {number}: label {fields[2]!r} is not 1, 0, same or different")
    # Joining keeps an absolute path as it is.
    return Pair(path.parent / fields[0], path.parent / fields[1], _LABELS[label])
