"""``veil detect``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import veil
from veil.cli._common import fail_usage, finish, progress_bar, report_failure, stderr
from veil.cli._options import DetectorOption, ThresholdOption
from veil.detect import FrameFaces, detect_animation, detect_video, get_detector
from veil.errors import OutputError, VeilError
from veil.io import FoundFile, count_frames, find_files, is_video, read_animation
from veil.jobs import run_each


def detect(
    paths: Annotated[list[Path], typer.Argument(help="Photos, videos and folders (searched recursively).")],
    detector: DetectorOption = "auto",
    threshold: ThresholdOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout.")] = False,
    draw: Annotated[
        Path | None, typer.Option(help="Folder to write copies of the photos with the faces drawn.")
    ] = None,
    detect_every: Annotated[int, typer.Option(min=1, help="Videos: detect on every Nth frame.")] = 1,
) -> None:
    """Find faces in photos and videos: a table of faces per file, or JSON lines."""
    try:
        model = get_detector(detector, threshold=threshold)
        found = [f for f in find_files(paths) if f.is_image or is_video(f.path)]
    except VeilError as error:
        raise fail_usage(str(error)) from error
    photos = [f for f in found if not is_video(f.path)]
    drawings = {} if draw is None else _drawing_paths(photos, draw)

    def work(path: Path) -> tuple[dict[str, object], str]:
        """The file's JSON record and its table cell."""
        if is_video(path):
            return _frames_found(
                path, detect_video(path, detector=detector, threshold=threshold, every=detect_every)
            )
        if count_frames(path) > 1:
            frames = detect_animation(read_animation(path), detector=detector, threshold=threshold)
            return _frames_found(path, frames)
        drawing = drawings.get(path)
        if drawing is not None and drawing.exists():
            raise OutputError(drawing, f"already exists; {path} is not drawn (choose an empty --draw folder)")
        image = veil.read_image(path)
        faces = model.detect(image)
        if drawing is not None:
            veil.write_image(veil.draw_faces(image, faces), drawing)
        return {"file": str(path), "faces": [f.to_dict() for f in faces]}, str(len(faces))

    table = Table("file", "faces", "ms", title="faces found")
    failures = []
    with progress_bar("files", enabled=not as_json and stderr.is_terminal) as update:
        for item in run_each([f.path for f in found], work, progress=update):
            if item.error is not None or item.value is None:
                failures.append(str(item.error))
                report_failure(item.path, str(item.error), as_json=as_json)
                continue
            record, found_text = item.value
            if as_json:
                typer.echo(json.dumps(record | {"ms": round(item.ms, 1)}))
            else:
                table.add_row(str(item.path), found_text, f"{item.ms:.0f}")
    if not as_json:
        stderr.print(table)
    finish(len(found), failures)


def _frames_found(path: Path, frames: Iterable[FrameFaces]) -> tuple[dict[str, object], str]:
    """A video's or an animation's JSON record, and its table cell: faces found in how many frames."""
    searched = list(frames)
    with_faces = sum(1 for frame in searched if frame.faces)
    faces = sum(len(frame.faces) for frame in searched)
    record: dict[str, object] = {"file": str(path), "frames": [frame.to_dict() for frame in searched]}
    return record, f"{faces} in {with_faces} of {len(searched)} frames"


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
