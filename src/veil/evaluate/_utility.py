"""Utility of anonymized photos: does an ImageNet classifier still see what it saw before?

DESIGN.md's utility protocol. Anonymization should change faces, not what a
photo is for; an ImageNet classifier (EfficientNet-Lite0, card
``efficientnet-lite0``) stands in for the downstream uses of a dataset. Each
photo is classified before and after, and the report gives how often the two
agree and, when true labels are known, how much accuracy anonymization costs.
The network (and torch) is loaded only when the first photo is classified.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veil.errors import InputError
from veil.evaluate._fairness import read_groups, wilson_interval
from veil.io import find_images, read_image
from veil.types import Image, ProgressUpdate

__all__ = ["UtilityReport", "classify", "evaluate_utility", "utility_report"]

logger = logging.getLogger(__name__)

_LABEL_COLUMN = "label"  # in the labels CSV: each photo's ImageNet class index
_TOP_K = 5
_N_CLASSES = 1000
# Photos read, classified and let go at a time: one classifier batch of each side,
# so a folder of any size needs the memory of 32 photos.
_CHUNK_PHOTOS = 16
_EXAMPLES = 3  # missing counterparts named in an error message

Classes = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class UtilityReport:
    """How well an ImageNet classifier's view of the photos survives anonymization.

    Rates are fractions of ``n_photos`` in 0-1. Accuracies are None unless true
    labels were given.

    Attributes:
        n_photos: Photos compared (each counted once, before and after).
        top1_agreement: Fraction whose top-1 class after anonymization is the
            top-1 class before.
        top5_agreement: Fraction whose top-1 class before is among the five best after.
            ``to_dict`` adds ``top1_agreement_low`` and ``_high``, its 95% interval.
        top1_accuracy_before: Fraction whose top-1 class before is the true label.
        top1_accuracy_after: The same after anonymization.
        top5_accuracy_before: Fraction whose true label is among the five best before.
        top5_accuracy_after: The same after anonymization.
        classifier: The model card of the classifier.
    """

    n_photos: int
    top1_agreement: float
    top5_agreement: float
    top1_accuracy_before: float | None = None
    top1_accuracy_after: float | None = None
    top5_accuracy_before: float | None = None
    top5_accuracy_after: float | None = None
    classifier: str = "efficientnet-lite0"

    @property
    def has_labels(self) -> bool:
        return self.top1_accuracy_before is not None

    @property
    def top1_agreement_interval(self) -> tuple[float, float]:
        """95% Wilson interval of ``top1_agreement``: with a few dozen photos one photo moves it by points."""
        return wilson_interval(round(self.top1_agreement * self.n_photos), self.n_photos)

    @property
    def top1_accuracy_drop(self) -> float | None:
        """Top-1 accuracy lost to anonymization (before minus after; negative if it rose)."""
        return _difference(self.top1_accuracy_before, self.top1_accuracy_after)

    @property
    def top5_accuracy_drop(self) -> float | None:
        """Top-5 accuracy lost to anonymization (before minus after; negative if it rose)."""
        return _difference(self.top5_accuracy_before, self.top5_accuracy_after)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; the accuracy fields are present only when labels were given."""
        data: dict[str, Any] = {
            "classifier": self.classifier,
            "n_photos": self.n_photos,
            "top1_agreement": self.top1_agreement,
            "top1_agreement_low": self.top1_agreement_interval[0],
            "top1_agreement_high": self.top1_agreement_interval[1],
            "top5_agreement": self.top5_agreement,
        }
        if self.has_labels:
            data.update(
                top1_accuracy_before=self.top1_accuracy_before,
                top1_accuracy_after=self.top1_accuracy_after,
                top1_accuracy_drop=self.top1_accuracy_drop,
                top5_accuracy_before=self.top5_accuracy_before,
                top5_accuracy_after=self.top5_accuracy_after,
                top5_accuracy_drop=self.top5_accuracy_drop,
            )
        return data


