"""Keys that encrypt galleries at rest: make one, store one, find one.

A key is 32 random bytes (AES-256). Written as text, in ``VEIL_KEY`` or in the
key file, it is those bytes in URL-safe base64 with padding: 44 characters,
the form :func:`generate_key` returns. One text form keeps the environment
variable, the key file and the ``key=`` argument interchangeable.

Where a key comes from, first match wins:

1. the ``key=`` argument (32 raw bytes, or the 44-character text form);
2. the ``VEIL_KEY`` environment variable;
3. the key file ``$VEIL_HOME/gallery.key``.

Nothing here ever creates a key on the way: a key made silently while loading
could never decrypt anything, and one made silently while saving is easy to
lose, which loses the gallery with it. :func:`create_key_file` is the one way
to write a key file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import stat
import tempfile
import warnings
from pathlib import Path

from veil._config import veil_home
from veil.errors import GalleryKeyError, OutputError, VeilWarning

__all__ = ["KEY_BYTES", "GalleryKeyError", "create_key_file", "default_key_path", "generate_key", "load_key"]

logger = logging.getLogger(__name__)

KEY_BYTES = 32
"""AES-256 takes a 32-byte key."""

_KEY_ENV = "VEIL_KEY"
_KEY_FILE_NAME = "gallery.key"


def default_key_path() -> Path:
    """Where the key file lives: ``$VEIL_HOME/gallery.key``."""
    return veil_home() / _KEY_FILE_NAME


def generate_key() -> str:
    """A new random key in its text form, ready for ``VEIL_KEY`` or ``key=``.

    Keep it somewhere safe: a gallery saved with it cannot be read without it.
    """
    return _encode(secrets.token_bytes(KEY_BYTES))


def create_key_file(path: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """Write a new random key to a file that only its owner can read (mode 0600).

    Args:
        path: Where to write it; ``$VEIL_HOME/gallery.key`` by default, which is
            where :func:`load_key` looks when no key is given and ``VEIL_KEY`` is unset.
        overwrite: Replace an existing key file. Galleries saved with the old
            key can no longer be read, so this is off by default.

    Returns:
        The key file's path.

    Raises:
        OutputError: The file exists and ``overwrite`` is False, or it could not be written.
    """
    target = Path(path) if path is not None else default_key_path()
    text = (generate_key() + "\n").encode("ascii")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if overwrite:
            _write_private_atomic(target, text)
        else:
            # O_EXCL refuses an existing file without a race between the check and the write.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(text)
    except FileExistsError as err:
        raise OutputError(
            target, "key file exists; galleries saved with it need it (pass overwrite=True)"
        ) from err
    except OSError as err:
        raise OutputError(target, f"cannot write key file: {err.strerror or err}") from err
    logger.info("created gallery key file %s", target)
    return target


def load_key(key: bytes | str | None = None) -> bytes:
    """The 32-byte key for a gallery: ``key`` if given, else ``VEIL_KEY``, else the key file.

    Args:
        key: 32 raw bytes, or the 44-character text form from :func:`generate_key`.

    Returns:
        The key as 32 raw bytes.

    Raises:
        GalleryKeyError: No key anywhere, or one that is not 32 bytes of base64.
    """
    if key is not None:
        if isinstance(key, bytes) and len(key) == KEY_BYTES:
            return key
        text = key.decode("ascii", errors="replace") if isinstance(key, bytes) else key
        return _decode(text, source="key argument")
    env_text = os.environ.get(_KEY_ENV)
    if env_text:
        return _decode(env_text, source=_KEY_ENV)
    path = default_key_path()
    try:
        file_text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise GalleryKeyError(
            path,
            f"no gallery key: pass key=, set {_KEY_ENV}, or create this key file "
            "(veil gallery create-key, or veil.match.create_key_file())",
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise GalleryKeyError(path, f"cannot read key file: {err}") from err
    _warn_if_readable_by_others(path)
    return _decode(file_text, source=str(path))


def _encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def _decode(text: str, *, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        # Never echo the text: it may be a real key with a typo in it.
        raise GalleryKeyError(
            source,
            f"not a gallery key: expected {KEY_BYTES} bytes as URL-safe base64 "
            "(44 characters, from veil.match.generate_key())",
        )
    return key


def _warn_if_readable_by_others(path: Path) -> None:
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        warnings.warn(
            f"{path}: key file is readable by other users (mode {mode:o}); run: chmod 600 {path}",
            VeilWarning,
            stacklevel=3,
        )


def _write_private_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a 0600 temp file and a rename, so readers never see half a file."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
