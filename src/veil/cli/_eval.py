"""``veil eval verify|identify|anonymization|utility|protection``: the evaluation protocols of DESIGN.md."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from veil.anonymize import DEFAULT_DETECTOR, DEFAULT_EXPAND, DEFAULT_METHOD, DEFAULT_STRENGTH, BlurWork
from veil.cli._common import fail_usage, print_error, progress_bar, stderr
from veil.cli._options import DetectorOption, JsonOption, ModelOption
from veil.embed import DEFAULT_RECOGNIZER, RECOGNIZERS
from veil.errors import VeilError
from veil.evaluate import (
    COUNTERMEASURES,
    DEFAULT_WHITE_BOX,
    ProtectionReport,
    evaluate_anonymization,
    evaluate_identification,
    evaluate_protection,
    evaluate_utility,
    evaluate_verification,
    false_match_rates_by_group,
)
from veil.match import MATCH_DETECTOR

app = typer.Typer(
    help="Measure recognition, anonymization and cloaking: the protocols of DESIGN.md.", no_args_is_help=True
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
        Path | None, typer.Option(help="LFW images folder.", show_default="beside the pairs")
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
    detector: DetectorOption = DEFAULT_DETECTOR,
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
        Path, typer.Argument(help="Folder of the same photos anonymized (same relative paths, any suffix).")
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


def _names(text: str, known: Iterable[str]) -> list[str]:
    """A comma-separated list of names; ``all`` for every name in ``known``."""
    return list(known) if text == "all" else [name.strip() for name in text.split(",") if name.strip()]


def _protection_tables(report: ProtectionReport) -> None:
    rates = Table(
        "recognizer", "box", "protocol", "countermeasure", "probes", "cloaked", "baseline", title="protection"
    )
    for entry in report.rates:
        box = "white" if entry.is_white_box else "black"
        figures = (str(entry.n_probes), f"{entry.rate:.3f}", f"{entry.baseline:.3f}")
        rates.add_row(entry.recognizer, box, entry.protocol, entry.countermeasure, *figures)
    quality = Table("region", "photos", "mean DSSIM", "max DSSIM", "mean PSNR (dB)", title="visual quality")
    for region, summary in (("whole photo", report.whole_quality), ("face", report.face_quality)):
        if summary is not None:
            figures = (f"{summary.mean_dssim:.4f}", f"{summary.max_dssim:.4f}", f"{summary.mean_psnr:.1f}")
            quality.add_row(region, str(summary.n_photos), *figures)
    stderr.print(rates, quality)
    for photo in report.errors:
        print_error(f"{photo.photo.cloaked}: {photo.error}")


@app.command("protection")
def eval_protection(
    clean: Annotated[Path, typer.Option(help="Folder of identity sub-folders of clean photos.")],
    cloaked: Annotated[
        Path, typer.Option(help="The protected identities' sub-folders of cloaked photos (matched by stem).")
    ],
    models: Annotated[
        str, typer.Option(help=f"Recognizers to measure: all, or some of {','.join(RECOGNIZERS)}.")
    ] = "all",
    white_box: Annotated[
        str, typer.Option(help="The recognizers the cloak was made with (the rest are black-box).")
    ] = ",".join(DEFAULT_WHITE_BOX),
    countermeasures: Annotated[
        str,
        typer.Option(help=f"all, or some of {','.join(COUNTERMEASURES)} (none is always measured)."),
    ] = "all",
    groups: Annotated[
        Path | None, typer.Option(help="labels.csv (identity + group columns): rates per group too.")
    ] = None,
    group_columns: Annotated[
        str | None,
        typer.Option(help="Comma-separated group columns of --groups (default: all but identity)."),
    ] = None,
    detector: DetectorOption = MATCH_DETECTOR,
    out: Annotated[
        Path | None, typer.Option(help="Folder for protection.json and the protection.html card.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Does a cloak protect? Poisoning and evasion rates per recognizer and countermeasure, and quality."""
    try:
        with progress_bar("photos", enabled=stderr.is_terminal) as update:
            report = evaluate_protection(
                clean,
                cloaked,
                models=_names(models, RECOGNIZERS),
                white_box=_names(white_box, DEFAULT_WHITE_BOX),
                countermeasures=_names(countermeasures, COUNTERMEASURES),
                labels_csv=groups,
                group_columns=group_columns.split(",") if group_columns else None,
                detector=detector,
                out_dir=out,
                progress=update,
            )
    except VeilError as error:
        raise fail_usage(str(error)) from error
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        _protection_tables(report)