def classify(images: Sequence[Image], *, top_k: int = 5) -> Classes:
    """The ``top_k`` ImageNet-1k classes EfficientNet-Lite0 sees in each image, best first.

    Returns an (N, top_k) array of class indices 0-999 in the usual ImageNet-1k
    order. Each image is classified from its centred square (87.5% of the short
    side, resized to 224 x 224), the crop the weights were scored with, so
    objects near the borders of a wide photo count less. Images go through the
    network 16 at a time; the network is loaded on the first call and reused.

    Raises:
        ValueError: ``top_k`` is not between 1 and 1000.
        InputError: An image is not an RGB ``uint8`` (H, W, 3) array.
        ModelNotPulledError: The weights are missing; run ``veil models pull efficientnet-lite0``.
    """
    from veil.evaluate import _efficientnet  # torch is imported here, not with veil

    return _efficientnet.classify(images, top_k=top_k)


def utility_report(
    before: Sequence[Image], after: Sequence[Image], *, labels: Sequence[int] | None = None
) -> UtilityReport:
    """How often the classifier's answer for each photo survives anonymization, and the accuracy cost.

    Args:
        before: The original photos.
        after: The same photos anonymized, in the same order.
        labels: The true ImageNet class (0-999) of each photo, to get accuracies
            and their drop; without them only agreement is measured, which needs
            no labels and is what the acceptance bar uses.

    Raises:
        InputError: No photos, ``before`` and ``after`` (or ``labels``) of
            different lengths, a label outside 0-999, or an image that is not
            RGB ``uint8``.
        ModelNotPulledError: The classifier's weights are missing.
    """
    if len(before) != len(after):
        raise InputError(
            "<array>", f"{len(before)} photos before and {len(after)} after: need one pair per photo"
        )
    true = None if labels is None else _check_labels("<array>", labels, len(before))
    if not before:
        raise InputError("<array>", "no photos to compare")
    return _report(classify(before, top_k=_TOP_K), classify(after, top_k=_TOP_K), true)


