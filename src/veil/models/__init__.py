"""The model zoo: model cards and the weights cache (``veil models list|pull|verify``)."""

from __future__ import annotations

from veil.models._cards import CARDS, ModelCard
from veil.models._store import PullResult, card, pull, verify, weights_path

__all__ = ["CARDS", "ModelCard", "PullResult", "card", "pull", "verify", "weights_path"]
