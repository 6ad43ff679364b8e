"""The service's database: SQLite by default, PostgreSQL with a DSN; one portable dialect of SQL.

Statements are written with ``?`` placeholders and only use what both engines
accept (``CREATE TABLE IF NOT EXISTS``, ``DOUBLE PRECISION``, ``ON CONFLICT``-free
inserts, ``UPDATE ... WHERE`` as the atomic claim), so the same text runs on both;
for PostgreSQL the placeholders become ``%s``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from veil.errors import VeilError

__all__ = ["Database", "Result"]

logger = logging.getLogger(__name__)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at DOUBLE PRECISION NOT NULL,
        revoked_at DOUBLE PRECISION
    )""",
    """CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        kind TEXT NOT NULL,
        options TEXT NOT NULL,
        status TEXT NOT NULL,
        total INTEGER NOT NULL,
        done INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        worker TEXT,
        error TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        heartbeat_at DOUBLE PRECISION,
        expires_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at)",
    """CREATE TABLE IF NOT EXISTS job_items (
        job_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        input_ext TEXT NOT NULL,
        output_ext TEXT NOT NULL,
        status TEXT NOT NULL,
        faces INTEGER,
        result TEXT,
        error TEXT,
        PRIMARY KEY (job_id, idx)
    )""",
    """CREATE TABLE IF NOT EXISTS galleries (
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        model TEXT NOT NULL,
        file TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (owner, name)
    )""",
)


@dataclass(frozen=True, slots=True)
class Result:
    """Rows a statement returned (empty for writes) and how many rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int


class _Cursor(Protocol):
    rowcount: int
    description: Any

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...


class Transaction:
    """Statements that commit together (``Database.transaction``)."""

    def __init__(self, cursor: _Cursor, is_postgres: bool) -> None:
        self._cursor = cursor
        self._is_postgres = is_postgres

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result:
        self._cursor.execute(sql.replace("?", "%s") if self._is_postgres else sql, tuple(params))
        rows = self._cursor.fetchall() if self._cursor.description is not None else []
        return Result(rows, self._cursor.rowcount)


class Database:
    """A connection per thread to the service's database; worker processes open their own.

    Args:
        dsn: ``sqlite:///PATH`` or ``postgresql://...`` (PostgreSQL needs ``psycopg``).

    Raises:
        VeilError: An unknown DSN scheme, or PostgreSQL without ``psycopg`` installed.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.is_postgres = dsn.startswith(("postgresql://", "postgres://"))
        if not self.is_postgres and not dsn.startswith("sqlite:///"):
            raise VeilError(f"unknown database {dsn!r}: use sqlite:///PATH or postgresql://...")
        self._local = threading.local()
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()

    def create_schema(self) -> None:
        """Create the tables if they do not exist (safe to call on every start)."""
        with self.transaction() as tx:
            for statement in SCHEMA:
                tx.run(statement)

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement in its own transaction."""
        is_read = sql.lstrip().upper().startswith("SELECT")
        with self.transaction(for_writing=not is_read) as tx:
            return tx.run(sql, params)

    @contextmanager
    def transaction(self, *, for_writing: bool = True) -> Iterator[Transaction]:
        """Statements that commit together, or not at all if the block raises.

        ``for_writing=False`` is for reads only: with SQLite they then run beside
        other readers and a writer (WAL), instead of waiting for the write lock.
        """
        connection = self._connection()
        if self.is_postgres:
            with connection.transaction(), connection.cursor() as cursor:
                yield Transaction(cursor, True)
            return
        cursor = connection.cursor()
        try:
            # BEGIN IMMEDIATE takes the write lock up front, so two processes never
            # both read a row as queued and then both claim it.
            cursor.execute("BEGIN IMMEDIATE" if for_writing else "BEGIN")
            yield Transaction(cursor, False)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    def close(self) -> None:
        """Close every thread's connection; a later statement opens a new one."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._opened_lock:
                self._opened.append(connection)
        return connection

    def _connect(self) -> Any:
        if self.is_postgres:
            try:
                import psycopg
            except ImportError as err:
                raise VeilError(
                    "a PostgreSQL database needs the psycopg package: pip install 'psycopg[binary]'"
                ) from err
            return psycopg.connect(self.dsn, autocommit=True)
        path = Path(self.dsn.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are begun and ended explicitly above.
        connection = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA busy_timeout=30000")
        return connection
