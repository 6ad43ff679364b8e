"""``veil blur``: anonymize photos, folders (and, as they land, videos)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from veil.anonymize import (
    DEFAULT_DETECT_EVERY,
    DEFAULT_DETECTOR,
    DEFAULT_EXPAND,
    DEFAULT_METHOD,
    DEFAULT_STRENGTH,
    FILTERS,
    BlurWork,
    blur_file,
    blur_files,
)
from veil.cli._common import (
    fail_usage,
    failing_inputs,
    is_single_file_job,
    print_job_report,
    progress_bar,
    stderr,
)
from veil.cli._options import (
    AddressOption,
    DetectorOption,
    EngineOption,
    JsonOption,
    KeepMetadataOption,
    OutOption,
    PhotosArgument,
    ResumeOption,
    ThresholdOption,
    WorkersOption,
)
from veil.errors import VeilError


def blur(
    paths: PhotosArgument,
    out: OutOption,
    method: Annotated[str, typer.Option(help=f"Obfuscation: {', '.join(FILTERS)}.")] = DEFAULT_METHOD,
    strength: Annotated[
        float, typer.Option(help="Blur sigma or pixel block, as a fraction of the face size.")
    ] = DEFAULT_STRENGTH,
    expand: Annotated[
        float, typer.Option(help="Grow each face box by this fraction of its size on every side.")
    ] = DEFAULT_EXPAND,
    detector: DetectorOption = DEFAULT_DETECTOR,
    threshold: ThresholdOption = None,
    keep: Annotated[
        Path | None, typer.Option(help="Gallery of people who consented: their faces stay unblurred.")
    ] = None,
    keep_metadata: KeepMetadataOption = False,
    resume: ResumeOption = False,
    copy_others: Annotated[
        bool, typer.Option(help="Copy files that are not photos (default: skip them).")
    ] = False,
    engine: EngineOption = "local",
    workers: WorkersOption = None,
    address: AddressOption = None,
    detect_every: Annotated[
        int, typer.Option(help="Videos: detect on every Nth frame, track faces in between.")
    ] = DEFAULT_DETECT_EVERY,
    as_json: JsonOption = False,
) -> None:
    """Blur every face in photos, videos and folders. Inputs are never modified; nothing is overwritten."""
    try:
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
        if is_single_file_job(paths, out):
            with failing_inputs(paths[0], as_json=as_json):
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
    except (VeilError, ValueError) as error:
        raise fail_usage(str(error)) from error
    print_job_report(report, out, "blurred", as_json=as_json)
