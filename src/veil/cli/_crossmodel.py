"""``veil align-models fit``, ``veil eval crossmodel|template-leak|cancelable``, ``veil gallery migrate``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from veil.cli._common import fail_usage, progress_bar, refuse_existing, stderr
from veil.cli._options import DetectorOption, JsonOption, ModelOption
from veil.crossmodel import (
    DEFAULT_ANCHOR_COUNTS,
    DEFAULT_BITS,
    DEFAULT_MAX_ANCHORS,
    DEFAULT_TEST_FRACTION,
    DEFAULT_VALIDATION_FRACTION,
    METHODS,
    TEMPLATE_METHODS,
    VERIFICATION_FAR,
    CrossModelReport,
    EmbeddingMap,
    LeakAudit,
    align_models,
    evaluate_crossmodel,
    evaluate_migration,
    evaluate_template_leak,
    evaluate_templates,
    migrate_gallery,
)
from veil.embed import DEFAULT_RECOGNIZER, RECOGNIZERS
from veil.errors import VeilError
from veil.match import MATCH_DETECTOR, Gallery

__all__ = ["align_app", "eval_cancelable", "eval_crossmodel", "eval_template_leak", "gallery_migrate"]

align_app = typer.Typer(help="Maps between face models' embedding spaces.", no_args_is_help=True)

_MODELS = ", ".join(RECOGNIZERS)
SourceOption = Annotated[str, typer.Option("--from", help=f"Source model (the map's input): {_MODELS}.")]
TargetOption = Annotated[str, typer.Option("--to", help=f"Target model (the map's output space): {_MODELS}.")]
RootOption = Annotated[Path, typer.Option(help="Folder of identity sub-folders (ROOT/<identity>/<photo>).")]
OutDirOption = Annotated[Path | None, typer.Option(help="Folder for the JSON report (and plots).")]
SeedOption = Annotated[
    int, typer.Option(help="Seeds the identity split (and keys): same seed, same figures.")
]
AnchorCountsOption = Annotated[
    str, typer.Option(help="Comma-separated anchor counts; those above the anchors available are left out.")
]
_DEFAULT_COUNTS = ",".join(map(str, DEFAULT_ANCHOR_COUNTS))


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise fail_usage(f"anchor counts must be comma-separated integers, got {text!r}") from error
    if not counts or min(counts) < 2:
        raise fail_usage(f"anchor counts must be at least 2, got {text!r}")
    return counts


def _names(text: str, known: Sequence[str]) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise fail_usage(f"unknown {', '.join(unknown)}; choose from: {', '.join(known)}")
    return names


@align_app.command("fit")
def align_fit(
    source: SourceOption,
    target: TargetOption,
    root: RootOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Map file to write (.npz).")],
    method: Annotated[str, typer.Option(help=f"Map: {', '.join(METHODS)}.")] = "ridge",
    anchors: Annotated[int, typer.Option(help="Most anchor photos to fit on.")] = DEFAULT_MAX_ANCHORS,
    validation_fraction: Annotated[
        float, typer.Option(help="Share of identities held out to validate the map.")
    ] = DEFAULT_VALIDATION_FRACTION,
    seed: SeedOption = 0,
    detector: DetectorOption = MATCH_DETECTOR,
    as_json: JsonOption = False,
) -> None:
    """Fit a map from one model's embeddings to another's on photos of ROOT; held-out people validate it."""
    try:
        refuse_existing(out)
        with progress_bar("photos", enabled=stderr.is_terminal) as update:
            mapping = align_models(
                root,
                source=source,
                target=target,
                method=method,
                anchors=anchors,
                validation_fraction=validation_fraction,
                seed=seed,
                detector=detector,
                progress=update,
            )
        mapping.save(out)
    except (VeilError, ValueError) as error:
        raise fail_usage(str(error)) from error
    if as_json:
        typer.echo(json.dumps({"map": str(out), **mapping.to_dict()}))
    check = mapping.validation_
    kept = (
        ""
        if check is None
        else f"; held-out rank-1 {check.rank1_mapped:.3f} of {check.rank1_native:.3f} native"
    )
    typer.echo(f"wrote {out}: {source} -> {target} ({method}, {mapping.n_anchors_} anchors){kept}", err=True)


def eval_crossmodel(
    root: RootOption,
    fit_root: Annotated[
        Path | None, typer.Option(help="Second data set to fit on (cross-data-set generalisation).")
    ] = None,
    models: Annotated[str, typer.Option(help="Comma-separated recognizers, every ordered pair.")] = ",".join(
        RECOGNIZERS
    ),
    methods: Annotated[str, typer.Option(help="Comma-separated map methods.")] = ",".join(METHODS),
    anchors: Annotated[
        int, typer.Option(help="Anchor photos each compared map is fitted on.")
    ] = DEFAULT_MAX_ANCHORS,
    anchor_counts: AnchorCountsOption = _DEFAULT_COUNTS,
    test_fraction: Annotated[
        float, typer.Option(help="Share of identities tested on; the rest give anchors.")
    ] = DEFAULT_TEST_FRACTION,
    seed: SeedOption = 0,
    detector: DetectorOption = MATCH_DETECTOR,
    out: OutDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cross-model rank-1 and TAR of every model pair, unaligned vs each map, with a learning curve."""
    try:
        with progress_bar("photos", enabled=stderr.is_terminal) as update:
            reports = evaluate_crossmodel(
                root,
                fit_root=fit_root,
                models=_names(models, list(RECOGNIZERS)),
                methods=_names(methods, METHODS),
                anchors=anchors,
                anchor_counts=_counts(anchor_counts),
                test_fraction=test_fraction,
                seed=seed,
                detector=detector,
                out_dir=out,
                progress=update,
            )
    except (VeilError, ValueError) as error:
        raise fail_usage(str(error)) from error
    for report in reports:
        if as_json:
            typer.echo(json.dumps(report.to_dict()))
        _crossmodel_table(report)


