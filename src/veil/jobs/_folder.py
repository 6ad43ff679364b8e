"""Folder jobs: mirror an input tree into an output folder, item by item, resumably.

The output of an item becomes visible only after its manifest record is durable:
a worker writes a hidden partial file, the coordinator appends the record and
then renames the partial file into place. A job killed at any moment therefore
leaves every visible output complete and recorded, and ``resume`` neither
redoes nor rewrites what was finished.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from veil.detect import resolve_detector
from veil.errors import OutputError, VeilError
from veil.io import OUTPUT_FORMATS, FoundFile, find_files, remove_temporaries_below
from veil.jobs._manifest import MANIFEST_NAME, Manifest, ManifestRecord
from veil.types import ProgressUpdate

__all__ = ["ENGINES", "FolderTask", "ItemWork", "JobReport", "run_folder_job"]

logger = logging.getLogger(__name__)

ENGINES = ("local", "ray")
PARTIAL_MARK = ".veil-partial"
"""In the names of outputs being written (``FolderTask.partial``), before they are renamed into place."""
FALLBACK_SUFFIX = ".png"
"""Output format for inputs veil cannot write in their own format (GIF, PPM, ...)."""


class ItemWork(Protocol):
    """Processes one input into one output file; must pickle (send names and options, not models)."""

    @property
    def detector(self) -> str:
        """The detector's name (``"auto"`` is recorded in the manifest as the detector it stands for)."""
        ...

    @property
    def output_format(self) -> str | None:
        """Suffix every photo output gets (``".png"``), or None to keep each input's format."""
        ...

    @property
    def in_threads(self) -> bool:
        """Whether a local job may run this work on threads of one process instead of a process pool.

        True for work that spends its time where the GIL is released (onnxruntime,
        OpenCV, Pillow, PyAV): threads share one loaded model and start at once,
        where pool processes each import veil and load their models (about a second
        on two cores). False for work that runs torch or holds the GIL.
        """
        ...

    def kind(self, path: Path) -> str | None:
        """``"image"``, ``"video"``, or None for a file this work does not handle."""
        ...

    def __call__(self, source: Path, target: Path) -> int:
        """Write the result for ``source`` to ``target``; return the number of faces."""
        ...


@dataclass(frozen=True, slots=True)
class FolderTask:
    """One input file of a folder job and where its output goes.

    Attributes:
        source: The input file.
        relative: Its path below the named folder (the manifest key).
        target: The final output path.
        sha256: Checksum of the input, to recognise finished work on resume.
    """

    source: Path
    relative: str
    target: Path
    sha256: str

    @property
    def partial(self) -> Path:
        """Where the output is written before it is recorded (hidden, same format suffix)."""
        return self.target.with_name(f".{self.target.stem}{PARTIAL_MARK}{self.target.suffix}")


