"""Settings read from the environment, in one place.

``VEIL_HOME``: the cache folder for model weights (default ``~/.cache/veil``).
``VEIL_DATA``: the development data folder used by tests and benchmarks
(default ``../shared/data`` relative to the repository).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = Path("~/.cache/veil")
DEFAULT_MAX_PIXELS = 100_000_000


def veil_home() -> Path:
    """The cache root: ``$VEIL_HOME`` if set, else ``~/.cache/veil``."""
    return Path(os.environ.get("VEIL_HOME") or DEFAULT_HOME).expanduser()
