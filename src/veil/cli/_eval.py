"""``veil eval verify|identify``: the recognition protocols of DESIGN.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from veil.anonymize import DEFAULT_EXPAND, DEFAULT_METHOD, DEFAULT_STRENGTH, BlurWork
from veil.cli._common import fail_usage, progress_bar, stderr
from veil.cli._options import DetectorOption, JsonOption, ModelOption
from veil.embed import DEFAULT_RECOGNIZER
from veil.errors import VeilError
from veil.evaluate import (
    evaluate_anonymization,
    evaluate_identification,
    evaluate_utility,
    evaluate_verification,
    false_match_rates_by_group,
)
from veil.match import MATCH_DETECTOR

app = typer.Typer(
    help="Measure recognition: verification and identification protocols.", no_args_is_help=True
)

OutOption = Annotated[Path | None, typer.Option(help="Folder for the JSON report and the plots.")]
GroupsOption = Annotated[
    Path | None,
    typer.Option(help="labels.csv (file + group columns): also false match rates inside each group."),
]
GroupColumnsOption = Annotated[str, typer.Option(help="Comma-separated group columns of --groups.")]


def _headline(title: str, figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(figures))
        return
    table = Table("figure", "value", title=title)
    for name, value in figures.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


@app.command("verify")
def eval_verify(
    pairs: Annotated[Path, typer.Argument(help="Pairs file: LFW View 1, View 2, or 'path_a path_b label'.")],
    train: Annotated[
        Path | None, typer.Option(help="Pairs to choose the threshold on (View 1 DevTrain).")
    ] = None,
    images_root: Annotated[
        Path | None, typer.Option(help="LFW images folder [default: beside the pairs].")
    ] = None,
    model: ModelOption = DEFAULT_RECOGNIZER,
    detector: DetectorOption = MATCH_DETECTOR,
    out: OutOption = None,
    groups: GroupsOption = None,
    group_columns: GroupColumnsOption = "race_name,gender_name",
    as_json: JsonOption = False,
) -> None:
    """Verification accuracy, ROC AUC, EER and TAR at FAR on a pairs file."""
    try:
        with progress_bar("photos", enabled=stderr.is_terminal) as update:
            report = evaluate_verification(
                pairs,
                model=model,
                train_pairs_file=train,
                images_root=images_root,
                detector=detector,
                out_dir=out,
                progress=update,
            )
            figures = {"model": model, **report.to_dict()}
            if groups is not None:
                by_group = false_match_rates_by_group(
                    groups, model=model, columns=group_columns.split(","), detector=detector, progress=update
                )
                figures["groups"] = [grouped.to_dict() for grouped in by_group]
    except VeilError as error:
        raise fail_usage(str(error)) from error
    if out is not None and groups is not None:
        (out / "verification.json").write_text(json.dumps(figures, indent=2) + "\n")
    _headline(f"verification ({model})", figures, as_json)


@app.command("identify")
def eval_identify(
    root: Annotated[Path, typer.Argument(help="Folder of identity sub-folders.")],
    model: ModelOption = DEFAULT_RECOGNIZER,
    detector: DetectorOption = MATCH_DETECTOR,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Closed-set rank-1 and rank-5 identification (first photo of each identity is the gallery)."""
    try:
        with progress_bar("photos", enabled=stderr.is_terminal) as update:
            report = evaluate_identification(
                root, model=model, detector=detector, out_dir=out, progress=update
            )
    except VeilError as error:
        raise fail_usage(str(error)) from error
    _headline(f"identification ({model})", {"model": model, **report.to_dict()}, as_json)


@app.command("anonymization")
def eval_anonymization(
    boxes: Annotated[
        list[Path] | None, typer.Option(help="dlib imglab XML of face boxes (repeatable).")
    ] = None,
    identities: Annotated[Path | None, typer.Option(help="Folder of identity sub-folders (CelebA).")] = None,
    labels: Annotated[Path | None, typer.Option(help="labels.csv, one face per photo (UTKFace).")] = None,
    group_columns: GroupColumnsOption = "race_name,gender_name",
    method: Annotated[str, typer.Option(help="Obfuscation to measure.")] = DEFAULT_METHOD,
    strength: Annotated[float, typer.Option(help="See veil blur.")] = DEFAULT_STRENGTH,
    expand: Annotated[float, typer.Option(help="See veil blur.")] = DEFAULT_EXPAND,
    detector: DetectorOption = "auto",
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Detector recall, residual identifiability (rank-1 of blurred probes) and missed faces by group."""
    work = BlurWork(method=method, strength=strength, expand=expand, detector=detector)
    try:
        with progress_bar("photos", enabled=stderr.is_terminal) as update:
            report = evaluate_anonymization(
                work,
                boxes=boxes or [],
                identities=identities,
                labels_csv=labels,
                group_columns=group_columns.split(","),
                progress=update,
            )
    except VeilError as error:
        raise fail_usage(str(error)) from error
    figures = report.to_dict()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "anonymization.json").write_text(json.dumps(figures, indent=2) + "\n")
    _headline("anonymization", figures, as_json)


@app.command("utility")
def eval_utility(
    clean: Annotated[Path, typer.Argument(help="Folder of the original photos.")],
    anonymized: Annotated[
        Path, typer.Argument(help="Folder of the same photos anonymized (same relative paths).")
    ],
    labels: Annotated[Path | None, typer.Option(help="CSV with file,label (ImageNet class index).")] = None,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Does anonymization hurt object recognition? EfficientNet-Lite0 agreement before vs after."""
    try:
        with progress_bar("photos", enabled=stderr.is_terminal) as update:
            report = evaluate_utility(clean, anonymized, labels_csv=labels, progress=update)
    except VeilError as error:
        raise fail_usage(str(error)) from error
    figures = report.to_dict()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "utility.json").write_text(json.dumps(figures, indent=2) + "\n")
    _headline("utility", figures, as_json)
