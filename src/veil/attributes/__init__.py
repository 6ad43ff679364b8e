"""Soft biometrics: read gender, age group and race group from faces, and hide them (PrivacyNet-style).

``classify_attributes`` reads a face the way attribute classifiers on face
embeddings do (a judge per recognizer); ``hide_attributes`` perturbs a photo so
that they misread the chosen attributes while face matching still accepts the
person; ``universal_perturbation`` learns one perturbation for a person that
``LiveHider`` applies to camera frames in real time, and ``hide_attributes_video``
to videos; ``hide_attributes_files`` runs either over folders (mirrored,
with a manifest, resumable); ``evaluate_attributes`` measures it all.
"""

from __future__ import annotations

from veil.attributes._classes import AGE_GROUPS, ATTRIBUTES, JUDGES, age_group
from veil.attributes._evaluate import AttributeReport, evaluate_attributes, verification_at_far
from veil.attributes._files import HideWork, hide_attributes_file, hide_attributes_files
from veil.attributes._hide import AttributesHidden, FaceHidden, hide_attributes
from veil.attributes._judges import (
    DEFAULT_JUDGE,
    AttributeJudge,
    AttributePrediction,
    FaceAttributes,
    classify_attributes,
    get_judge,
)
from veil.attributes._live import LiveHider, hide_attributes_video
from veil.attributes._modes import DEFAULT_HIDE_JUDGES, HIDE_MODES, KEEP_COSINE, HideMode, parse_hide
from veil.attributes._report import write_attribute_report
from veil.attributes._split import SPLIT_SEED, utkface_split
from veil.attributes._universal import UNIVERSAL_LIMITS, UniversalPerturbation, universal_perturbation

__all__ = [
    "AGE_GROUPS",
    "ATTRIBUTES",
    "DEFAULT_HIDE_JUDGES",
    "DEFAULT_JUDGE",
    "HIDE_MODES",
    "JUDGES",
    "KEEP_COSINE",
    "SPLIT_SEED",
    "UNIVERSAL_LIMITS",
    "AttributeJudge",
    "AttributePrediction",
    "AttributeReport",
    "AttributesHidden",
    "FaceAttributes",
    "FaceHidden",
    "HideMode",
    "HideWork",
    "LiveHider",
    "UniversalPerturbation",
    "age_group",
    "classify_attributes",
    "evaluate_attributes",
    "get_judge",
    "hide_attributes",
    "hide_attributes_file",
    "hide_attributes_files",
    "hide_attributes_video",
    "parse_hide",
    "universal_perturbation",
    "utkface_split",
    "verification_at_far",
    "write_attribute_report",
]
