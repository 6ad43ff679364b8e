"""Does a cloak protect? The protection protocols run end to end on two folders of photos.

The protocols themselves (who is in which gallery, who is found) are in
``_protection_protocols``. Each rate comes beside its *baseline*, the same
protocol with the clean C_P in place of the cloaked ones, so what the cloak adds
is the difference. Every rate is measured again after each countermeasure,
applied to the C_P photos (cloaked and, for the baseline, clean), which are then
detected afresh as a real system would.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from veil.align import centred_face
from veil.detect import AUTO_DETECTOR, get_detector
from veil.embed import RECOGNIZERS
from veil.errors import InputError, OutputError, UnknownModelError
from veil.evaluate._countermeasures import COUNTERMEASURES, NO_COUNTERMEASURE
from veil.evaluate._embedding import FaceCrops, main_face
from veil.evaluate._fairness import GroupRate, group_rates, read_identity_groups
from veil.evaluate._protection_card import protection_card
from veil.evaluate._protection_protocols import (
    PROTOCOLS,
    ProtectionSplit,
    protection_outcomes,
    split_protection,
)
from veil.evaluate._protection_report import CloakedPhoto, PhotoQuality, ProtectionRate, ProtectionReport
from veil.io import read_image
from veil.match import MATCH_DETECTOR
from veil.quality import quality, region
from veil.types import Embeddings, Image, ProgressUpdate

__all__ = ["DEFAULT_WHITE_BOX", "evaluate_protection"]

logger = logging.getLogger(__name__)

DEFAULT_WHITE_BOX = ("sface", "facenet")
"""veil's differentiable recognizers, the ones a cloak can be made with (``veil.cloak.DEFAULT_MODELS``)."""

_CLEAN, _CLOAKED = "clean", "cloaked"
QUALITY_DETECTOR = AUTO_DETECTOR
"""Finds the face region quality is measured over: the detector ``veil cloak`` uses by
default, so the region is the face box the cloak's DSSIM budget was kept on."""
_Variant = tuple[str, str]  # (clean or cloaked, countermeasure)
_Groups = dict[str, dict[str, str]]  # group column to identity to group


