"""``veil detect``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import veil
from veil.cli._common import fail_usage, finish, progress_bar, report_failure, stderr
from veil.cli._options import DetectorOption, ThresholdOption
from veil.detect import get_detector
from veil.errors import OutputError, VeilError
from veil.io import FoundFile, find_files
from veil.jobs import run_each
from veil.types import Face


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
        found = [f for f in find_files(paths) if f.is_image]
    except VeilError as error:
        raise fail_usage(str(error)) from error
    files = [f.path for f in found]
    drawings = {} if draw is None else _drawing_paths(found, draw)

    def work(path: Path) -> list[Face]:
        drawing = drawings.get(path)
        if drawing is not None and drawing.exists():
            raise OutputError(drawing, f"already exists; {path} is not drawn (choose an empty --draw folder)")
        image = veil.read_image(path)
        faces = model.detect(image)
        if drawing is not None:
            veil.write_image(veil.draw_faces(image, faces), drawing)
        return faces

    table = Table("file", "faces", "ms", title="faces found")
    failures = []
    with progress_bar("photos", enabled=not as_json and stderr.is_terminal) as update:
        for item in run_each(files, work, progress=update):
            if item.error is not None:
                failures.append(item.error)
                report_failure(item.path, item.error, as_json=as_json)
                continue
            faces = item.value or []
            if as_json:
                faces_json = [f.to_dict() for f in faces]
                typer.echo(json.dumps({"file": str(item.path), "faces": faces_json, "ms": round(item.ms, 1)}))
            else:
                table.add_row(str(item.path), str(len(faces)), f"{item.ms:.0f}")
    if not as_json:
        stderr.print(table)
    finish(len(files), failures)


def _drawing_paths(found: list[FoundFile], folder: Path) -> dict[Path, Path]:
    """Where each photo's drawn copy goes: its path below the folder named, mirrored under ``folder``, as PNG.

    Two photos whose copies would share a name (``x.jpg`` beside ``x.png``, or
    two photos named one by one from different folders) get the second one's
    index added, so that no drawing replaces another.
    """
    drawings: dict[Path, Path] = {}
    taken: set[Path] = set()
    for index, photo in enumerate(found):
        drawing = folder / photo.relative.with_suffix(".png")
        while drawing in taken:
            drawing = drawing.with_name(f"{drawing.stem}-{index}.png")
        taken.add(drawing)
        drawings[photo.path] = drawing
    return drawings
