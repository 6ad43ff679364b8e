"""``veil attributes`` (what judges read from faces) and ``veil eval attributes`` (does hiding work)."""

from __future__ import annotations

import json
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
    classify_attributes,
    evaluate_attributes,
    write_attribute_report,
)
from veil.cli._common import fail_usage, finish, print_error, progress_bar, stderr
from veil.cli._options import DetectorOption, JsonOption, ThresholdOption
from veil.errors import VeilError
from veil.io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, find_images
from veil.jobs import run_each

_MEDIA = {*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS}


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
                print_error(item.error)
                if as_json:
                    typer.echo(json.dumps({"file": str(item.path), "error": item.error}))
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
    universal: Path | None,
    budget: float | None,
    judges: tuple[str, ...],
    detector: str,
    threshold: float | None,
    keep_metadata: bool,
    as_json: bool,
) -> None:
    """``veil cloak --hide``: attribute privacy for photos, and with ``--universal`` for videos too."""
    from veil.attributes import (
        UniversalPerturbation,
        hide_attributes_file,
        hide_attributes_video,
        parse_hide,
        universal_perturbation,
    )
    from veil.io import find_files, is_video, read_image, write_image

    try:
        parse_hide(hide)
        found = [f for f in find_files(paths) if f.is_named or f.path.suffix.lower() in _MEDIA]
        single = len(paths) == 1 and paths[0].is_file() and bool(out.suffix) and not out.is_dir()
        perturbation = None
        if universal is not None:
            if universal.suffix == ".npz":
                perturbation = UniversalPerturbation.load(universal)
            else:
                photos = [read_image(p) for p in find_images([universal])]
                typer.echo(f"learning a universal perturbation from {len(photos)} photos", err=True)
                perturbation = universal_perturbation(
                    photos, hide=hide, visible=visible, keep_identity=keep_identity, judges=judges
                )
                typer.echo(f"universal perturbation: {json.dumps(perturbation.to_dict())}", err=True)
        elif any(is_video(f.path) for f in found):
            raise VeilError("videos need --universal PHOTOS (photos of the person) or a saved .npz")
    except VeilError as error:
        raise fail_usage(str(error)) from error

    failures = []
    for item in found:
        target = out if single else out / item.relative
        if not single and not is_video(item.path):
            target = target.with_suffix(".png")
        try:
            if is_video(item.path) and perturbation is not None:
                report = hide_attributes_video(
                    item.path, target, perturbation, detector=detector if detector != "auto" else "yunet",
                    threshold=threshold, keep_metadata=keep_metadata,
                )  # fmt: skip
                result = report.to_dict()
            elif perturbation is not None:
                image = read_image(item.path)
                faces = veil.detect(image, detector=detector, threshold=threshold)
                write_image(
                    perturbation.apply(image, faces),
                    target,
                    keep_metadata=keep_metadata,
                    metadata_from=item.path,
                )
                result = {"faces": len(faces), "universal": perturbation.to_dict()}
            else:
                hidden = hide_attributes_file(
                    item.path, target, keep_metadata=keep_metadata, hide=hide, visible=visible,
                    keep_identity=keep_identity, judges=judges, budget=budget, detector=detector,
                    threshold=threshold,
                )  # fmt: skip
                result = hidden.to_dict()
                for index, face in enumerate(hidden.faces):
                    if face.hidden:
                        reads = "; ".join(f"{j}: {r}" for j, r in face.after.items())
                        state = f"DSSIM {face.dssim:.4f}, read after: {reads}"
                        typer.echo(f"{item.path} -> {target}: face {index}: {state}", err=True)
        except VeilError as error:
            failures.append(str(error))
            print_error(str(error))
            if as_json:
                typer.echo(json.dumps({"file": str(item.path), "error": str(error)}))
            continue
        if as_json:
            typer.echo(json.dumps({"file": str(item.path), "output": str(target), **result}))
    finish(len(found), failures)


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
