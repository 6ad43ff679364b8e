"""Cancelable face templates: a keyed, revocable transform of embeddings to store instead of them.

A stored embedding is a biometric template: leaked, it identifies its owner in any
system built on the same model, and through a map (``veil.crossmodel``) in systems
built on other models; and unlike a password it cannot be changed. A cancelable
template (ISO/IEC 24745) is made with a per-application secret key: matching works
within the application, templates of two applications (two keys) do not link, and
a leaked template is revoked by issuing a new key.

Methods (:data:`TEMPLATE_METHODS`):

- ``"biohash"`` (Teoh, Ngo and Goh 2004, "BioHashing"): the signs of ``bits``
  projections on keyed random directions (orthonormal in blocks of the embedding
  width). Under one key two templates agree on a fraction 1 - angle/pi of their
  bits (Charikar 2002), so matching survives; under two keys the bits are
  independent coin flips, so the same person's templates do not link; and
  many embeddings give one code, so a template cannot be inverted even with its key.
- ``"rotation"``: a keyed random orthogonal matrix. It keeps every cosine, so it
  costs no accuracy, but it is a rotation: whoever holds the key, or enough pairs
  of templates and embeddings of the same photos, undoes it exactly.

``benchmarks/crossmodel.py`` measures both (accuracy, unlinkability, renewability
and the leak audit); ``"biohash"`` is the default.

Templates are rows of unit length, so galleries, thresholds and
:func:`veil.evaluate.cosine_scores` take them as they take embeddings. A BioHash
template holds ``+-1 / sqrt(bits)``, and the dot product of two of them is
``1 - 2 * hamming_distance / bits``.

The key is stretched with SHAKE-256 into the random directions (Box-Muller
normals, then QR), not through NumPy's generators, whose streams may change
between NumPy versions: a template made today must be remade identically later.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import numpy as np
from numpy.typing import ArrayLike, NDArray

from veil.errors import InputError
from veil.evaluate._verification import unit_rows
from veil.types import Embeddings

__all__ = ["DEFAULT_BITS", "MIN_KEY_BYTES", "TEMPLATE_METHODS", "CancelableTransform"]

logger = logging.getLogger(__name__)

TEMPLATE_METHODS = ("biohash", "rotation")
"""Ways a :class:`CancelableTransform` can protect embeddings."""

DEFAULT_BITS = 512
"""BioHash length, chosen by ``benchmarks/crossmodel.py``: with SFace on LFW View 1 DevTest
(threshold from DevTrain), 128, 256 and 512 bits cost 1.5, 1.2 and 0.4 points of accuracy
(99.1% plain). Without the key, the leak audit stays at chance for every length. An attacker
who holds 1,000 of the system's templates with their photos identifies 81-97% of the leaked
people on CelebA with 128 bits and 91-98% with 512 (plain: 93-98%; see
:func:`veil.crossmodel.leak_audit`): fewer bits slow that attacker only a little, for a real
cost in accuracy."""

MIN_KEY_BYTES = 16
"""Shortest key accepted: 128 bits, so the directions cannot be found by trying keys."""

_CONTEXT = b"veil cancelable template v1"


class CancelableTransform:
    """Protects one model's embeddings with one application's key; the same key gives the same templates.

    Revoke a leaked template by making a new key (``veil.match.generate_key()``),
    re-enrolling with a transform of the new key and deleting the old templates:
    templates of the old key do not match those of the new one. Use a key of its
    own for templates, not the gallery's encryption key.

    Args:
        key: The application's secret: at least :data:`MIN_KEY_BYTES` bytes (text
            is taken as UTF-8). ``veil.match.generate_key()`` makes a good one.
        model: The recognizer whose embeddings are protected; the directions
            depend on it too, so one key gives unrelated transforms for two models.
        method: One of :data:`TEMPLATE_METHODS` (see the module docstring).
        bits: Template length for ``"biohash"``: more bits match more accurately
            and carry more of the embedding. Ignored by ``"rotation"``, whose
            templates keep the embedding width.

    Raises:
        ValueError: A short key, an unknown method, or ``bits`` below 1.
    """

    def __init__(
        self, key: bytes | str, *, model: str, method: str = "biohash", bits: int = DEFAULT_BITS
    ) -> None:
        secret = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(secret) < MIN_KEY_BYTES:
            raise ValueError(
                f"a template key needs at least {MIN_KEY_BYTES} bytes, got {len(secret)} "
                "(make one with veil.match.generate_key())"
            )
        if method not in TEMPLATE_METHODS:
            raise ValueError(
                f"unknown template method {method!r}; choose one of: {', '.join(TEMPLATE_METHODS)}"
            )
        if bits < 1:
            raise ValueError(f"bits must be at least 1, got {bits}")
        self.model = model
        self.method = method
        self.bits = bits
        self._seed = hmac.new(secret, _CONTEXT + b"|" + model.encode("utf-8"), hashlib.sha256).digest()
        self._key_id = hmac.new(secret, _CONTEXT + b"|key id", hashlib.sha256).hexdigest()[:8]
        self._projections: dict[int, NDArray[np.float64]] = {}

    def __repr__(self) -> str:
        return f"CancelableTransform(model={self.model!r}, method={self.method!r}, key_id={self._key_id!r})"

    @property
    def name(self) -> str:
        """The templates' model name for a :class:`veil.match.Gallery`: recognizer, method and key id.

        A gallery holds one model's vectors, so a gallery of protected templates
        refuses templates made with another key or method. The key id is a keyed
        hash that names the key without revealing it.
        """
        return f"{self.model}/{self.scheme}/{self._key_id}"

    @property
    def scheme(self) -> str:
        """The method and template length, without the key: ``"biohash-256"`` or ``"rotation"``."""
        return f"biohash-{self.bits}" if self.method == "biohash" else "rotation"

    def width(self, dim: int) -> int:
        """Length of the templates of ``dim``-wide embeddings: ``bits``, or ``dim`` for ``"rotation"``."""
        return dim if self.method == "rotation" else self.bits

    def protect(self, embeddings: ArrayLike, *, model: str) -> Embeddings:
        """The protected templates of (N, D) embeddings, as (N, width) unit float32 rows.

        The width is ``bits`` for ``"biohash"`` and D for ``"rotation"``.

        Args:
            embeddings: Embeddings made by ``model``.
            model: The model that made them; it must be the transform's.

        Raises:
            InputError: Another model, or a row that is zero, NaN or infinite.
        """
        if model != self.model:
            raise InputError(
                "<array>", f"this transform protects {self.model!r} embeddings, not {model!r} ones"
            )
        x = unit_rows(embeddings, what=f"{model} embeddings")
        projected = x @ self._projection(x.shape[1])
        if self.method == "biohash":
            projected = np.where(projected >= 0.0, 1.0, -1.0) / np.sqrt(self.bits)
        return np.asarray(projected, dtype=np.float32)

    def _projection(self, dim: int) -> NDArray[np.float64]:
        """The keyed (dim, width) matrix of orthonormal column blocks, made once per width."""
        if dim not in self._projections:
            width = self.width(dim)
            blocks = -(-width // dim)
            normals = _keyed_normals(self._seed + dim.to_bytes(4, "little"), blocks * dim * dim)
            columns = [_orthonormal(block) for block in normals.reshape(blocks, dim, dim)]
            self._projections[dim] = np.concatenate(columns, axis=1)[:, :width]
        return self._projections[dim]


def _keyed_normals(seed: bytes, count: int) -> NDArray[np.float64]:
    """``count`` standard normals from SHAKE-256 of ``seed``, by Box-Muller: the same on every platform."""
    pairs = -(-count // 2)
    words = np.frombuffer(hashlib.shake_256(seed).digest(16 * pairs), dtype="<u8").reshape(2, pairs)
    # 53 random bits, centred in their step, give uniforms strictly inside (0, 1).
    uniform = ((words >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
    radius = np.sqrt(-2.0 * np.log(uniform[0]))
    angle = 2.0 * np.pi * uniform[1]
    return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])[:count]


def _orthonormal(gaussian: NDArray[np.float64]) -> NDArray[np.float64]:
    """A random orthogonal matrix from a square Gaussian one: QR with R's diagonal made positive.

    The sign fix makes the result unique (and Haar-distributed, Mezzadri 2007), so
    two LAPACK builds give the same matrix.
    """
    q, r = np.linalg.qr(gaussian)
    return np.asarray(q * np.where(np.diag(r) < 0, -1.0, 1.0), dtype=np.float64)
