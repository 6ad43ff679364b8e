"""The Ray engine: a folder job's items as a Ray Dataset, processed by actors that load models once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from veil.jobs._folder import FolderTask, ItemWork

__all__ = ["run_on_ray"]

logger = logging.getLogger(__name__)

BATCH_SIZE = 8
RunOne = Callable[[ItemWork, FolderTask], tuple[FolderTask, int, str | None, float]]


def run_on_ray(
    tasks: list[FolderTask], work: ItemWork, run_one: RunOne, *, workers: int | None, address: str | None
) -> Iterator[tuple[FolderTask, int, str | None, float]]:
    """Process ``tasks`` on Ray Data: ``workers`` actors, batches of ``BATCH_SIZE`` paths.

    Connects to the cluster at ``address``, or starts a local Ray with ``workers``
    CPUs (and stops it afterwards). Only paths and the picklable ``work`` travel;
    each actor loads its models on first use and keeps them.
    """
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address,
            num_cpus=None if address else workers,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        rows = [
            {"source": str(t.source), "relative": t.relative, "target": str(t.target), "sha256": t.sha256}
            for t in tasks
        ]

        class Runner:
            """A Ray actor: one per worker, reused for every batch it is given."""

            def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
                results = [
                    run_one(work, FolderTask(Path(s), r, Path(t), h))
                    for s, r, t, h in zip(
                        batch["source"], batch["relative"], batch["target"], batch["sha256"], strict=True
                    )
                ]
                return {
                    "relative": [task.relative for task, _, _, _ in results],
                    "faces": [faces for _, faces, _, _ in results],
                    "error": [error or "" for _, _, error, _ in results],
                    "ms": [ms for _, _, _, ms in results],
                }

        by_relative = {t.relative: t for t in tasks}
        dataset = ray.data.from_items(rows).map_batches(
            Runner, batch_size=BATCH_SIZE, concurrency=workers or 1, num_cpus=1, batch_format="numpy"
        )
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for relative, faces, error, ms in zip(
                batch["relative"], batch["faces"], batch["error"], batch["ms"], strict=True
            ):
                yield by_relative[str(relative)], int(faces), str(error) or None, float(ms)
    finally:
        if started_here:
            ray.shutdown()
