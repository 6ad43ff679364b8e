"""Cross-model embedding alignment and biometric template security.

Face models encode identity in spaces that simple affine maps align (Rubab, Tong
and Ross, 2026). That helps interoperability: :func:`migrate_gallery` moves a
gallery to a new model without the original photos. It also hurts template
security: a template leaked from one system can be searched in another, which
:func:`leak_audit` measures. :class:`CancelableTransform` makes keyed, revocable
templates to store instead, and :func:`template_report` measures what they cost
and what they protect.

- maps: :class:`EmbeddingMap` (fit, transform, save, load), :func:`align_models`
  (fit from a folder of photos, validated on held-out people);
- evaluation: :func:`split_crossmodel`, :func:`crossmodel_report`,
  :func:`evaluate_crossmodel` (``veil eval crossmodel``);
- template security: :func:`leak_audit`, :func:`evaluate_template_leak`
  (``veil eval template-leak``), :class:`CancelableTransform`,
  :func:`global_linkability`, :func:`template_report`, :func:`evaluate_templates`
  (``veil eval cancelable``);
- migration: :func:`migrate_gallery`, :func:`evaluate_migration` (``veil gallery migrate``).

Importing this package loads no model and no plotting library.
"""

from __future__ import annotations

from veil.crossmodel._audit import SIGNIFICANCE, LeakAudit, LeakPoint, evaluate_template_leak, leak_audit
from veil.crossmodel._cancelable import DEFAULT_BITS, MIN_KEY_BYTES, TEMPLATE_METHODS, CancelableTransform
from veil.crossmodel._evaluate import (
    DEFAULT_ANCHOR_COUNTS,
    VERIFICATION_FAR,
    AlignmentScore,
    CrossModelReport,
    CurvePoint,
    PairAlignment,
    crossmodel_report,
    evaluate_crossmodel,
)
from veil.crossmodel._fit import DEFAULT_VALIDATION_FRACTION, align_models
from veil.crossmodel._linkability import Linkability, global_linkability
from veil.crossmodel._maps import (
    CCA_SHRINKAGE,
    METHODS,
    RIDGE_ALPHAS,
    TARGET_SPACE_METHODS,
    EmbeddingMap,
    MapValidation,
)
from veil.crossmodel._migrate import MIGRATED_FROM, MigrationReport, evaluate_migration, migrate_gallery
from veil.crossmodel._plots import plot_alignability, plot_learning_curve
from veil.crossmodel._split import (
    DEFAULT_MAX_ANCHORS,
    DEFAULT_TEST_FRACTION,
    CrossModelSplit,
    split_crossmodel,
)
from veil.crossmodel._templates import TemplateReport, evaluate_templates, template_report

__all__ = [
    "CCA_SHRINKAGE",
    "DEFAULT_ANCHOR_COUNTS",
    "DEFAULT_BITS",
    "DEFAULT_MAX_ANCHORS",
    "DEFAULT_TEST_FRACTION",
    "DEFAULT_VALIDATION_FRACTION",
    "METHODS",
    "MIGRATED_FROM",
    "MIN_KEY_BYTES",
    "RIDGE_ALPHAS",
    "SIGNIFICANCE",
    "TARGET_SPACE_METHODS",
    "TEMPLATE_METHODS",
    "VERIFICATION_FAR",
    "AlignmentScore",
    "CancelableTransform",
    "CrossModelReport",
    "CrossModelSplit",
    "CurvePoint",
    "EmbeddingMap",
    "LeakAudit",
    "LeakPoint",
    "Linkability",
    "MapValidation",
    "MigrationReport",
    "PairAlignment",
    "TemplateReport",
    "align_models",
    "crossmodel_report",
    "evaluate_crossmodel",
    "evaluate_migration",
    "evaluate_template_leak",
    "evaluate_templates",
    "global_linkability",
    "leak_audit",
    "migrate_gallery",
    "plot_alignability",
    "plot_learning_curve",
    "split_crossmodel",
    "template_report",
]
