"""Measure attribute privacy: what judges read before and after, whether matching still works, at what cost.

``evaluate_attributes`` pairs each protected photo with its clean original (same
path below the two folders, any extension) and reports, for every judge (marked
white-box when it was optimised against, black-box otherwise):

- attribute accuracy on the clean and on the protected photos when a labels
  file gives the truth (UTKFace's ``labels.csv`` columns ``file``, ``age``,
  ``gender``, ``race``), else agreement with what the judge read on the clean
  photo, overall and per demographic group, with 95% Wilson intervals;
- identity verification at FAR 1e-3 for every recognizer: when the clean folder
  holds identity sub-folders, genuine pairs are each protected photo against its
  person's other clean photos, impostor pairs come from clean photos of
  different people and fix the threshold; the true accept rate of the same
  pairs with the clean photo in place is the baseline. Without identities, the
  protected photo is matched against its own clean original at the recognizer's
  calibrated FAR 1e-3 threshold (``veil.match``);
- DSSIM and PSNR of each protected photo against its original.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veil.attributes._classes import ATTRIBUTES, JUDGES, age_group
from veil.attributes._modes import DEFAULT_HIDE_JUDGES
from veil.errors import InputError
from veil.types import ProgressUpdate

__all__ = ["AttributeReport", "evaluate_attributes", "verification_at_far"]

logger = logging.getLogger(__name__)

VERIFY_FAR = 1e-3


@dataclass(frozen=True, slots=True)
class AttributeReport:
    """What ``evaluate_attributes`` measured; ``to_dict`` is the JSON report.

    Attributes:
        n_photos: Protected photos paired with a clean original.
        accuracy: Rows of judge, white_box, attribute, group, n, before, after (accuracy with labels,
            else agreement with the clean read; ``before`` is then 1), with Wilson intervals.
        verification: Per recognizer, the true accept rates at FAR 1e-3 before and after.
        quality: Mean and worst DSSIM and PSNR over the photos.
        has_labels: Whether ``accuracy`` is against true labels.
        fallbacks: Photos in which no face was found (a centred crop was read).
    """

    n_photos: int
    accuracy: tuple[dict[str, Any], ...]
    verification: dict[str, dict[str, Any]]
    quality: dict[str, float]
    has_labels: bool
    fallbacks: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; the top level carries the headline figures."""
        headline = {
            f"{row['judge']}_{row['attribute']}_after": row["after"]
            for row in self.accuracy
            if row["group"] == "all"
        }
        return {
            "n_photos": self.n_photos,
            "has_labels": self.has_labels,
            "fallbacks": self.fallbacks,
            **headline,
            "accuracy": list(self.accuracy),
            "verification": self.verification,
            "quality": self.quality,
        }