def evaluate_utility(
    clean_dir: str | Path,
    anonymized_dir: str | Path,
    *,
    labels_csv: str | Path | None = None,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> UtilityReport:
    """The utility report of a folder of photos and its anonymized copy, paired by relative path.

    Every image under ``clean_dir`` (sub-folders included) must have its
    anonymized version at the same relative path under ``anonymized_dir`` (the
    suffix may differ: ``veil blur`` writes a GIF as PNG), and the
    other way round, so that no photo is left out of the comparison without a
    word. Photos are read and classified 16 pairs at a time, so memory stays
    bounded whatever the folder's size.

    Args:
        clean_dir: The original photos.
        anonymized_dir: Their anonymized versions.
        labels_csv: Optional CSV with a header row, a ``file`` column (paths
            relative to the CSV's folder, as in :func:`read_groups`) and a
            ``label`` column holding the ImageNet class index (0-999) of every
            clean photo; gives accuracies and their drop.
        progress: Called after each pair with the pairs done and the relative path.

    Raises:
        InputError: A folder that does not exist or holds no image, a photo
            without its counterpart (the message names them), a photo without a
            label or with a bad one, or a photo that cannot be read.
        ModelNotPulledError: The classifier's weights are missing.
    """
    clean_root, anonymized_root = Path(clean_dir), Path(anonymized_dir)
    pairs = _paired_photos(clean_root, anonymized_root)
    relative = [clean for clean, _ in pairs]
    true = None if labels_csv is None else _read_labels(Path(labels_csv), clean_root, relative)
    before: list[Classes] = []
    after: list[Classes] = []
    for start in range(0, len(pairs), _CHUNK_PHOTOS):
        chunk = pairs[start : start + _CHUNK_PHOTOS]
        before.append(classify([read_image(clean_root / clean) for clean, _ in chunk], top_k=_TOP_K))
        after.append(classify([read_image(anonymized_root / other) for _, other in chunk], top_k=_TOP_K))
        if progress is not None:
            for done, (clean, _) in enumerate(chunk, start + 1):
                progress(ProgressUpdate(done=done, total=len(pairs), current=str(clean)))
    logger.info("classified %d photo pairs from %s and %s", len(pairs), clean_root, anonymized_root)
    return _report(np.concatenate(before), np.concatenate(after), true)


def _paired_photos(clean_root: Path, anonymized_root: Path) -> list[tuple[Path, Path]]:
    """(clean, anonymized) relative paths, once every clean photo is known to have its counterpart.

    A pair shares its relative path but for the suffix, because anonymizing may
    change the format (``veil blur`` writes a GIF as PNG).
    """
    for root in (clean_root, anonymized_root):
        if not root.is_dir():
            raise InputError(root, "not a folder (expected a folder of photos)")
    clean = _photos_by_name(clean_root)
    anonymized = _photos_by_name(anonymized_root)
    if not clean:
        raise InputError(clean_root, "no image files in this folder")
    missing = [path for name, path in clean.items() if name not in anonymized]
    extra = sorted(path for name, path in anonymized.items() if name not in clean)
    for unpaired, root, other in (
        (missing, anonymized_root, clean_root),
        (extra, clean_root, anonymized_root),
    ):
        if unpaired:
            names = ", ".join(map(str, unpaired[:_EXAMPLES])) + (", ..." if len(unpaired) > _EXAMPLES else "")
            raise InputError(
                root,
                f"{len(unpaired)} photos of {other} have no counterpart here ({names}); "
                "pair every photo with its version at the same relative path (any suffix)",
            )
    return [(path, anonymized[name]) for name, path in clean.items()]


def _photos_by_name(root: Path) -> dict[Path, Path]:
    """The images under ``root`` by relative path without suffix; two that share one are refused."""
    photos: dict[Path, Path] = {}
    for path in find_images([root]):
        relative = path.relative_to(root)
        other = photos.setdefault(relative.with_suffix(""), relative)
        if other != relative:
            raise InputError(root, f"{other} and {relative} would pair with the same photo; keep one")
    return photos


def _read_labels(labels_csv: Path, clean_root: Path, relative: Sequence[Path]) -> Classes:
    """The label of each clean photo, in the order of ``relative``."""
    rows = {
        path.resolve(): row[_LABEL_COLUMN]
        for path, row in read_groups(labels_csv, columns=[_LABEL_COLUMN]).items()
    }
    texts = []
    for path in relative:
        text = rows.get((clean_root / path).resolve())
        if text is None:
            raise InputError(labels_csv, f"no label for {clean_root / path}; every photo needs one")
        texts.append(text)
    try:
        labels = [int(text) for text in texts]
    except ValueError as err:
        raise InputError(labels_csv, f"labels must be ImageNet class indices 0-999 ({err})") from err
    return _check_labels(labels_csv, labels, len(relative))


def _check_labels(source: str | Path, labels: Sequence[int], n_photos: int) -> Classes:
    true = np.asarray(labels)
    if true.shape != (n_photos,):
        raise InputError(source, f"{true.size} labels for {n_photos} photos: need one label per photo")
    if true.size and (
        not np.issubdtype(true.dtype, np.integer) or true.min() < 0 or true.max() >= _N_CLASSES
    ):
        raise InputError(source, f"labels must be ImageNet class indices 0-{_N_CLASSES - 1}")
    return true.astype(np.int64)


def _report(before: Classes, after: Classes, labels: Classes | None) -> UtilityReport:
    """The rates from the (N, 5) classes before and after, best first."""
    top1 = before[:, :1]
    report = UtilityReport(
        n_photos=len(before),
        top1_agreement=_mean(after[:, 0] == top1[:, 0]),
        top5_agreement=_mean((after == top1).any(axis=1)),
    )
    if labels is None:
        return report
    true = labels[:, None]
    return replace(
        report,
        top1_accuracy_before=_mean(before[:, 0] == labels),
        top1_accuracy_after=_mean(after[:, 0] == labels),
        top5_accuracy_before=_mean((before == true).any(axis=1)),
        top5_accuracy_after=_mean((after == true).any(axis=1)),
    )


def _mean(flags: NDArray[np.bool_]) -> float:
    return float(flags.mean())


def _difference(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else before - after