def eval_template_leak(
    root: RootOption,
    source: SourceOption,
    target: TargetOption,
    anchor_counts: AnchorCountsOption = _DEFAULT_COUNTS,
    protect: Annotated[
        str | None, typer.Option(help=f"Also attack protected templates: {', '.join(TEMPLATE_METHODS)}.")
    ] = None,
    bits: Annotated[int, typer.Option(help="BioHash length.")] = DEFAULT_BITS,
    test_fraction: Annotated[
        float, typer.Option(help="Share of identities whose templates leak; the rest are the attacker's.")
    ] = DEFAULT_TEST_FRACTION,
    seed: SeedOption = 0,
    detector: DetectorOption = MATCH_DETECTOR,
    out: OutDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Leaked templates of model A, searched in a gallery of model B through a map: rank-1 vs chance."""
    try:
        with progress_bar("photos", enabled=stderr.is_terminal) as update:
            audits = evaluate_template_leak(
                root,
                source=source,
                target=target,
                anchor_counts=_counts(anchor_counts),
                protection=protect,
                bits=bits,
                test_fraction=test_fraction,
                seed=seed,
                detector=detector,
                out_dir=out,
                progress=update,
            )
    except (VeilError, ValueError) as error:
        raise fail_usage(str(error)) from error
    for audit in audits:
        if as_json:
            typer.echo(json.dumps(audit.to_dict()))
        _leak_table(audit)


def eval_cancelable(
    pairs: Annotated[Path, typer.Argument(help="Pairs to report on (LFW pairsDevTest.txt).")],
    train: Annotated[Path, typer.Option(help="Pairs to choose the threshold on (pairsDevTrain.txt).")],
    model: ModelOption = DEFAULT_RECOGNIZER,
    method: Annotated[str, typer.Option(help=f"Template method: {', '.join(TEMPLATE_METHODS)}.")] = "biohash",
    bits: Annotated[int, typer.Option(help="BioHash length.")] = DEFAULT_BITS,
    images_root: Annotated[
        Path | None, typer.Option(help="LFW images folder.", show_default="beside the pairs")
    ] = None,
    seed: SeedOption = 0,
    detector: DetectorOption = MATCH_DETECTOR,
    out: OutDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancelable templates: accuracy vs plain embeddings, linkability across keys, renewability."""
    try:
        with progress_bar("photos", enabled=stderr.is_terminal) as update:
            report = evaluate_templates(
                pairs,
                train_pairs_file=train,
                model=model,
                method=method,
                bits=bits,
                seed=seed,
                images_root=images_root,
                detector=detector,
                out_dir=out,
                progress=update,
            )
    except (VeilError, ValueError) as error:
        raise fail_usage(str(error)) from error
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    table = Table(
        "figure", "plain", "protected", title=f"cancelable templates ({model}, {method}, {report.bits})"
    )
    table.add_row("accuracy", f"{report.plain.accuracy:.4f}", f"{report.protected.accuracy:.4f}")
    table.add_row(
        "D_sys across keys", f"{report.plain_linkability.d_sys:.3f}", f"{report.linkability.d_sys:.3f}"
    )
    table.add_row("revoked vs re-issued accepted", "", f"{report.renewed_accept_rate:.4f}")
    table.add_row("false accept rate", "", f"{report.false_accept_rate:.4f}")
    stderr.print(table)


def gallery_migrate(
    gallery: Annotated[Path, typer.Argument(help="Gallery file to migrate (left unchanged).")],
    to: Annotated[str, typer.Option("--to", help=f"The model to migrate to: {_MODELS}.")],
    map_file: Annotated[Path, typer.Option("--map", help="Map file from veil align-models fit.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Migrated gallery.", show_default="GALLERY.<model>.veil beside it"),
    ] = None,
    probes: Annotated[
        Path | None,
        typer.Option(
            help="Folder of sub-folders named after enrolled people, photos not enrolled: measure rank-1."
        ),
    ] = None,
    detector: DetectorOption = MATCH_DETECTOR,
    as_json: JsonOption = False,
) -> None:
    """Convert a gallery to another model's space with a map, without the original photos."""
    target = out or gallery.with_name(f"{gallery.stem}.{to}.veil")
    try:
        refuse_existing(target)
        mapping = EmbeddingMap.load(map_file)
        if mapping.target_model != to:
            raise fail_usage(f"{map_file}: this map goes to {mapping.target_model!r}, not {to!r}")
        original = Gallery.load(gallery)
        migrated = migrate_gallery(original, mapping)
        migrated.save(target)
        with progress_bar("photos", enabled=stderr.is_terminal and probes is not None) as update:
            measured = (
                None
                if probes is None
                else evaluate_migration(original, migrated, probes, detector=detector, progress=update)
            )
    except (VeilError, OSError, ValueError) as error:  # ValueError: a map into a shared space
        raise fail_usage(str(error)) from error
    figures = {
        "gallery": str(target),
        "model": migrated.model,
        "entries": len(migrated),
        "validation": None if mapping.validation_ is None else mapping.validation_.to_dict(),
        "measured": None if measured is None else measured.to_dict(),
    }
    if as_json:
        typer.echo(json.dumps(figures))
    typer.echo(f"migrated {len(migrated)} entries from {original.model} to {to}: {target}", err=True)
    if mapping.validation_ is not None:
        kept = mapping.validation_
        typer.echo(
            f"  when fitted: rank-1 {kept.rank1_mapped:.3f} of {kept.rank1_native:.3f} native "
            f"({kept.retention:.1%} kept, {kept.n_probes} held-out probes)",
            err=True,
        )
    if measured is not None:
        typer.echo(
            f"  on {probes}: rank-1 {measured.rank1_migrated:.3f} migrated vs {measured.rank1_original:.3f} "
            f"original ({measured.retention:.1%} kept, {measured.n_probes} probes)",
            err=True,
        )


def _crossmodel_table(report: CrossModelReport) -> None:
    methods = [score.method for score in report.pairs[0].scores]
    table = Table(
        "source",
        "target",
        *methods,
        "best kept",
        title=f"cross-model rank-1 / TAR@FAR{VERIFICATION_FAR:g} "
        f"({report.n_identities} identities, {report.n_probes} probes, anchors from {report.anchors_from})",
    )
    for pair in report.pairs:
        cells = [f"{s.rank1:.3f} / {s.tar:.3f}" for s in pair.scores]
        table.add_row(pair.source, pair.target, *cells, f"{pair.retention:.1%} ({pair.best.method})")
    stderr.print(table)


def _leak_table(audit: LeakAudit) -> None:
    who = "knows the templates" if audit.knows_templates else "public photos only"
    kind = audit.protection or "plain"
    table = Table(
        "anchors",
        "rank-1",
        "95% interval",
        "p (corrected)",
        "best map",
        title=f"leak audit {audit.source} -> {audit.target}, {kind} templates, attacker: {who} "
        f"(chance {audit.chance:.3f}, {audit.n_leaked} people, {audit.n_templates} templates leaked)",
    )
    for point in audit.points:
        table.add_row(
            str(point.n_anchors),
            f"{point.rank1:.3f}",
            f"{point.low:.3f}-{point.high:.3f}",
            f"{point.p_value:.3g}",
            point.method,
        )
    stderr.print(table)