def evaluate_attributes(
    clean: str | Path,
    protected: str | Path,
    *,
    labels: str | Path | None = None,
    judges: Sequence[str] = JUDGES,
    white_box: Sequence[str] = DEFAULT_HIDE_JUDGES,
    detector: str = "auto",
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> AttributeReport:
    """Attribute accuracy, verification and quality of protected photos against their clean originals.

    Args:
        clean: Folder of the original photos (identity sub-folders allow the verification protocol).
        protected: Folder of protected photos, at the same relative paths (any image extension).
        labels: CSV with ``file`` (a path whose name matches the photo's), ``age``, ``gender``
            (0 male, 1 female) and ``race`` (0-4, UTKFace's) columns.
        judges: Judges to read with (``veil.attributes.JUDGES``); their recognizers are also
            the ones verification is measured with.
        white_box: The judges the protection was optimised against (for the labels in the report).
        detector: Finds the main face of each photo (see ``veil.evaluate.embed_photos``).
        progress: Called as photos are embedded.

    Raises:
        InputError: A folder without photos, or no protected photo with a clean original.
    """
    from veil.attributes._judges import get_judge
    from veil.evaluate import embed_photos
    from veil.io import IMAGE_EXTENSIONS, find_files, find_images, read_image
    from veil.quality import dssim, psnr

    clean, protected = Path(clean), Path(protected)
    images = set(find_images([clean]))
    originals = {f.relative.with_suffix(""): f.path for f in find_files([clean]) if f.path in images}
    pairs = [
        (originals[f.relative.with_suffix("")], f.path)
        for f in find_files([protected])
        if f.relative.with_suffix("") in originals and f.path.suffix.lower() in IMAGE_EXTENSIONS
    ]
    if not pairs:
        raise InputError(protected, f"no protected photo has an original at the same path under {clean}")
    before_paths = [c for c, _ in pairs]
    after_paths = [p for _, p in pairs]
    everything = list(dict.fromkeys([*originals.values(), *after_paths]))
    embedded = embed_photos(everything, models=list(judges), detector=detector, progress=progress)
    rows_before, rows_after = embedded.rows(before_paths), embedded.rows(after_paths)

    truth = _read_labels(Path(labels), before_paths) if labels is not None else None
    accuracy: list[dict[str, Any]] = []
    for name in judges:
        judge = get_judge(name)
        read_before = judge.probabilities(embedded.embeddings[name][rows_before])
        read_after = judge.probabilities(embedded.embeddings[name][rows_after])
        for attribute in ATTRIBUTES:
            before = read_before[attribute].argmax(axis=1)
            after = read_after[attribute].argmax(axis=1)
            reference = truth[attribute] if truth is not None else before
            known = reference >= 0
            groups: dict[str, NDArray[np.bool_]] = {"all": known}
            if truth is not None:
                for group_attribute, values in truth.items():
                    for index, group in enumerate(ATTRIBUTES[group_attribute]):
                        groups[f"{group_attribute}={group}"] = known & (values == index)
            for group, members in groups.items():
                if members.sum() == 0:
                    continue
                accuracy.append(
                    _accuracy_row(
                        name, name in white_box, attribute, group, before, after, reference, members
                    )
                )

    identities = _identities(clean, before_paths)
    verification = {
        name: verification_at_far(
            embedded.embeddings[name],
            rows_before,
            rows_after,
            embedded.rows(list(originals.values())),
            identities,
            [_identity_of(clean, p) for p in originals.values()],
            model=name,
        )
        for name in judges
    }
    dssims, psnrs = [], []
    for original, edited in pairs:
        a, b = read_image(original), read_image(edited)
        if a.shape == b.shape:
            dssims.append(dssim(a, b))
            psnrs.append(psnr(a, b))
    finite = [p for p in psnrs if np.isfinite(p)]
    quality = {
        "dssim_mean": float(np.mean(dssims)) if dssims else float("nan"),
        "dssim_max": float(np.max(dssims)) if dssims else float("nan"),
        "psnr_mean": float(np.mean(finite)) if finite else float("inf"),
        "psnr_min": float(np.min(finite)) if finite else float("inf"),
        "n": len(dssims),
    }
    return AttributeReport(
        n_photos=len(pairs),
        accuracy=tuple(accuracy),
        verification=verification,
        quality=quality,
        has_labels=truth is not None,
        fallbacks=embedded.fallbacks,
    )


def _accuracy_row(
    judge: str,
    is_white: bool,
    attribute: str,
    group: str,
    before: NDArray[np.int64],
    after: NDArray[np.int64],
    reference: NDArray[np.int64],
    members: NDArray[np.bool_],
) -> dict[str, Any]:
    from veil.evaluate import wilson_interval

    n = int(members.sum())
    right_before = int((before[members] == reference[members]).sum())
    right_after = int((after[members] == reference[members]).sum())
    return {
        "judge": judge,
        "white_box": is_white,
        "attribute": attribute,
        "group": group,
        "n": n,
        "before": right_before / n,
        "before_ci": list(wilson_interval(right_before, n)),
        "after": right_after / n,
        "after_ci": list(wilson_interval(right_after, n)),
    }


def verification_at_far(
    embeddings: NDArray[np.float32],
    rows_before: NDArray[np.intp],
    rows_after: NDArray[np.intp],
    rows_gallery: NDArray[np.intp],
    identities: Sequence[str | None],
    gallery_identities: Sequence[str | None],
    *,
    model: str,
    far: float = VERIFY_FAR,
) -> dict[str, Any]:
    """True accept rates at ``far`` of clean and protected photos against their person's other clean photos.

    Genuine pairs: each protected photo (row of ``rows_after``, person ``identities[i]``) with every
    other clean gallery photo of the same person; the baseline uses its clean original
    (``rows_before``) in the same pairs. The threshold comes from every pair of clean gallery photos
    of different people; with no identities, each protected photo is matched against its own
    original at the model's calibrated threshold.
    """
    from veil.match import load_calibration, thresholds_at_far

    unit = embeddings.astype(np.float64)
    gallery_ids = np.array([g or "" for g in gallery_identities])
    if not any(identities) or len(set(gallery_ids) - {""}) < 2:
        threshold = load_calibration(model).threshold(far)
        scores = np.sum(unit[rows_after] * unit[rows_before], axis=1)
        return {
            "protocol": "protected against its own original, calibrated threshold",
            "threshold": threshold,
            "tar_clean": 1.0,
            "tar_protected": float(np.mean(scores >= threshold)),
            "n_genuine": len(scores),
        }
    gallery = unit[rows_gallery]
    same = gallery_ids[:, None] == gallery_ids[None, :]
    upper = np.triu(np.ones_like(same), k=1).astype(bool)
    impostor = (gallery @ gallery.T)[upper & ~same & (gallery_ids[:, None] != "")]
    threshold = thresholds_at_far(impostor, [far])[far].threshold
    clean_scores, protected_scores = [], []
    for row, (before, after) in enumerate(zip(rows_before, rows_after, strict=True)):
        mates = [
            g
            for g, gid in zip(rows_gallery, gallery_ids, strict=True)
            if gid == identities[row] and g != before
        ]
        clean_scores.extend(unit[mates] @ unit[before])
        protected_scores.extend(unit[mates] @ unit[after])
    tar_clean = float(np.mean(np.array(clean_scores) >= threshold)) if clean_scores else float("nan")
    tar_protected = (
        float(np.mean(np.array(protected_scores) >= threshold)) if protected_scores else float("nan")
    )
    return {
        "protocol": "against the person's other clean photos; threshold from clean impostor pairs",
        "threshold": threshold,
        "n_impostor": int(impostor.size),
        "n_genuine": len(clean_scores),
        "tar_clean": tar_clean,
        "tar_protected": tar_protected,
        "ratio": tar_protected / tar_clean if clean_scores and tar_clean > 0 else float("nan"),
    }


def _identity_of(root: Path, path: Path) -> str | None:
    relative = path.relative_to(root)
    return relative.parts[0] if len(relative.parts) > 1 else None


def _identities(root: Path, paths: Sequence[Path]) -> list[str | None]:
    return [_identity_of(root, p) for p in paths]


def _read_labels(labels: Path, paths: Sequence[Path]) -> dict[str, NDArray[np.int64]]:
    """Per attribute, each photo's class index from the labels file (-1 where unknown)."""
    by_name: dict[str, dict[str, int]] = {}
    try:
        with labels.open(newline="") as file:
            for row in csv.DictReader(file):
                by_name[Path(row["file"]).name] = {
                    "gender": int(row["gender"]),
                    "age": age_group(int(row["age"])),
                    "race": int(row["race"]),
                }
    except (OSError, KeyError, ValueError) as error:
        raise InputError(
            labels, f"not a labels file with file, age, gender and race columns ({error})"
        ) from error
    out = {a: np.full(len(paths), -1, np.int64) for a in ATTRIBUTES}
    for index, path in enumerate(paths):
        known = by_name.get(path.name)
        if known is not None:
            for attribute, value in known.items():
                out[attribute][index] = value
    return out
