"""Run one function over many files: each failure is recorded and the batch goes on."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from veil.errors import VeilError
from veil.types import ProgressUpdate

__all__ = ["ItemResult", "run_each"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ItemResult(Generic[T]):
    """The outcome for one file of a batch.

    Attributes:
        path: The input file.
        value: What the function returned, or None when it failed.
        error: The error's one-line message, or None when it worked.
        ms: Wall-clock time spent on the item.
    """

    path: Path
    value: T | None
    error: str | None
    ms: float

    @property
    def is_ok(self) -> bool:
        return self.error is None


def run_each(
    paths: Iterable[Path],
    work: Callable[[Path], T],
    *,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> Iterator[ItemResult[T]]:
    """Apply ``work`` to each path in order, yielding one result per path.

    Only ``VeilError`` (bad input, a refused output) is caught and recorded: any
    other exception is a bug and stops the batch.
    """
    items = list(paths)
    failed = 0
    for done, path in enumerate(items, start=1):
        start = time.perf_counter()
        value: T | None = None
        error: str | None = None
        try:
            value = work(path)
        except VeilError as exc:
            failed += 1
            error = str(exc)
            logger.debug("failed %s: %s", path, error)
        yield ItemResult(path, value, error, (time.perf_counter() - start) * 1000)
        if progress is not None:
            progress(ProgressUpdate(done=done, total=len(items), current=str(path), failed=failed))
