"""Batch jobs over many files."""

from __future__ import annotations

from veil.jobs._batch import ItemResult, run_each
from veil.jobs._folder import ENGINES, FolderTask, ItemWork, JobReport, run_folder_job
from veil.jobs._manifest import MANIFEST_NAME, Manifest, ManifestRecord

__all__ = [
    "ENGINES",
    "MANIFEST_NAME",
    "FolderTask",
    "ItemResult",
    "ItemWork",
    "JobReport",
    "Manifest",
    "ManifestRecord",
    "run_each",
    "run_folder_job",
]
