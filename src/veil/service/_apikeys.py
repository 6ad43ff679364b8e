"""API keys: made at random, shown once, stored only as their sha256."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass

from veil.errors import VeilError
from veil.service._db import Database

__all__ = ["NAME_PATTERN", "ApiKey", "ApiKeys", "ServiceNameError", "hash_key"]

logger = logging.getLogger(__name__)

KEY_PREFIX = "veil_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
"""Names of keys and galleries."""


class ServiceNameError(VeilError, ValueError):
    """An API key name that is malformed, already taken, or unknown."""


def hash_key(key: str) -> str:
    """sha256 of an API key.

    Keys are 32 random bytes, so a fast hash is enough: there is nothing to
    brute-force that a slow password hash would protect (unlike passwords).
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key's public record (never the key itself)."""

    id: str
    name: str
    created_at: float
    revoked_at: float | None


class ApiKeys:
    """The API-key half of ``Store``: create, revoke, list and check keys in ``self.db``."""

    db: Database

    def create_key(self, name: str) -> str:
        """A new API key named ``name``; only its hash is stored, so this is the one time it is seen."""
        if not NAME_PATTERN.match(name):
            raise ServiceNameError(f"key name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.db.transaction() as tx:
            taken = tx.run("SELECT id FROM api_keys WHERE name = ? AND revoked_at IS NULL", (name,))
            if taken.rows:
                raise ServiceNameError(
                    f"an API key named {name!r} exists; revoke it first (veil keys revoke {name})"
                )
            tx.run(
                "INSERT INTO api_keys (id, name, key_hash, created_at) VALUES (?, ?, ?, ?)",
                (uuid.uuid4().hex, name, hash_key(key), time.time()),
            )
        logger.info("created API key %s", name)
        return key

    def revoke_key(self, name: str) -> None:
        """Revoke the key named ``name``: it stops working at once."""
        result = self.db.run(
            "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name)
        )
        if result.rowcount == 0:
            raise ServiceNameError(f"no active API key named {name!r}")
        logger.info("revoked API key %s", name)

    def list_keys(self) -> list[ApiKey]:
        """Every key ever created, oldest first."""
        rows = self.db.run("SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at").rows
        return [ApiKey(*row) for row in rows]

    def check_key(self, key: str) -> ApiKey | None:
        """The active key whose hash matches ``key``, or None."""
        digest = hash_key(key)
        rows = self.db.run(
            "SELECT id, name, created_at, revoked_at, key_hash FROM api_keys "
            "WHERE key_hash = ? AND revoked_at IS NULL",
            (digest,),
        ).rows
        if not rows or not hmac.compare_digest(rows[0][4], digest):
            return None
        return ApiKey(*rows[0][:4])
