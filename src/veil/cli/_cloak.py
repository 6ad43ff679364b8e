"""``veil cloak``: protect photos against face recognition before sharing them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from veil.cli._common import (
    fail_usage,
    failing_inputs,
    is_single_file_job,
    print_job_report,
    progress_bar,
    refuse_existing,
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
from veil.cloak import (
    CLOAK_FORMATS,
    DEFAULT_MODE,
    DEFAULT_MODELS,
    MODES,
    CloakWork,
    choose_target,
    cloak_file,
    cloak_files,
    person_embeddings,
    protection_card,
)
from veil.errors import VeilError
from veil.io import read_image

_MODES_HELP = ", ".join(f"{name} (DSSIM <= {mode.budget:g})" for name, mode in MODES.items())


def cloak(
    paths: PhotosArgument,
    out: OutOption,
    mode: Annotated[str, typer.Option(help=f"Protection level: {_MODES_HELP}.")] = DEFAULT_MODE,
    budget: Annotated[
        float | None, typer.Option(help="DSSIM limit per face.", show_default="the mode's")
    ] = None,
    models: Annotated[
        str, typer.Option(help="Comma-separated recognizers to cloak against (differentiable ones).")
    ] = ",".join(DEFAULT_MODELS),
    target_dir: Annotated[
        Path | None,
        typer.Option(help="Identity folders to choose a target from (the least like the inputs' person)."),
    ] = None,
    robust: Annotated[
        bool | None,
        typer.Option(
            "--robust/--no-robust",
            help="Survive JPEG, resizing and blur.",
            show_default="on in mid and high",
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help=f"Output format: {', '.join(CLOAK_FORMATS)} (JPEG at quality 95).")
    ] = "png",
    card: Annotated[
        Path | None,
        typer.Option(help="One photo only: write its protection card here (HTML, and JSON beside it)."),
    ] = None,
    hide: Annotated[
        str | None,
        typer.Option(
            help="Hide soft biometrics instead of identity (PrivacyNet-style): gender, age, race, "
            "comma-separated, each optionally =CLASS to show instead (age=60+); see veil attributes."
        ),
    ] = None,
    keep_identity: Annotated[
        bool,
        typer.Option("--keep-identity/--no-keep-identity", help="With --hide: keep face matching working."),
    ] = True,
    visible: Annotated[
        bool, typer.Option(help="With --hide: allow a visible pattern (DSSIM 0.05) that fools more judges.")
    ] = False,
    chance: Annotated[
        bool,
        typer.Option(
            help="With --hide: push each attribute towards a uniform read (no class favoured) instead of "
            "towards a wrong class."
        ),
    ] = False,
    universal: Annotated[
        Path | None,
        typer.Option(
            help="With --hide: learn one perturbation from these photos of the person (folder) or load a "
            ".npz, and apply it to every face and video frame in real time (needed for videos)."
        ),
    ] = None,
    detector: DetectorOption = "auto",
    threshold: ThresholdOption = None,
    keep_metadata: KeepMetadataOption = False,
    resume: ResumeOption = False,
    engine: EngineOption = "local",
    workers: WorkersOption = None,
    address: AddressOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cloak every face in photos and folders so recognizers cannot learn or match them.

    The change is kept below a perceptual budget; inputs are never modified and
    nothing is overwritten. A photo with no face is an error (it would not be protected).
    """
    if hide is not None:
        from veil.cli._attributes import hide_command

        identity_only = {
            "--mode": mode != DEFAULT_MODE,
            "--target-dir": target_dir is not None,
            "--robust": robust is not None,
            "--format": output_format != "png",
            "--card": card is not None,
        }
        if used := [option for option, given in identity_only.items() if given]:
            raise fail_usage(f"{', '.join(used)} cloak identity and do not apply with --hide")
        judges = tuple(m.strip() for m in models.split(",") if m.strip())
        hide_command(
            paths, out, hide=hide, keep_identity=keep_identity, visible=visible, chance=chance,
            universal=universal,
            budget=budget, judges=judges, detector=detector, threshold=threshold,
            keep_metadata=keep_metadata, resume=resume, engine=engine, workers=workers, address=address,
            as_json=as_json,
        )  # fmt: skip
        return
    try:
        if output_format not in CLOAK_FORMATS:
            raise VeilError(f"unknown format {output_format!r}; choose one of: {', '.join(CLOAK_FORMATS)}")
        work = CloakWork(
            mode=mode,
            budget=budget,
            models=tuple(m.strip() for m in models.split(",") if m.strip()),
            robust=robust,
            detector=detector,
            threshold=threshold,
            keep_metadata=keep_metadata,
            output_format=CLOAK_FORMATS[output_format],
        )
        if is_single_file_job(paths, out):
            if card is not None:
                refuse_existing(card, card.with_suffix(".json"))
            with failing_inputs(paths[0], as_json=as_json):
                _cloak_one(paths[0], out, work, target_dir, card, as_json)
            return
        if card is not None:
            raise VeilError("--card is for one photo; for folders, run: veil eval protection")
        with progress_bar("cloaking", enabled=stderr.is_terminal and not as_json) as update:
            report = cloak_files(
                paths,
                out,
                work,
                target_dir=target_dir,
                resume=resume,
                engine=engine,
                workers=workers,
                address=address,
                progress=update,
            )
    except VeilError as error:
        raise fail_usage(str(error)) from error
    print_job_report(report, out, "cloaked", as_json=as_json)


def _cloak_one(
    source: Path, out: Path, work: CloakWork, target_dir: Path | None, card: Path | None, as_json: bool
) -> None:
    if target_dir is not None:
        person = person_embeddings([source], work.models)
        work = replace(work, target=choose_target(target_dir, person, work.models))
    cloaked = cloak_file(source, out, work)
    for index, face in enumerate(cloaked.faces):
        scores = ", ".join(f"{name} {score:.2f}" for name, score in face.similarity.items())
        state = (
            f"DSSIM {face.dssim:.4f}, similarity to the clean face: {scores}" if face.cloaked else "too small"
        )
        typer.echo(f"{source} -> {out}: face {index}: {state}", err=True)
    result = cloaked.to_dict()
    if card is not None:
        checked = protection_card(read_image(source), cloaked)
        card.parent.mkdir(parents=True, exist_ok=True)
        card.write_text(checked.html, encoding="utf-8")
        card.with_suffix(".json").write_text(json.dumps(checked.to_dict(), indent=2) + "\n")
        result["protected"] = checked.protected
        verdict = "protected" if checked.protected else "NOT protected against every check"
        typer.echo(f"protection card: {card} ({verdict})", err=True)
    if as_json:
        typer.echo(json.dumps({"file": str(source), "output": str(out), **result}))