def evaluate_protection(
    clean_dir: str | Path,
    cloaked_dir: str | Path,
    *,
    models: Sequence[str] = tuple(RECOGNIZERS),
    white_box: Sequence[str] = DEFAULT_WHITE_BOX,
    countermeasures: Sequence[str] = tuple(COUNTERMEASURES),
    labels_csv: str | Path | None = None,
    group_columns: Sequence[str] | None = None,
    detector: str = MATCH_DETECTOR,
    out_dir: str | Path | None = None,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> ProtectionReport:
    """How well the cloaked photos protect their people, by every recognizer, protocol and countermeasure.

    The protocols are those of :func:`protection_outcomes`, on the photos as
    :func:`split_protection` pairs and splits them. Every photo is read once, and each
    version of it (clean or cloaked, after each countermeasure) is detected and
    embedded once by every recognizer, then reused by both protocols.

    Args:
        clean_dir: Identity sub-folders of clean photos: the protected people's and
            the distractors'.
        cloaked_dir: The protected identities' sub-folders, each with cloaked
            versions of some of their photos, matched by file stem.
        models: Recognizers to measure (``veil.embed.RECOGNIZERS``).
        white_box: The recognizers the cloak was made with, marked white-box in the
            report; only differentiable ones can be (:data:`DEFAULT_WHITE_BOX`).
        countermeasures: Names from ``COUNTERMEASURES``; ``"none"`` is always measured.
        labels_csv: A CSV with an ``identity`` column and group columns: rates are
            also given per group, with sizes and 95% Wilson intervals.
        group_columns: The columns of ``labels_csv`` to break down by; None for all.
        detector: Finds the main face of each photo (a centred crop when none).
        out_dir: Where to write ``protection.json`` and the self-contained
            ``protection.html`` card; None writes nothing.
        progress: Called after each photo (a cloaked photo counts once).

    Raises:
        InputError: See :func:`split_protection`; also no ``models``, an unreadable
            photo, a protected identity with no row in ``labels_csv``, or a bad labels file.
        UnknownModelError: An unknown recognizer, white-box recognizer or countermeasure.
        OutputError: ``out_dir`` cannot be written.
    """
    chosen = _checked_countermeasures(models, white_box, countermeasures)
    split = split_protection(clean_dir, cloaked_dir)
    groups = _groups(Path(labels_csv), group_columns, split) if labels_csv is not None else {}
    embeddings, fallbacks, photos = _embed(split, models, chosen, detector, progress)
    n_cloaked, n_held = len(split.cloaked), len(split.held_out)
    reference = embeddings[_CLEAN, NO_COUNTERMEASURE]
    rates: list[ProtectionRate] = []
    for model in models:
        held, others = (
            reference[model][n_cloaked : n_cloaked + n_held],
            reference[model][n_cloaked + n_held :],
        )
        for countermeasure in chosen:
            outcomes = {
                source: protection_outcomes(
                    split, embeddings[source, countermeasure][model][:n_cloaked], held, others
                )
                for source in (_CLEAN, _CLOAKED)
            }
            rates.extend(
                _rate(model, model in white_box, protocol, countermeasure, outcomes, split, groups)
                for protocol in PROTOCOLS
            )
    report = ProtectionReport(
        tuple(rates),
        tuple(photos),
        split.protected,
        split.skipped,
        len({i for i, _ in split.distractors}),
        fallbacks,
    )
    if out_dir is not None:
        _write(report, Path(out_dir))
    return report


def _checked_countermeasures(
    models: Sequence[str], white_box: Sequence[str], countermeasures: Sequence[str]
) -> list[str]:
    """The countermeasures to measure, ``"none"`` first, once every name is checked (before any work)."""
    if not models:
        raise InputError("<models>", f"no recognizer to measure; choose from {', '.join(RECOGNIZERS)}")
    for name in models:
        if name not in RECOGNIZERS:
            raise UnknownModelError("recognizer", name, RECOGNIZERS)
    for name in white_box:
        if name not in DEFAULT_WHITE_BOX:
            raise UnknownModelError("white-box recognizer", name, DEFAULT_WHITE_BOX)
    for name in countermeasures:
        if name not in COUNTERMEASURES:
            raise UnknownModelError("countermeasure", name, COUNTERMEASURES)
    return list(dict.fromkeys([NO_COUNTERMEASURE, *countermeasures]))


def _groups(labels_csv: Path, columns: Sequence[str] | None, split: ProtectionSplit) -> _Groups:
    """Group column to each protected identity's group (the probes are all theirs)."""
    labels = read_identity_groups(labels_csv, columns=columns)
    for identity in split.protected:
        if identity not in labels:
            raise InputError(
                labels_csv, f"no row for protected identity {identity!r}; every one needs its groups"
            )
    chosen = next(iter(labels.values()))  # every row holds the columns asked for; one is protected
    return {column: {identity: row[column] for identity, row in labels.items()} for column in chosen}


def _embed(
    split: ProtectionSplit,
    models: Sequence[str],
    countermeasures: Sequence[str],
    detector: str,
    progress: Callable[[ProgressUpdate], None] | None,
) -> tuple[dict[_Variant, dict[str, Embeddings]], dict[str, int], list[PhotoQuality]]:
    """Embeddings of every variant, fallbacks per variant and the quality of each cloaked photo.

    The rows of each variant are the C_P photos in ``split`` order; the clean,
    untouched variant goes on with the H_P photos and then the distractors'.
    """
    crops = {
        (source, cm): FaceCrops(models, detector=detector)
        for cm in countermeasures
        for source in (_CLEAN, _CLOAKED)
    }
    reference = [path for _, path in (*split.held_out, *split.distractors)]
    total = len(split.cloaked) + len(reference)
    photos = []
    for done, photo in enumerate(split.cloaked, 1):
        images = {_CLEAN: read_image(photo.clean), _CLOAKED: read_image(photo.cloaked)}
        for cm in countermeasures:
            for source, image in images.items():
                crops[source, cm].add(COUNTERMEASURES[cm](image))
        photos.append(_quality(photo, images[_CLEAN], images[_CLOAKED]))
        if progress is not None:
            progress(ProgressUpdate(done=done, total=total, current=str(photo.cloaked)))
    for done, path in enumerate(reference, len(split.cloaked) + 1):
        crops[_CLEAN, NO_COUNTERMEASURE].add(read_image(path))
        if progress is not None:
            progress(ProgressUpdate(done=done, total=total, current=str(path)))
    logger.info("embedding %d photos in %d variants with %s", total, len(crops), ", ".join(models))
    embeddings = {variant: faces.embed() for variant, faces in crops.items()}
    fallbacks = {f"{source}:{cm}": int(faces.is_fallback.sum()) for (source, cm), faces in crops.items()}
    return embeddings, fallbacks, photos


def _quality(photo: CloakedPhoto, clean: Image, cloaked: Image) -> PhotoQuality:
    """The cloaked photo against its original, whole and over the clean photo's main face."""
    found = get_detector(QUALITY_DETECTOR).detect(clean)
    face = main_face(found, clean) if found else centred_face(clean)
    if clean.shape != cloaked.shape:
        reason = (
            f"shape {cloaked.shape} differs from the clean photo's {clean.shape}: a cloak must keep the size"
        )
        return PhotoQuality(photo, face.box, None, None, reason)
    try:
        return PhotoQuality(
            photo,
            face.box,
            quality(clean, cloaked),
            quality(region(clean, face.box), region(cloaked, face.box)),
        )
    except InputError as error:
        raise InputError(photo.cloaked, error.reason) from error


def _rate(
    model: str,
    is_white_box: bool,
    protocol: str,
    countermeasure: str,
    outcomes: dict[str, dict[str, NDArray[np.bool_]]],
    split: ProtectionSplit,
    groups: _Groups,
) -> ProtectionRate:
    """One report entry from the per-probe outcomes with the cloak and without (the baseline)."""
    cloaked, baseline = outcomes[_CLOAKED][protocol], outcomes[_CLEAN][protocol]
    probe_ids = split.probes(protocol)

    def by_group(flags: NDArray[np.bool_]) -> dict[str, tuple[GroupRate, ...]]:
        return {c: tuple(group_rates(flags, [of[i] for i in probe_ids])) for c, of in groups.items()}

    return ProtectionRate(
        recognizer=model,
        is_white_box=is_white_box,
        protocol=protocol,
        countermeasure=countermeasure,
        n_probes=len(probe_ids),
        n_protected=int(cloaked.sum()),
        n_baseline=int(baseline.sum()),
        by_group=by_group(cloaked),
        baseline_by_group=by_group(baseline),
    )


def _write(report: ProtectionReport, out_dir: Path) -> None:
    """``protection.json`` and ``protection.html`` in ``out_dir``."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "protection.json").write_text(
            json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8"
        )
        (out_dir / "protection.html").write_text(protection_card(report), encoding="utf-8")
    except OSError as error:
        raise OutputError(out_dir, f"cannot write the protection report ({error})") from error
