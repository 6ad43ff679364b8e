"""What the service keeps: jobs and their photos, the galleries index, and API keys (``_apikeys``)."""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from veil.errors import VeilError
from veil.service._apikeys import NAME_PATTERN, ApiKey, ApiKeys, ServiceNameError
from veil.service._db import Database
from veil.service._settings import ServiceSettings

__all__ = [
    "Item",
    "Job",
    "Store",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
]

logger = logging.getLogger(__name__)

JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_ATTEMPTS = 3
"""A job whose worker died this many times (a photo that crashes it, say) fails instead of looping."""


@dataclass(frozen=True, slots=True)
class Item:
    """One photo of a job."""

    index: int
    name: str
    input_ext: str
    output_ext: str
    status: str
    faces: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """A job's row; ``items`` is filled by ``Store.get_job``."""

    id: str
    owner: str
    kind: str
    options: dict[str, Any]
    status: str
    total: int
    done: int
    failed: int
    attempts: int
    error: str | None
    created_at: float
    updated_at: float
    expires_at: float
    items: tuple[Item, ...] = field(default=())


_JOB_COLUMNS = (
    "id, owner, kind, options, status, total, done, failed, attempts, error, "
    "created_at, updated_at, expires_at"
)
_ITEM_COLUMNS = "idx, name, input_ext, output_ext, status, faces, result, error"


def _job(row: tuple[Any, ...]) -> Job:
    return Job(
        id=row[0],
        owner=row[1],
        kind=row[2],
        options=json.loads(row[3]),
        status=row[4],
        total=row[5],
        done=row[6],
        failed=row[7],
        attempts=row[8],
        error=row[9],
        created_at=row[10],
        updated_at=row[11],
        expires_at=row[12],
    )


def _item(row: tuple[Any, ...]) -> Item:
    return Item(
        index=row[0],
        name=row[1],
        input_ext=row[2],
        output_ext=row[3],
        status=row[4],
        faces=row[5],
        result=json.loads(row[6]) if row[6] else None,
        error=row[7],
    )


