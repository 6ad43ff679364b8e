"""The service's settings: one frozen dataclass, with module-level defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from veil._config import veil_home

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_JOB_TTL_S",
    "DEFAULT_MAX_FILES",
    "DEFAULT_MAX_MEGAPIXELS",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DEFAULT_PORT",
    "DEFAULT_RATE_PER_MINUTE",
    "DEFAULT_STALE_AFTER_S",
    "DEFAULT_SYNC_MAX_MEGAPIXELS",
    "DEFAULT_WORKERS",
    "ServiceSettings",
    "default_data_dir",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Largest photo accepted, in bytes (a 24 MP JPEG is 6 to 12 MB)."""
DEFAULT_MAX_MEGAPIXELS = 50.0
"""Largest photo accepted, in megapixels, checked from the header before decoding."""
DEFAULT_SYNC_MAX_MEGAPIXELS = 16.0
"""``POST /v1/anonymize`` answers at once below this; larger photos become a job (202)."""
DEFAULT_MAX_FILES = 50
"""Most photos in one job."""
DEFAULT_JOB_TTL_S = 3600.0
"""A job, its uploads and its results are deleted this long after it finishes (or is created)."""
DEFAULT_RATE_PER_MINUTE = 600
"""Requests per API key per minute (a bucket that refills evenly; bursts up to the same number)."""
DEFAULT_WORKERS = 1
"""Job worker processes; each loads its own models, and a cloak keeps a core busy."""
DEFAULT_STALE_AFTER_S = 15.0
"""A running job whose worker has not reported for this long is queued again (its worker died)."""


def default_data_dir() -> Path:
    """``$VEIL_HOME/service``: the database, uploads, results and galleries."""
    return veil_home() / "service"


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """How ``veil serve`` runs.

    Attributes:
        data_dir: Holds everything the service writes: the SQLite database (unless
            ``database`` names another), uploads and results of jobs, galleries
            and their key, and temporary files. Nothing is written outside it.
        database: ``None`` for SQLite in ``data_dir/veil.db``, or a PostgreSQL DSN
            (``postgresql://user:pass@host/db``; needs the ``psycopg`` package).
        max_upload_bytes: Largest photo, in bytes (413 above it).
        max_megapixels: Largest photo, in megapixels (413 above it).
        sync_max_megapixels: Anonymize answers at once below this, else makes a job.
        max_files: Most photos in one job.
        job_ttl_s: Seconds a finished job (uploads, results, cards) is kept.
        rate_per_minute: Requests per API key per minute (429 above it).
        workers: Job worker processes (0 runs no jobs: for tests of the API alone).
        stale_after_s: Seconds without a heartbeat after which a running job is queued again.
        poll_s: How often idle workers look for queued jobs, and the janitor for expired ones.
    """

    data_dir: Path
    database: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    sync_max_megapixels: float = DEFAULT_SYNC_MAX_MEGAPIXELS
    max_files: int = DEFAULT_MAX_FILES
    job_ttl_s: float = DEFAULT_JOB_TTL_S
    rate_per_minute: int = DEFAULT_RATE_PER_MINUTE
    workers: int = DEFAULT_WORKERS
    stale_after_s: float = DEFAULT_STALE_AFTER_S
    poll_s: float = 0.5

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)

    @property
    def sync_max_pixels(self) -> int:
        return int(self.sync_max_megapixels * 1_000_000)

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def galleries_dir(self) -> Path:
        return self.data_dir / "galleries"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def dsn(self) -> str:
        """The database to connect to: the PostgreSQL DSN, or ``sqlite:///<data_dir>/veil.db``."""
        return self.database or f"sqlite:///{self.data_dir / 'veil.db'}"
