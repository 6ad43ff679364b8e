"""Batch jobs over many files."""

from __future__ import annotations

from veil.jobs._batch import ItemResult, run_each

__all__ = ["ItemResult", "run_each"]