class Store(ApiKeys):
    """The database and the files under the data directory, for one process.

    Args:
        settings: Where the data lives and how long jobs are kept.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.db = Database(settings.dsn)

    def open(self) -> Store:
        """Create the data folders and tables (idempotent); returns ``self``."""
        for folder in (self.settings.data_dir, self.settings.jobs_dir, self.settings.galleries_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.settings.data_dir.chmod(0o700)
        self.db.create_schema()
        return self

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    # Jobs -------------------------------------------------------------------

    def job_dir(self, job_id: str) -> Path:
        if not JOB_ID_PATTERN.match(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.settings.jobs_dir / job_id

    def input_path(self, job_id: str, item: Item) -> Path:
        return self.job_dir(job_id) / "in" / f"{item.index}{item.input_ext}"

    def output_path(self, job_id: str, item: Item) -> Path:
        return self.job_dir(job_id) / "out" / f"{item.index}{item.output_ext}"

    def card_path(self, job_id: str, item: Item, suffix: str) -> Path:
        return self.job_dir(job_id) / "out" / f"{item.index}.card{suffix}"

    def create_job(
        self, owner: str, kind: str, options: dict[str, Any], photos: list[tuple[str, str, str, bytes]]
    ) -> Job:
        """Queue a job over ``photos`` (name, input suffix, output suffix, bytes), saved in its folder."""
        job_id = uuid.uuid4().hex
        now = time.time()
        folder = self.job_dir(job_id)
        (folder / "in").mkdir(parents=True)
        (folder / "out").mkdir()
        items = []
        try:
            for index, (name, input_ext, output_ext, data) in enumerate(photos):
                item = Item(index, name, input_ext, output_ext, "queued")
                self.input_path(job_id, item).write_bytes(data)
                items.append(item)
            with self.db.transaction() as tx:
                tx.run(
                    f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job_id, owner, kind, json.dumps(options), "queued", len(items), 0, 0, 0, None, now, now,
                     now + self.settings.job_ttl_s),
                )  # fmt: skip
                for item in items:
                    tx.run(
                        "INSERT INTO job_items (job_id, idx, name, input_ext, output_ext, status) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (job_id, item.index, item.name, item.input_ext, item.output_ext, item.status),
                    )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        logger.info("queued %s job %s (%d photos)", kind, job_id, len(items))
        found = self.get_job(job_id, owner)
        if found is None:  # deleted between the insert and now; only a concurrent DELETE can do this
            raise VeilError(f"job {job_id} vanished as it was created")
        return found

    def get_job(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job with its items, or None if there is none (or it belongs to another owner)."""
        if not JOB_ID_PATTERN.match(job_id):
            return None
        rows = self.db.run(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).rows
        if not rows or (owner is not None and rows[0][1] != owner):
            return None
        items = self.db.run(
            f"SELECT {_ITEM_COLUMNS} FROM job_items WHERE job_id = ? ORDER BY idx", (job_id,)
        ).rows
        return replace(_job(rows[0]), items=tuple(_item(row) for row in items))

    def list_jobs(self, owner: str) -> list[Job]:
        """The owner's jobs, newest first (without items)."""
        rows = self.db.run(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE owner = ? ORDER BY created_at DESC", (owner,)
        ).rows
        return [_job(row) for row in rows]

    def delete_job(self, job_id: str, owner: str | None = None) -> bool:
        """Delete a job's rows, uploads and results; False if there was no such job."""
        if self.get_job(job_id, owner) is None:
            return False
        with self.db.transaction() as tx:
            tx.run("DELETE FROM job_items WHERE job_id = ?", (job_id,))
            tx.run("DELETE FROM jobs WHERE id = ?", (job_id,))
        self.remove_files(job_id)
        logger.info("deleted job %s", job_id)
        return True

    def remove_files(self, job_id: str) -> None:
        """Remove a job's folder (uploads, results, cards), whether or not its rows remain."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def claim_job(self, worker: str) -> Job | None:
        """Mark the oldest queued job as running on ``worker`` and return it, or None when none waits."""
        now = time.time()
        with self.db.transaction() as tx:
            rows = tx.run("SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at LIMIT 1").rows
            if not rows:
                return None
            claimed = tx.run(
                "UPDATE jobs SET status = 'running', worker = ?, heartbeat_at = ?, updated_at = ?, "
                "attempts = attempts + 1 WHERE id = ? AND status = 'queued'",
                (worker, now, now, rows[0][0]),
            )
        if claimed.rowcount != 1:
            return None
        return self.get_job(rows[0][0])

    def heartbeat(self, job_id: str, worker: str) -> None:
        self.db.run(
            "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND worker = ? AND status = 'running'",
            (time.time(), job_id, worker),
        )

    def finish_item(
        self, job_id: str, index: int, *, faces: int | None, result: dict[str, Any] | None, error: str | None
    ) -> bool:
        """Record one photo's outcome; False if the job is gone (deleted or expired meanwhile)."""
        with self.db.transaction() as tx:
            changed = tx.run(
                "UPDATE job_items SET status = ?, faces = ?, result = ?, error = ? "
                "WHERE job_id = ? AND idx = ? AND status = 'queued'",
                ("failed" if error else "done", faces, json.dumps(result) if result else None, error,
                 job_id, index),
            )  # fmt: skip
            if changed.rowcount != 1:
                return False
            column = "failed" if error else "done"
            tx.run(
                f"UPDATE jobs SET {column} = {column} + 1, updated_at = ?, heartbeat_at = ? WHERE id = ?",
                (time.time(), time.time(), job_id),
            )
        return True

    def finish_job(self, job_id: str) -> None:
        """Mark a job done (or failed, when every photo failed) and start its time to live."""
        now = time.time()
        self.db.run(
            "UPDATE jobs SET status = CASE WHEN failed = total THEN 'failed' ELSE 'done' END, "
            "updated_at = ?, expires_at = ?, worker = NULL WHERE id = ? AND status = 'running'",
            (now, now + self.settings.job_ttl_s, job_id),
        )

    def requeue_stale(self, is_dead: Callable[[str | None], bool]) -> int:
        """Queue again the running jobs whose worker died; fail those that died ``MAX_ATTEMPTS`` times.

        A worker counts as dead when ``is_dead(worker)`` says so (a process of this
        host that is gone) or its heartbeat is older than ``stale_after_s``.
        """
        now = time.time()
        rows = self.db.run(
            "SELECT id, worker, heartbeat_at, attempts FROM jobs WHERE status = 'running'"
        ).rows
        requeued = 0
        for job_id, worker, heartbeat_at, attempts in rows:
            if not (is_dead(worker) or (heartbeat_at or 0) < now - self.settings.stale_after_s):
                continue
            if attempts >= MAX_ATTEMPTS:
                self.db.run(
                    "UPDATE jobs SET status = 'failed', error = ?, worker = NULL, updated_at = ?, "
                    "expires_at = ? WHERE id = ? AND status = 'running' AND worker = ?",
                    (f"the worker stopped {attempts} times on this job", now, now + self.settings.job_ttl_s,
                     job_id, worker),
                )  # fmt: skip
                continue
            changed = self.db.run(
                "UPDATE jobs SET status = 'queued', worker = NULL, updated_at = ? "
                "WHERE id = ? AND status = 'running' AND worker = ?",
                (now, job_id, worker),
            )
            if changed.rowcount:
                logger.warning("job %s: worker %s stopped; queued again", job_id, worker)
                requeued += 1
        return requeued

    def expire(self) -> int:
        """Delete jobs past their time to live, and job folders with no job (left by a crash)."""
        now = time.time()
        expired = [row[0] for row in self.db.run("SELECT id FROM jobs WHERE expires_at < ?", (now,)).rows]
        for job_id in expired:
            self.delete_job(job_id)
        known = {row[0] for row in self.db.run("SELECT id FROM jobs").rows}
        for folder in self.settings.jobs_dir.iterdir():
            # A folder younger than a minute may belong to a job being created right now.
            if folder.name not in known and folder.stat().st_mtime < now - 60:
                shutil.rmtree(folder, ignore_errors=True)
        for temporary in self.settings.tmp_dir.iterdir():
            if temporary.stat().st_mtime < now - self.settings.job_ttl_s:
                _remove(temporary)
        return len(expired)

    # Galleries --------------------------------------------------------------

    def add_gallery(self, owner: str, name: str, model: str) -> Path:
        """Reserve a gallery name for ``owner``; returns the (not yet written) file."""
        if not NAME_PATTERN.match(name):
            raise ServiceNameError(f"gallery name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        path = self.settings.galleries_dir / f"{uuid.uuid4().hex}.gallery"
        with self.db.transaction() as tx:
            if tx.run("SELECT 1 FROM galleries WHERE owner = ? AND name = ?", (owner, name)).rows:
                raise ServiceNameError(f"gallery {name!r} exists")
            tx.run(
                "INSERT INTO galleries (owner, name, model, file, created_at) VALUES (?, ?, ?, ?, ?)",
                (owner, name, model, path.name, time.time()),
            )
        return path

    def gallery_file(self, owner: str, name: str) -> Path | None:
        rows = self.db.run("SELECT file FROM galleries WHERE owner = ? AND name = ?", (owner, name)).rows
        return self.settings.galleries_dir / rows[0][0] if rows else None

    def list_galleries(self, owner: str) -> list[str]:
        rows = self.db.run("SELECT name FROM galleries WHERE owner = ? ORDER BY name", (owner,)).rows
        return [row[0] for row in rows]

    def delete_gallery(self, owner: str, name: str) -> bool:
        path = self.gallery_file(owner, name)
        if path is None:
            return False
        self.db.run("DELETE FROM galleries WHERE owner = ? AND name = ?", (owner, name))
        path.unlink(missing_ok=True)
        return True


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def create_api_key(settings: ServiceSettings, name: str) -> str:
    """A new API key for the service that ``settings`` describe; it is shown only this once.

    Raises:
        VeilError: A malformed name, or an active key of that name exists.
    """
    store = Store(settings).open()
    try:
        return store.create_key(name)
    finally:
        store.close()


def revoke_api_key(settings: ServiceSettings, name: str) -> None:
    """Revoke the active key named ``name``.

    Raises:
        VeilError: No active key has that name.
    """
    store = Store(settings).open()
    try:
        store.revoke_key(name)
    finally:
        store.close()


def list_api_keys(settings: ServiceSettings) -> list[ApiKey]:
    """Every key's name and dates (never the keys: only their hashes are stored)."""
    store = Store(settings).open()
    try:
        return store.list_keys()
    finally:
        store.close()
