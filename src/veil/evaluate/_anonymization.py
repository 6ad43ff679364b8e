"""Does anonymization work? Detector recall, residual identifiability and missed faces by group.

Residual identifiability follows DESIGN.md: a clean gallery (first photo of each
identity), anonymized probes (the rest), rank-1 for every recognizer, beside the
clean probes' rank-1. The anonymized probes are aligned with the faces found in
their *clean* versions: the attacker is told exactly where the face is, the
strongest test of the blur rather than of the detector.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from veil.align import centred_face
from veil.anonymize import BlurWork, anonymize_faces
from veil.detect import get_detector
from veil.embed import RECOGNIZERS, get_recognizer
from veil.evaluate._detection import DetectionScore, load_imglab_boxes, score_detections
from veil.evaluate._embedding import main_face
from veil.evaluate._fairness import GroupRate, group_rates
from veil.evaluate._identification import identification_report, list_identities, split_gallery_probes
from veil.io import read_image
from veil.types import Image, ProgressUpdate

__all__ = ["AnonymizationReport", "evaluate_anonymization"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnonymizationReport:
    """How well anonymization hides faces.

    Attributes:
        recall: Detector recall and precision on annotated boxes (None without them).
        rank1_clean: Recognizer name to rank-1 of clean probes against the clean gallery.
        rank1_anonymized: The same with the probes anonymized (the residual identifiability).
        n_probes: Probes scored.
        missed_by_group: Column name to the share of faces *missed* in each group.
    """

    recall: DetectionScore | None = None
    rank1_clean: dict[str, float] = field(default_factory=dict)
    rank1_anonymized: dict[str, float] = field(default_factory=dict)
    n_probes: int = 0
    missed_by_group: dict[str, list[GroupRate]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recall": self.recall.recall if self.recall else None,
            "precision": self.recall.precision if self.recall else None,
            "boxes": self.recall.to_dict() if self.recall else None,
            "rank1": max(self.rank1_anonymized.values(), default=None),
            "rank1_anonymized": self.rank1_anonymized,
            "rank1_clean": self.rank1_clean,
            "n_probes": self.n_probes,
            "missed_by_group": {c: [g.to_dict() for g in rates] for c, rates in self.missed_by_group.items()},
        }


def _residual(
    root: Path, work: BlurWork, models: Sequence[str], progress: Callable[[ProgressUpdate], None] | None
) -> tuple[dict[str, float], dict[str, float], int]:
    gallery, probes = split_gallery_probes(list_identities(root))
    detector = get_detector(work.detector, threshold=work.threshold)
    recognizers = [get_recognizer(name) for name in models]
    crops: dict[str, dict[str, list[Image]]] = {
        m: {"gallery": [], "clean": [], "anonymized": []} for m in models
    }
    for done, (kind, path) in enumerate(
        [("gallery", p) for _, p in gallery] + [("probe", p) for _, p in probes]
    ):
        image = read_image(path)
        faces = detector.detect(image)
        face = main_face(faces, image) if faces else centred_face(image)
        edited = anonymize_faces(image, faces, method=work.method, strength=work.strength, expand=work.expand)
        for recognizer in recognizers:
            if kind == "gallery":
                crops[recognizer.name]["gallery"].append(recognizer.crop(image, face))
            else:
                crops[recognizer.name]["clean"].append(recognizer.crop(image, face))
                crops[recognizer.name]["anonymized"].append(recognizer.crop(edited, face))
        if progress is not None:
            progress(ProgressUpdate(done=done + 1, total=len(gallery) + len(probes), current=str(path)))
    gallery_ids, probe_ids = [i for i, _ in gallery], [i for i, _ in probes]
    clean, anonymized = {}, {}
    for recognizer in recognizers:
        sets = {kind: recognizer.embed(images) for kind, images in crops[recognizer.name].items()}
        clean[recognizer.name] = identification_report(
            sets["gallery"], gallery_ids, sets["clean"], probe_ids
        ).rank1
        anonymized[recognizer.name] = identification_report(
            sets["gallery"], gallery_ids, sets["anonymized"], probe_ids
        ).rank1
    return clean, anonymized, len(probes)


def _missed_by_group(labels_csv: Path, work: BlurWork, columns: Sequence[str]) -> dict[str, list[GroupRate]]:
    detector = get_detector(work.detector, threshold=work.threshold)
    with labels_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    missed = [not detector.detect(read_image(labels_csv.parent / row["file"])) for row in rows]
    return {column: group_rates(missed, [row[column] for row in rows]) for column in columns}


def evaluate_anonymization(
    work: BlurWork | None = None,
    *,
    boxes: Sequence[Path] = (),
    identities: Path | None = None,
    labels_csv: Path | None = None,
    group_columns: Sequence[str] = ("race_name", "gender_name"),
    models: Sequence[str] = tuple(RECOGNIZERS),
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> AnonymizationReport:
    """Measure an anonymization setting (``work``, default ``BlurWork()``) on the data given.

    Args:
        work: The blur options to measure.
        boxes: dlib imglab XML files of annotated faces: detector recall and precision.
        identities: A folder of identity sub-folders: residual identifiability.
        labels_csv: One face per photo with group columns (UTKFace): missed faces by group.
        group_columns: The columns of ``labels_csv`` to break down by.
        models: Recognizers for residual identifiability.
        progress: Called per photo of the identification set.
    """
    work = work or BlurWork()
    recall = None
    if boxes:
        photos = [photo for xml in boxes for photo in load_imglab_boxes(xml)]
        detector = get_detector(work.detector, threshold=work.threshold)
        found = [
            np.array([f.box for f in detector.detect(read_image(p.path))]).reshape(-1, 4) for p in photos
        ]
        recall = score_detections(photos, found)
    clean: dict[str, float] = {}
    anonymized: dict[str, float] = {}
    n_probes = 0
    if identities is not None:
        clean, anonymized, n_probes = _residual(identities, work, models, progress)
    missed = _missed_by_group(labels_csv, work, group_columns) if labels_csv is not None else {}
    return AnonymizationReport(recall, clean, anonymized, n_probes, missed)
