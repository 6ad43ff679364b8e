"""Evaluation protocols: every privacy claim veil makes is a measurement made here.

The functions work on paths, embeddings and scores; detecting, aligning and
embedding the photos is the caller's part. Plotting imports matplotlib only when
a plot is drawn. ``render_card`` turns a report into one self-contained HTML
page (the protection card; ``veil cloak --card``).
"""

from __future__ import annotations

from veil.evaluate._anonymization import AnonymizationReport, evaluate_anonymization
from veil.evaluate._card import CardImage, CardSection, CardTable, before_after, render_card
from veil.evaluate._countermeasures import COUNTERMEASURES
from veil.evaluate._detection import (
    AnnotatedPhoto,
    DetectionScore,
    load_imglab_boxes,
    score_detections,
)
from veil.evaluate._embedding import PhotoEmbeddings, embed_photos, main_face
from veil.evaluate._fairness import (
    CONFIDENCE,
    GroupRate,
    group_false_match_rates,
    group_rates,
    read_groups,
    read_identity_groups,
    wilson_interval,
)
from veil.evaluate._identification import (
    DEFAULT_MAX_RANK,
    DEFAULT_MIN_IMAGES,
    IdentificationReport,
    identification_report,
    list_identities,
    probe_ranks,
    split_gallery_probes,
)
from veil.evaluate._pairs import Pair, read_pairs
from veil.evaluate._plots import plot_cmc, plot_det, plot_roc
from veil.evaluate._protection import DEFAULT_WHITE_BOX, evaluate_protection
from veil.evaluate._protection_card import protection_card
from veil.evaluate._protection_protocols import (
    PROTOCOLS,
    ProtectionSplit,
    protection_outcomes,
    split_protection,
)
from veil.evaluate._protection_report import (
    CloakedPhoto,
    PhotoQuality,
    ProtectionRate,
    ProtectionReport,
    QualitySummary,
)
from veil.evaluate._protocols import (
    GroupedRates,
    evaluate_identification,
    evaluate_verification,
    false_match_rates_by_group,
)
from veil.evaluate._utility import UtilityReport, classify, evaluate_utility, utility_report
from veil.evaluate._verification import (
    REPORTED_FARS,
    VerificationReport,
    cosine_scores,
    roc_points,
    verification_report,
)

__all__ = [
    "CONFIDENCE",
    "COUNTERMEASURES",
    "DEFAULT_MAX_RANK",
    "DEFAULT_MIN_IMAGES",
    "DEFAULT_WHITE_BOX",
    "PROTOCOLS",
    "REPORTED_FARS",
    "AnnotatedPhoto",
    "AnonymizationReport",
    "CardImage",
    "CardSection",
    "CardTable",
    "CloakedPhoto",
    "DetectionScore",
    "GroupRate",
    "GroupedRates",
    "IdentificationReport",
    "Pair",
    "PhotoEmbeddings",
    "PhotoQuality",
    "ProtectionRate",
    "ProtectionReport",
    "ProtectionSplit",
    "QualitySummary",
    "UtilityReport",
    "VerificationReport",
    "before_after",
    "classify",
    "cosine_scores",
    "embed_photos",
    "evaluate_anonymization",
    "evaluate_identification",
    "evaluate_protection",
    "evaluate_utility",
    "evaluate_verification",
    "false_match_rates_by_group",
    "group_false_match_rates",
    "group_rates",
    "identification_report",
    "list_identities",
    "load_imglab_boxes",
    "main_face",
    "plot_cmc",
    "plot_det",
    "plot_roc",
    "probe_ranks",
    "protection_card",
    "protection_outcomes",
    "read_groups",
    "read_identity_groups",
    "read_pairs",
    "render_card",
    "roc_points",
    "score_detections",
    "split_gallery_probes",
    "split_protection",
    "utility_report",
    "verification_report",
    "wilson_interval",
]
