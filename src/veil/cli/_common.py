"""What every command shares: the stderr console, exit codes, error lines, progress bars, summaries."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from veil.errors import InputError, OutputError
from veil.jobs import MANIFEST_NAME, JobReport
from veil.types import ProgressUpdate

stderr = Console(stderr=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def print_error(message: str) -> None:
    """One plain, unwrapped line on stderr, so that it greps and pipes whatever the terminal width."""
    typer.echo(f"error: {message}", err=True)


def report_failure(path: str | Path, message: str, *, as_json: bool) -> None:
    """A failed input: its error on stderr and, with ``--json``, a ``{"file", "error"}`` line on stdout."""
    print_error(message)
    if as_json:
        typer.echo(json.dumps({"file": str(path), "error": message}))


def refuse_existing(*paths: Path) -> None:
    """Refuse a file to be written where one already is: commands never replace a file.

    Called before the work starts, so that a long run does not end in the refusal.

    Raises:
        OutputError: The first of ``paths`` that exists.
    """
    for path in paths:
        if path.exists():
            raise OutputError(path, "already exists (choose another path: veil never replaces a file)")


def fail_usage(message: str) -> typer.Exit:
    """Print ``message`` and give the exit to raise for bad usage (code 2)."""
    print_error(message)
    return typer.Exit(EXIT_USAGE)


@contextmanager
def progress_bar(description: str, *, enabled: bool) -> Iterator[Callable[[ProgressUpdate], None] | None]:
    """A rich progress bar with ETA on stderr, fed by ``ProgressUpdate`` callbacks (None when disabled)."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=None)

        def update(state: ProgressUpdate) -> None:
            bar.update(task, completed=state.done, total=state.total)

        yield update


def finish(total: int, failures: list[str]) -> None:
    """Print what failed (again, together) and exit 1 if anything did."""
    if failures:
        typer.echo(f"{total - len(failures)} of {total} done; {len(failures)} failed:", err=True)
        for failure in failures:
            typer.echo(f"  {failure}", err=True)
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"{total} of {total} done", err=True)


@contextmanager
def failing_inputs(*paths: Path, as_json: bool) -> Iterator[None]:
    """The work on the named files of a run: one that cannot be used fails, as in a batch (exit 1).

    Other errors (an output that exists, a missing model, a bad option) leave
    the block: the caller reports them as bad usage (exit 2).
    """
    try:
        yield
    except InputError as error:
        if Path(error.path) not in paths:
            raise
        report_failure(error.path, str(error), as_json=as_json)
        raise typer.Exit(EXIT_FAILED) from error


def is_single_file_job(paths: list[Path], out: Path) -> bool:
    """One file in, and an output that names a file (has a suffix, is not a folder)."""
    return len(paths) == 1 and paths[0].is_file() and bool(out.suffix) and not out.is_dir()


def print_job_report(report: JobReport, out: Path, done_verb: str, *, as_json: bool) -> None:
    """The records (``--json``), the summary line and the failures of a folder job; exit 1 if any failed."""
    if as_json:
        for record in report.records:
            typer.echo(json.dumps(record.to_dict()))
    summary = report.to_dict()
    typer.echo(
        f"{summary['done']} {done_verb} ({summary['faces']} faces), {summary['resumed']} already done, "
        f"{summary['skipped']} skipped, {summary['copied']} copied, {summary['failed']} failed "
        f"in {summary['seconds']:.1f} s; manifest: {out / MANIFEST_NAME}",
        err=True,
    )
    if report.failures:
        for record in report.failures:
            typer.echo(f"  {record.error}", err=True)
        raise typer.Exit(EXIT_FAILED)
