"""``veil attributes`` (what judges read from faces) and ``veil eval attributes`` (does hiding work)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import veil
from veil.attributes import (
    ATTRIBUTES,
    DEFAULT_HIDE_JUDGES,
    DEFAULT_JUDGE,
    JUDGES,
    FaceAttributes,
    HideWork,
    classify_attributes,
    evaluate_attributes,
    write_attribute_report,
)
from veil.cli._common import (
    fail_usage,
    failing_inputs,
    finish,
    is_single_file_job,
    print_job_report,
    progress_bar,
    refuse_existing,
    report_failure,
    stderr,
)
from veil.cli._options import DetectorOption, JsonOption, ThresholdOption
from veil.errors import VeilError
from veil.io import find_images
from veil.jobs import run_each


def attributes(
    paths: Annotated[list[Path], typer.Argument(help="Photos and folders (searched recursively).")],
    judge: Annotated[
        str, typer.Option(help=f"Whose attribute heads read the faces: {', '.join(JUDGES)}.")
    ] = DEFAULT_JUDGE,
    detector: DetectorOption = "auto",
    threshold: ThresholdOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per face on stdout.")] = False,
) -> None:
    """Read gender, age group and race group from every face: a table, or JSON lines.

    These are what classifiers on face embeddings read, with their probabilities;
    the held-back accuracy of each judge is in veil/models/attributes/<judge>.json.
    """
    try:
        if judge not in JUDGES:
            raise VeilError(f"unknown judge {judge!r}; choose one of: {', '.join(JUDGES)}")
        files = find_images(paths)
    except VeilError as error:
        raise fail_usage(str(error)) from error

    def work(path: Path) -> list[FaceAttributes]:
        image = veil.read_image(path)
        return classify_attributes(image, judge=judge, detector=detector, threshold=threshold)

    table = Table("file", "face", *ATTRIBUTES, title=f"attributes read by the {judge} judge")
    failures = []
    with progress_bar("photos", enabled=not as_json and stderr.is_terminal) as update:
        for item in run_each(files, work, progress=update):
            if item.error is not None:
                failures.append(item.error)
                report_failure(item.path, item.error, as_json=as_json)
                continue
            for index, face in enumerate(item.value or []):
                if as_json:
                    typer.echo(json.dumps({"file": str(item.path), "index": index, **face.to_dict()}))
                else:
                    cells = [f"{p.label} ({p.confidence:.0%})" for p in face.predictions]
                    table.add_row(str(item.path), str(index), *cells)
            if not item.value and not as_json:
                table.add_row(str(item.path), "no face", *([""] * len(ATTRIBUTES)))
    if not as_json:
        stderr.print(table)
    finish(len(files), failures)


def hide_command(
    paths: list[Path],
    out: Path,
    *,
    hide: str,
    keep_identity: bool,
    visible: bool,
    chance: bool,
    universal: Path | None,
    budget: float | None,
    judges: tuple[str, ...],
    detector: str,
    threshold: float | None,
    keep_metadata: bool,
    resume: bool,
    engine: str,
    workers: int | None,
    address: str | None,
    as_json: bool,
) -> None:
    """``veil cloak --hide``: attribute privacy for photos, and with ``--universal`` for videos too."""
    from veil.attributes import HideWork, hide_attributes_files, parse_hide
    from veil.io import find_files, is_video

    try:
        parse_hide(hide, chance=chance)
        work = HideWork(
            hide=hide,
            visible=visible,
            keep_identity=keep_identity,
            chance=chance,
            judges=judges,
            budget=budget,
            detector=detector,
            threshold=threshold,
            keep_metadata=keep_metadata,
        )
        if universal is None and any(is_video(f.path) for f in find_files(paths)):
            raise VeilError("videos need --universal PHOTOS (photos of the person) or a saved .npz")
        with tempfile.TemporaryDirectory(prefix="veil-universal-") as scratch:
            if universal is not None:
                work = replace(work, universal=_universal_file(universal, work, Path(scratch)))
            if is_single_file_job(paths, out):
                refuse_existing(out)
                with failing_inputs(paths[0], as_json=as_json):
                    _hide_one(paths[0], out, work, as_json)
                return
            with progress_bar("protecting", enabled=stderr.is_terminal and not as_json) as update:
                report = hide_attributes_files(
                    paths, out, work, resume=resume, engine=engine, workers=workers, address=address,
                    progress=update,
                )  # fmt: skip
    except VeilError as error:
        raise fail_usage(str(error)) from error
    print_job_report(report, out, "protected", as_json=as_json)


def _universal_file(universal: Path, work: HideWork, scratch: Path) -> Path:
    """A saved universal perturbation: ``universal`` itself (an ``.npz``), or one learned from its photos."""
    from veil.attributes import universal_perturbation

    if universal.suffix == ".npz":
        return universal
    photos = [veil.read_image(p) for p in find_images([universal])]
    typer.echo(f"learning a universal perturbation from {len(photos)} photos", err=True)
    perturbation = universal_perturbation(
        photos,
        hide=work.hide,
        visible=work.visible,
        keep_identity=work.keep_identity,
        chance=work.chance,
        judges=work.judges,
    )
    typer.echo(f"universal perturbation: {json.dumps(perturbation.to_dict())}", err=True)
    perturbation.save(scratch / "universal.npz")
    return scratch / "universal.npz"


def _hide_one(source: Path, out: Path, work: HideWork, as_json: bool) -> None:
    """One photo or video into the file ``out``, a line per face for a photo."""
    from veil.attributes import hide_attributes_file

    if work.universal is not None:
        result: dict[str, object] = {"faces": work(source, out)}
    else:
        hidden = hide_attributes_file(source, out, work)
        result = hidden.to_dict()
        for index, face in enumerate(hidden.faces):
            if face.hidden:
                reads = "; ".join(f"{j}: {r}" for j, r in face.after.items())
                typer.echo(
                    f"{source} -> {out}: face {index}: DSSIM {face.dssim:.4f}, read after: {reads}", err=True
                )
    if as_json:
        typer.echo(json.dumps({"file": str(source), "output": str(out), **result}))


def eval_attributes(
    clean: Annotated[
        Path, typer.Option(help="Folder of the original photos (identity sub-folders: verification).")
    ],
    protected: Annotated[
        Path, typer.Option(help="Folder of the protected photos, at the same relative paths.")
    ],
    labels: Annotated[
        Path | None,
        typer.Option(help="labels.csv with file, age, gender, race (UTKFace): accuracy per group."),
    ] = None,
    judges: Annotated[str, typer.Option(help="Comma-separated judges to read with.")] = ",".join(JUDGES),
    white_box: Annotated[
        str, typer.Option(help="Comma-separated judges the protection was optimised against.")
    ] = ",".join(DEFAULT_HIDE_JUDGES),
    out: Annotated[Path | None, typer.Option(help="Folder for attributes.json, .md and .png.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Do judges still read the attributes, and does matching still work? Accuracy, TAR, DSSIM, PSNR."""
    try:
        with progress_bar("embedding", enabled=stderr.is_terminal and not as_json) as update:
            report = evaluate_attributes(
                clean,
                protected,
                labels=labels,
                judges=tuple(j.strip() for j in judges.split(",") if j.strip()),
                white_box=tuple(j.strip() for j in white_box.split(",") if j.strip()),
                progress=update,
            )
    except VeilError as error:
        raise fail_usage(str(error)) from error
    if out is not None:
        for path in write_attribute_report(report, out):
            typer.echo(f"wrote {path}", err=True)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    what = "accuracy" if report.has_labels else "agreement with the clean read"
    table = Table("judge", "box", "attribute", "n", "clean", "protected", title=f"attribute {what}")
    for row in report.accuracy:
        if row["group"] == "all":
            box = "white" if row["white_box"] else "black"
            n = str(row["n"])
            table.add_row(
                row["judge"], box, row["attribute"], n, f"{row['before']:.3f}", f"{row['after']:.3f}"
            )
    stderr.print(table)
    for name, figures in report.verification.items():
        tars = f"clean {figures['tar_clean']:.3f}, protected {figures['tar_protected']:.3f}"
        typer.echo(f"{name}: TAR at FAR 1e-3 {tars}", err=True)
    quality = report.quality
    typer.echo(f"DSSIM mean {quality['dssim_mean']:.4f}, PSNR mean {quality['psnr_mean']:.1f} dB", err=True)