@dataclass(frozen=True, slots=True)
class JobReport:
    """The outcome of a folder job.

    Attributes:
        records: One manifest record per input, in input order.
        resumed: How many inputs were already finished by an earlier run.
        seconds: Wall-clock time of this run.
    """

    records: tuple[ManifestRecord, ...]
    resumed: int
    seconds: float

    def count(self, status: str) -> int:
        return sum(record.status == status for record in self.records)

    @property
    def failures(self) -> list[ManifestRecord]:
        return [record for record in self.records if record.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": len(self.records),
            "done": self.count("done"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "copied": self.count("copied"),
            "resumed": self.resumed,
            "faces": sum(record.faces for record in self.records),
            "seconds": round(self.seconds, 3),
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _target(out: Path, found: FoundFile, kind: str | None, output_format: str | None) -> Path:
    target = out / found.relative
    if kind == "image" and output_format is not None:
        return target.with_suffix(output_format)
    if kind == "image" and target.suffix.lower() not in OUTPUT_FORMATS:
        return target.with_suffix(FALLBACK_SUFFIX)
    return target


def run_folder_job(
    inputs: Sequence[str | Path],
    out: Path,
    work: ItemWork,
    *,
    resume: bool = False,
    copy_others: bool = False,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> JobReport:
    """Apply ``work`` to every file below ``inputs``, mirroring the tree under ``out``.

    Files ``work`` does not handle are skipped (or copied as they are, with
    ``copy_others``: off by default, because a copied file keeps its metadata).
    Inputs are never modified; existing outputs are never overwritten unless
    ``resume`` and the manifest (``out/veil-manifest.jsonl``) says this job made them.

    Args:
        inputs: Files and folders.
        out: The output folder (created).
        work: What to do with each file.
        resume: Skip inputs the manifest records as finished with the same content.
        copy_others: Copy files ``work`` does not handle instead of skipping them.
        engine: ``"local"`` (threads or a process pool on this machine, as
            ``work.in_threads`` says) or ``"ray"`` (Ray Data).
        workers: Threads or processes (local) or actors (ray); default: all cores.
        address: Ray cluster address (``ray`` engine); default: a local Ray.
        progress: Called after each item.

    Raises:
        InputError: An input path does not exist.
        OutputError: ``out`` already holds a manifest and ``resume`` is not set, or
            ``out`` is an input folder or inside one.
        VeilError: Unknown engine.
    """
    if engine not in ENGINES:
        raise VeilError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    start = time.perf_counter()
    found = find_files(inputs)
    _check_outside_inputs(inputs, out)
    manifest = Manifest(out / MANIFEST_NAME)
    if manifest.records and not resume:
        raise OutputError(
            out, f"holds a previous job ({MANIFEST_NAME}); use resume (--resume) or another folder"
        )

    if out.is_dir():  # a killed run may have left half-written files: cleared in one walk, not per output
        remove_temporaries_below(out, f"*{PARTIAL_MARK}*")

    records: dict[str, ManifestRecord] = {}
    tasks: list[FolderTask] = []
    claimed: dict[Path, str] = {}  # output path -> the input that writes it
    resumed = 0
    for item in found:
        relative = item.relative.as_posix()
        kind = work.kind(item.path)
        task = FolderTask(
            item.path, relative, _target(out, item, kind, work.output_format), _sha256(item.path)
        )
        finished = manifest.finished(relative, task.sha256) if resume else None
        if kind is not None and claimed.setdefault(task.target, relative) != relative:
            records[relative] = _clash(task, claimed[task.target], manifest)
        elif finished is not None and _recover(finished, task, out):
            records[relative], resumed = finished, resumed + 1
        elif kind is None:
            records[relative] = _other(task, out, manifest, copy_others)
        else:
            tasks.append(task)

    total, done = len(found), len(records)

    def report_progress(current: str, failed: int) -> None:
        if progress is not None:
            progress(ProgressUpdate(done=done, total=total, current=current, failed=failed))

    for task, faces, error, ms in _execute(tasks, work, engine=engine, workers=workers, address=address):
        record = _finish(task, out, resolve_detector(work.detector), faces, error, ms, overwrite=resume)
        manifest.append(record)
        if record.status == "done":
            task.partial.replace(task.target)
        records[task.relative] = record
        done += 1
        report_progress(task.relative, sum(r.status == "failed" for r in records.values()))
    ordered = tuple(records[item.relative.as_posix()] for item in found)
    return JobReport(ordered, resumed, time.perf_counter() - start)


def _check_outside_inputs(inputs: Sequence[str | Path], out: Path) -> None:
    """Refuse an output folder inside an input folder: the outputs would be inputs of the next run."""
    where = out.resolve()
    for folder in map(Path, inputs):
        if folder.is_dir() and where.is_relative_to(folder.resolve()):
            raise OutputError(
                out, f"is, or is inside, the input folder {folder}: write the outputs elsewhere"
            )


def _recover(finished: ManifestRecord, task: FolderTask, out: Path) -> bool:
    """Whether a recorded item is complete, finishing the rename a kill may have cut off."""
    if finished.output == "" or (out / finished.output).exists():
        return True
    if task.partial.exists():  # recorded, killed before the rename: the partial file is complete
        task.partial.replace(task.target)
        return True
    return False


def _clash(task: FolderTask, first: str, manifest: Manifest) -> ManifestRecord:
    """Fail an input whose output name another input already takes (``a.jpg`` and ``a.png`` as PNG)."""
    error = f"{task.source}: its output {task.target.name} is already {first}'s; rename one of them"
    record = ManifestRecord(task.relative, task.sha256, "", "failed", error=error)
    manifest.append(record)
    return record


def _other(task: FolderTask, out: Path, manifest: Manifest, copy_others: bool) -> ManifestRecord:
    """Skip (or copy) a file the work does not handle, and record it."""
    if copy_others:
        task.target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(task.source, task.partial)
        record = ManifestRecord(task.relative, task.sha256, task.target.relative_to(out).as_posix(), "copied")
        manifest.append(record)
        task.partial.replace(task.target)
        return record
    record = ManifestRecord(task.relative, task.sha256, "", "skipped", error="not an image or video")
    manifest.append(record)
    return record


def _finish(
    task: FolderTask, out: Path, detector: str, faces: int, error: str | None, ms: float, *, overwrite: bool
) -> ManifestRecord:
    output = task.target.relative_to(out).as_posix()
    if error is None and task.target.exists() and not overwrite:
        task.partial.unlink(missing_ok=True)
        error = f"{task.target}: already exists (use another output folder)"
    if error is not None:
        return ManifestRecord(task.relative, task.sha256, "", "failed", detector=detector, error=error, ms=ms)
    return ManifestRecord(task.relative, task.sha256, output, "done", faces=faces, detector=detector, ms=ms)


def _run_one(work: ItemWork, task: FolderTask) -> tuple[FolderTask, int, str | None, float]:
    """Process one task where it runs (a pool worker, an actor, or inline), catching bad input."""
    start = time.perf_counter()
    try:
        task.partial.parent.mkdir(parents=True, exist_ok=True)
        faces = work(task.source, task.partial)
    except VeilError as error:
        task.partial.unlink(missing_ok=True)
        return task, 0, str(error), (time.perf_counter() - start) * 1000
    return task, faces, None, (time.perf_counter() - start) * 1000


def _execute(
    tasks: list[FolderTask], work: ItemWork, *, engine: str, workers: int | None, address: str | None
) -> Iterator[tuple[FolderTask, int, str | None, float]]:
    if not tasks:
        return
    if engine == "ray":
        from veil.jobs._ray import run_on_ray

        yield from run_on_ray(tasks, work, _run_one, workers=workers, address=address)
    else:
        yield from _run_local(tasks, work, workers=workers)


def _run_local(
    tasks: Iterable[FolderTask], work: ItemWork, *, workers: int | None
) -> Iterator[tuple[FolderTask, int, str | None, float]]:
    count = workers or os.cpu_count() or 1
    if count == 1:
        yield from (_run_one(work, task) for task in tasks)
        return
    with _pool(work, count) as pool:
        pending: set[Future[tuple[FolderTask, int, str | None, float]]] = set()
        queue = iter(tasks)
        for task in queue:
            pending.add(pool.submit(_run_one, work, task))
            if len(pending) >= 2 * count:  # bounded: memory stays flat on a million files
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in finished)
        for future in pending:
            yield future.result()


def _pool(work: ItemWork, count: int) -> Executor:
    """``count`` threads for work that runs in threads (``ItemWork.in_threads``), else processes."""
    if work.in_threads:
        return ThreadPoolExecutor(max_workers=count, thread_name_prefix="veil-job")
    # "spawn": workers start clean (no inherited locks or model state) and load models once each.
    threads = max(1, (os.cpu_count() or 1) // count)
    return ProcessPoolExecutor(
        max_workers=count, mp_context=get_context("spawn"), initializer=_share_cores, initargs=(threads,)
    )


def _share_cores(threads: int) -> None:
    """Give each pool worker its share of the cores before it loads torch.

    Every worker's torch would otherwise start a thread per core, and N workers
    on N cores would run N x N threads that spend their time waiting on each other.
    """
    os.environ["OMP_NUM_THREADS"] = str(threads)
