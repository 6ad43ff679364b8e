"""``veil blur``: anonymize photos, folders (and, as they land, videos)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from veil.anonymize import (
    DEFAULT_DETECT_EVERY,
    DEFAULT_EXPAND,
    DEFAULT_METHOD,
    DEFAULT_STRENGTH,
    FILTERS,
    BlurWork,
    blur_file,
    blur_files,
)
from veil.cli._common import EXIT_FAILED, fail_usage, progress_bar, stderr
from veil.cli._options import DetectorOption, JsonOption, PhotosArgument, ThresholdOption
from veil.errors import VeilError
from veil.jobs import ENGINES, MANIFEST_NAME


def _is_single_file_job(paths: list[Path], out: Path) -> bool:
    """One file in, and an output that names a file (has a suffix, is not a folder)."""
    return len(paths) == 1 and paths[0].is_file() and bool(out.suffix) and not out.is_dir()


def blur(
    paths: PhotosArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (or file, for one input file).")],
    method: Annotated[str, typer.Option(help=f"Obfuscation: {', '.join(FILTERS)}.")] = DEFAULT_METHOD,
    strength: Annotated[
        float, typer.Option(help="Blur sigma or pixel block, as a fraction of the face size.")
    ] = DEFAULT_STRENGTH,
    expand: Annotated[
        float, typer.Option(help="Grow each face box by this fraction of its size on every side.")
    ] = DEFAULT_EXPAND,
    detector: DetectorOption = "auto",
    threshold: ThresholdOption = None,
    keep: Annotated[
        Path | None, typer.Option(help="Gallery of people who consented: their faces stay unblurred.")
    ] = None,
    keep_metadata: Annotated[
        bool, typer.Option(help="Copy EXIF/ICC metadata (GPS too!) to the outputs.")
    ] = False,
    resume: Annotated[
        bool, typer.Option(help=f"Continue a job in OUT, skipping what {MANIFEST_NAME} says is done.")
    ] = False,
    copy_others: Annotated[
        bool, typer.Option(help="Copy files that are not photos (default: skip them).")
    ] = False,
    engine: Annotated[str, typer.Option(help=f"Where folder jobs run: {', '.join(ENGINES)}.")] = "local",
    workers: Annotated[int | None, typer.Option(help="Processes or Ray actors [default: all cores].")] = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster address [default: a local Ray].")] = None,
    detect_every: Annotated[
        int, typer.Option(help="Videos: detect on every Nth frame, track faces in between.")
    ] = DEFAULT_DETECT_EVERY,
    as_json: JsonOption = False,
) -> None:
    """Blur every face in photos, videos and folders. Inputs are never modified; nothing is overwritten."""
    work = BlurWork(
        method=method,
        strength=strength,
        expand=expand,
        detector=detector,
        threshold=threshold,
        keep=keep,
        keep_metadata=keep_metadata,
        detect_every=detect_every,
    )
    try:
        if method not in FILTERS:
            raise VeilError(f"unknown method {method!r}; choose one of: {', '.join(FILTERS)}")
        if _is_single_file_job(paths, out):
            faces = blur_file(paths[0], out, work)
            if as_json:
                typer.echo(json.dumps({"file": str(paths[0]), "output": str(out), "faces": faces}))
            typer.echo(f"{paths[0]} -> {out}: {faces} face(s) blurred", err=True)
            return
        with progress_bar("blurring", enabled=stderr.is_terminal and not as_json) as update:
            report = blur_files(
                paths,
                out,
                work,
                resume=resume,
                copy_others=copy_others,
                engine=engine,
                workers=workers,
                address=address,
                progress=update,
            )
    except VeilError as error:
        raise fail_usage(str(error)) from error
    if as_json:
        for record in report.records:
            typer.echo(json.dumps(record.to_dict()))
    summary = report.to_dict()
    typer.echo(
        f"{summary['done']} blurred ({summary['faces']} faces), {summary['resumed']} already done, "
        f"{summary['skipped']} skipped, {summary['copied']} copied, {summary['failed']} failed "
        f"in {summary['seconds']:.1f} s; manifest: {out / MANIFEST_NAME}",
        err=True,
    )
    if report.failures:
        for record in report.failures:
            typer.echo(f"  {record.error}", err=True)
        raise typer.Exit(EXIT_FAILED)
