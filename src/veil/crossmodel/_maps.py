"""Maps from one face model's embedding space to another's, learned from the same photos embedded by both.

Different face models encode identity in spaces that a simple affine map aligns
(Rubab, Tong and Ross, "Are Face Embeddings Compatible Across Deep Neural Network
Models?", 2026). Given "anchor" photos embedded by a source model (rows of X) and
a target model (rows of Y), :class:`EmbeddingMap` learns ``y ~ x @ W + b`` by one
of :data:`METHODS`:

- ``"procrustes"``: the orthogonal W minimising ||XW - Y|| (Schönemann 1966), no
  bias. A rotation keeps every cosine of the source space, so it needs the fewest
  anchors and cannot overfit them.
- ``"ridge"``: least squares with an L2 penalty ``alpha * ||W||^2`` between the
  anchors centred on each model's mean, so ``y - mean_y ~ (x - mean_x) @ W``; without
  ``alpha``, the one with the lowest leave-one-out error on the anchors. The
  target mean is left out of the output: in a cosine with gallery embedding g it
  only adds ``mean_y . g``, an offset that differs between gallery entries and
  carries no identity of the probe. Against the same least squares with the mean
  kept, leaving it out measured 1-3 points more cross-model rank-1 on five of the
  six pairs of veil's recognizers on CelebA, and 5 points less from FaceNet to dlib.
- ``"linear"``: plain least squares, no bias.
- ``"affine"``: least squares with a bias (the target mean kept), the best map
  from FaceNet to dlib, whose embeddings share a large common component.
- ``"cca"``: canonical correlation analysis (Hotelling 1936) with shrunk
  covariances: one affine map for each model into a shared space whose axes are
  the directions in which the two models' anchors correlate most, each scaled by
  its correlation, so axes that carry identity in both models count most and the
  rest is damped. It is the only method that also maps the target model's
  embeddings (:meth:`EmbeddingMap.transform` with ``model=target_model``), so its
  output is compared with the target's embeddings *after* they are mapped too,
  never with raw ones; a migrated gallery must lie in the target's own space, so
  :func:`veil.crossmodel.migrate_gallery` takes the other methods
  (:data:`TARGET_SPACE_METHODS`). On CelebA, averaged over five identity splits
  with 1,000 anchors, it was the best map for five of the six pairs of veil's
  recognizers, and the only one keeping 90% of SFace's own rank-1 from dlib
  embeddings (0.908 against ridge's 0.874).

The benchmark measures every method on every pair of veil's recognizers; no one
method is best for all of them, so ``veil eval crossmodel`` reports each.

Mapped rows are scaled to unit length, as every veil embedding is, so they are
compared with the target model's embeddings (mapped by the target side, for
``"cca"``) by cosine.

File format (:meth:`EmbeddingMap.save`, :meth:`EmbeddingMap.load`): an ``.npz``
with ``weight`` (source_dim, target_dim) float32, ``bias`` (target_dim,) float32
and ``meta``, a JSON string: ``format``, ``version``, ``source_model``,
``target_model``, ``method``, ``alpha``, ``source_dim``, ``target_dim``,
``n_anchors`` and ``validation`` (see :class:`MapValidation`, or null); a
``"cca"`` map's ``weight`` is (source_dim, shared_dim) and the file adds the
target side, ``target_weight`` (target_dim, shared_dim) and ``target_bias``. It
is read without pickle, so loading a map runs no code.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from veil.errors import InputError, NotFittedError, OutputError, VeilWarning
from veil.evaluate._verification import unit_rows
from veil.types import Embeddings

__all__ = [
    "CCA_SHRINKAGE",
    "METHODS",
    "RIDGE_ALPHAS",
    "TARGET_SPACE_METHODS",
    "EmbeddingMap",
    "MapValidation",
]

logger = logging.getLogger(__name__)

METHODS = ("procrustes", "ridge", "linear", "affine", "cca")
"""Ways an :class:`EmbeddingMap` can be fitted (see the module docstring for when to choose each)."""

TARGET_SPACE_METHODS = METHODS[:4]
"""The methods whose output lies in the target model's own space, comparable with its raw embeddings."""

CCA_SHRINKAGE = 0.2
"""What ``"cca"`` adds to the diagonal of each model's covariance, relative to its mean eigenvalue,
so that directions the anchors barely sample are not blown up by the whitening. Measured on
CelebA (five identity splits, 1,000 anchors, every pair of veil's recognizers), 0.2 and 0.5
were best and 0.05 and 1.0 cost 0.5-2 points of rank-1."""

RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-4, 1, 11))
"""Penalties tried when ``alpha`` is not given, relative to the anchors' mean squared singular
value (their energy per dimension), so one grid fits any anchor count."""

_FORMAT = "veil.embedding_map"
_FORMAT_VERSION = 1
_ARRAYS = ("weight", "bias", "target_weight", "target_bias")


@dataclass(frozen=True, slots=True)
class MapValidation:
    """How well a map identified people it was not fitted on, measured when it was fitted.

    Attributes:
        rank1_native: Rank-1 of the target model on the held-out identities, gallery
            and probes both embedded by it: the most a migrated gallery can reach.
        rank1_mapped: Rank-1 with the gallery embedded by the source model and mapped,
            probes embedded by the target model: what a migrated gallery reaches.
        n_probes: Probes scored.
        n_identities: Identities in the held-out gallery.
    """

    rank1_native: float
    rank1_mapped: float
    n_probes: int
    n_identities: int

    @property
    def retention(self) -> float:
        """``rank1_mapped / rank1_native``: the share of identification accuracy a migration keeps."""
        return self.rank1_mapped / self.rank1_native if self.rank1_native > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as stored in the map file."""
        return {**asdict(self), "retention": self.retention}


class EmbeddingMap:
    """A learned map from a source model's embeddings to a target model's.

    Follows scikit-learn: options here, learning in :meth:`fit`, learned state in
    attributes ending in ``_``. The model names travel with the map, and
    :meth:`transform` refuses embeddings said to come from another model: two
    models of the same width give arrays that look alike, and only the name tells them apart.

    Args:
        source_model: The recognizer whose embeddings go in (``"facenet"``).
        target_model: The recognizer whose space they come out in (``"sface"``).
        method: One of :data:`METHODS` (see the module docstring for when to choose each).
        alpha: The ridge penalty, relative to the anchors' energy per dimension
            (``"ridge"`` only); None chooses it from :data:`RIDGE_ALPHAS` by leave-one-out error.

    Attributes:
        weight_: (source_dim, output_dim) float32: the source side.
        bias_: (output_dim,) float32; zeros for the methods without a bias.
        target_weight_: (target_dim, output_dim) float32, the target side of a
            ``"cca"`` map; None for the other methods, which leave the target's embeddings as they are.
        target_bias_: (output_dim,) float32 for ``"cca"``; None otherwise.
        alpha_: The ridge penalty used (relative, as ``alpha``); None for the other methods.
        n_anchors_: How many anchor pairs the fit saw.
        validation_: How well the map identified held-out people when it was fitted
            (set by :func:`veil.crossmodel.align_models`; None after a plain :meth:`fit`).

    Raises:
        ValueError: An unknown method, a negative ``alpha``, or ``alpha`` with another method.
    """

    weight_: NDArray[np.float32]
    bias_: NDArray[np.float32]
    target_weight_: NDArray[np.float32] | None
    target_bias_: NDArray[np.float32] | None
    alpha_: float | None
    n_anchors_: int
    validation_: MapValidation | None

    def __init__(
        self, source_model: str, target_model: str, *, method: str = "ridge", alpha: float | None = None
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown map method {method!r}; choose one of: {', '.join(METHODS)}")
        if alpha is not None and (method != "ridge" or alpha <= 0):
            raise ValueError(
                f"alpha must be a positive penalty for method 'ridge', got {alpha} for {method!r}"
            )
        self.source_model = source_model
        self.target_model = target_model
        self.method = method
        self.alpha = alpha

    def __repr__(self) -> str:
        state = f", n_anchors_={self.n_anchors_}" if self.is_fitted else ""
        return f"EmbeddingMap({self.source_model!r} -> {self.target_model!r}, method={self.method!r}{state})"

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`load`) has run."""
        return hasattr(self, "weight_")

    @property
    def source_dim(self) -> int:
        """Width of the embeddings that go in."""
        self._check_fitted()
        return int(self.weight_.shape[0])

    @property
    def target_dim(self) -> int:
        """Width of the target model's embeddings."""
        self._check_fitted()
        return int(self.weight_.shape[1] if self.target_weight_ is None else self.target_weight_.shape[0])

    @property
    def output_dim(self) -> int:
        """Width of the mapped embeddings: ``target_dim``, or the shared space's for ``"cca"``."""
        self._check_fitted()
        return int(self.weight_.shape[1])

    def fit(self, source: ArrayLike, target: ArrayLike) -> EmbeddingMap:
        """Learn the map from anchor pairs: row i of both arrays embeds the same photo; returns ``self``.

        Rows are used as given (veil's embeddings are of unit length). Least squares without a penalty
        (``"linear"``, ``"affine"``) with fewer anchors than dimensions fits the
        anchors exactly and generalises badly; it warns, and ``"ridge"`` or
        ``"procrustes"`` are then the ones to use.

        Args:
            source: (N, source_dim) embeddings of the anchors by the source model.
            target: (N, target_dim) embeddings of the same anchors, in the same order,
                by the target model.

        Raises:
            InputError: Not 2-D, different row counts, fewer than two anchors, or NaN
                or infinite values.
        """
        x, y = _matrix(source, what="source anchors"), _matrix(target, what="target anchors")
        if len(x) != len(y):
            raise InputError("<array>", f"{len(x)} source anchors but {len(y)} target anchors: need pairs")
        if len(x) < 2:
            raise InputError("<array>", f"a map needs at least 2 anchor pairs, got {len(x)}")
        unknowns = x.shape[1] + (self.method == "affine")
        if self.method in ("linear", "affine") and len(x) < unknowns:
            warnings.warn(
                f"{len(x)} anchors for {unknowns} unknowns per output: {self.method!r} fits them exactly "
                "and generalises badly; use 'ridge' or 'procrustes'",
                VeilWarning,
                stacklevel=2,
            )
        weight: NDArray[np.float64]
        bias = np.zeros(y.shape[1])
        alpha = None
        target_side = None
        if self.method == "procrustes":
            weight = _procrustes(x, y)
        elif self.method == "ridge":
            x_mean = x.mean(axis=0)
            weight, alpha = _ridge(x - x_mean, y - y.mean(axis=0), self.alpha)
            bias = -x_mean @ weight
        elif self.method == "linear":
            weight = np.asarray(np.linalg.lstsq(x, y, rcond=None)[0], dtype=np.float64)
        elif self.method == "affine":
            x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
            weight = np.asarray(np.linalg.lstsq(x - x_mean, y - y_mean, rcond=None)[0], dtype=np.float64)
            bias = y_mean - x_mean @ weight
        else:
            (weight, bias), target_side = _cca(x, y)
        self.weight_ = weight.astype(np.float32)
        self.bias_ = bias.astype(np.float32)
        self.target_weight_ = None if target_side is None else target_side[0].astype(np.float32)
        self.target_bias_ = None if target_side is None else target_side[1].astype(np.float32)
        self.alpha_ = alpha
        self.n_anchors_ = len(x)
        self.validation_ = None
        logger.debug("fitted %r on %d anchors", self, len(x))
        return self

    def transform(self, embeddings: ArrayLike, *, model: str) -> Embeddings:
        """Embeddings of either model in the space the two are compared in, as (N, output_dim) unit rows.

        Source embeddings go through the map. Target embeddings go through the
        target side of a ``"cca"`` map and come back unchanged (scaled to unit
        length) from the other methods, so comparing ``transform(a, model=source)``
        with ``transform(b, model=target)`` is right for every method.

        Args:
            embeddings: (N, D) embeddings by ``model``.
            model: The model that made them: the map's ``source_model`` or ``target_model``.

        Raises:
            NotFittedError: Before :meth:`fit`.
            InputError: ``model`` is neither of the map's models, the width is not
                that model's, NaN or infinite values, or a row that maps to zero.
        """
        self._check_fitted()
        if model not in (self.source_model, self.target_model):
            raise InputError(
                "<array>",
                f"this map takes {self.source_model!r} embeddings to {self.target_model!r}, "
                f"not {model!r} ones (fit a map from {model!r})",
            )
        x = _matrix(embeddings, what=f"{model} embeddings")
        is_source = model == self.source_model
        width = self.source_dim if is_source else self.target_dim
        if x.shape[1] != width:
            raise InputError(
                "<array>", f"embeddings are {x.shape[1]}-D but the {model!r} map takes {width}-D"
            )
        if is_source:
            x = x @ self.weight_ + self.bias_
        elif self.target_weight_ is not None and self.target_bias_ is not None:
            x = x @ self.target_weight_ + self.target_bias_
        return unit_rows(x, what="mapped embeddings").astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """What the map is, without its numbers: the ``meta`` of the map file, also used in reports.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        self._check_fitted()
        return {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "source_model": self.source_model,
            "target_model": self.target_model,
            "method": self.method,
            "alpha": self.alpha_,
            "source_dim": self.source_dim,
            "target_dim": self.target_dim,
            "n_anchors": self.n_anchors_,
            "validation": None if self.validation_ is None else self.validation_.to_dict(),
        }

    def save(self, path: str | Path) -> Path:
        """Write the map to ``path`` (an ``.npz``, see the module docstring), replacing it atomically.

        Returns:
            ``path``.

        Raises:
            NotFittedError: Before :meth:`fit`.
            OutputError: The file cannot be written.
        """
        meta = json.dumps(self.to_dict())
        target = Path(path)
        buffer = io.BytesIO()
        target_side: dict[str, Any] = {}
        if self.target_weight_ is not None and self.target_bias_ is not None:
            target_side = {"target_weight": self.target_weight_, "target_bias": self.target_bias_}
        np.savez(buffer, weight=self.weight_, bias=self.bias_, meta=np.array(meta), **target_side)
        partial = target.with_name(f".{target.name}.partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(buffer.getvalue())
            partial.replace(target)
        except OSError as err:
            partial.unlink(missing_ok=True)
            raise OutputError(target, f"cannot write map: {err.strerror or err}") from err
        logger.info("saved %r to %s", self, target)
        return target

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingMap:
        """A fitted map from a file written by :meth:`save`.

        Raises:
            InputError: No such file, a file that cannot be read, not a map file, a
                newer format, or inconsistent contents.
        """
        source = Path(path)
        try:
            with np.load(source, allow_pickle=False) as arrays:
                meta = json.loads(str(arrays["meta"]))
                parts = {name: arrays[name] for name in _ARRAYS if name in arrays.files}
        except FileNotFoundError as err:
            raise InputError(source, "no such file") from err
        except OSError as err:
            raise InputError(source, f"cannot be read ({err.strerror or err})") from err
        except (ValueError, KeyError) as err:
            raise InputError(source, f"not a veil embedding map ({err})") from err
        return cls._from_parts(meta, parts, source)

    @classmethod
    def _from_parts(
        cls, meta: Mapping[str, Any], parts: Mapping[str, NDArray[Any]], source: Path
    ) -> EmbeddingMap:
        if meta.get("format") != _FORMAT or meta.get("version") != _FORMAT_VERSION:
            raise InputError(
                source,
                f"not a {_FORMAT} version {_FORMAT_VERSION} file "
                f"(format={meta.get('format')!r}, version={meta.get('version')!r})",
            )
        try:
            fitted = cls(str(meta["source_model"]), str(meta["target_model"]), method=str(meta["method"]))
            source_dim, target_dim = int(meta["source_dim"]), int(meta["target_dim"])
            two_sided = fitted.method not in TARGET_SPACE_METHODS
            output_dim = min(source_dim, target_dim) if two_sided else target_dim
            expected = {"weight": (source_dim, output_dim), "bias": (output_dim,)}
            if two_sided:
                expected |= {"target_weight": (target_dim, output_dim), "target_bias": (output_dim,)}
            found = {name: parts[name].shape for name in parts}
            if found != expected or not all(np.isfinite(array).all() for array in parts.values()):
                raise ValueError(f"arrays {found} for a {fitted.method!r} map of dims {expected}")
            fitted.alpha_ = None if meta["alpha"] is None else float(meta["alpha"])
            fitted.n_anchors_ = int(meta["n_anchors"])
            validation = meta["validation"]
            fitted.validation_ = (
                None
                if validation is None
                else MapValidation(
                    rank1_native=float(validation["rank1_native"]),
                    rank1_mapped=float(validation["rank1_mapped"]),
                    n_probes=int(validation["n_probes"]),
                    n_identities=int(validation["n_identities"]),
                )
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(source, f"malformed embedding map: {err}") from err
        fitted.weight_ = parts["weight"].astype(np.float32)
        fitted.bias_ = parts["bias"].astype(np.float32)
        fitted.target_weight_ = parts["target_weight"].astype(np.float32) if two_sided else None
        fitted.target_bias_ = parts["target_bias"].astype(np.float32) if two_sided else None
        return fitted

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError("this EmbeddingMap is not fitted yet; call fit(source, target) or load()")


def _matrix(values: ArrayLike, *, what: str) -> NDArray[np.float64]:
    """``values`` as a 2-D float64 array of finite numbers."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        raise InputError("<array>", f"{what}: embeddings must be (N, D), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InputError("<array>", f"{what}: embeddings contain NaN or infinite values")
    return x


def _procrustes(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """The orthogonal W (semi-orthogonal when the widths differ) minimising ||xW - y||: U V^T of x^T y."""
    u, _, vt = np.linalg.svd(x.T @ y, full_matrices=False)
    return np.asarray(u @ vt, dtype=np.float64)


def _ridge(
    x: NDArray[np.float64], y: NDArray[np.float64], alpha: float | None
) -> tuple[NDArray[np.float64], float]:
    """Ridge weights and the relative penalty used; without one, the grid's best by leave-one-out error.

    One SVD serves every penalty: with x = U S V^T, the fitted values are
    U diag(s^2 / (s^2 + a)) U^T y and the leave-one-out residual of row i is its
    residual divided by 1 - h_ii (the hat matrix's diagonal), so the whole grid
    costs little more than one fit.
    """
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    energy = float(np.mean(s**2))
    uty = u.T @ y
    if alpha is None:
        errors = []
        for relative in RIDGE_ALPHAS:
            shrink = s**2 / (s**2 + relative * energy)
            residual = y - u @ (shrink[:, None] * uty)
            # A positive penalty keeps every leverage below 1; the floor guards the rounding.
            leverage = np.minimum((u**2) @ shrink, 1.0 - 1e-9)
            errors.append(float(np.mean((residual / (1.0 - leverage)[:, None]) ** 2)))
        alpha = RIDGE_ALPHAS[int(np.argmin(errors))]
    weight = vt.T @ ((s / (s**2 + alpha * energy))[:, None] * uty)
    return np.asarray(weight, dtype=np.float64), alpha


def _cca(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[tuple[NDArray[np.float64], NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Both sides, (weight, bias) each, of a CCA with shrunk covariances, axes scaled by their correlation.

    With whitening maps Wx, Wy (inverse square roots of the shrunk covariances),
    the SVD U diag(r) V^T of Wx Cxy Wy gives the canonical directions Wx U and
    Wy V and their correlations r; the means are taken out through the biases.
    """
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - x_mean, y - y_mean
    whiten_x, whiten_y = _shrunk_inverse_sqrt(xc), _shrunk_inverse_sqrt(yc)
    u, correlations, vt = np.linalg.svd(whiten_x @ (xc.T @ yc / len(x)) @ whiten_y, full_matrices=False)
    source = whiten_x @ u * correlations
    target = whiten_y @ vt.T * correlations
    return (source, -x_mean @ source), (target, -y_mean @ target)


def _shrunk_inverse_sqrt(centred: NDArray[np.float64]) -> NDArray[np.float64]:
    """C^(-1/2) of the rows' covariance C shrunk by :data:`CCA_SHRINKAGE` of its mean eigenvalue."""
    covariance = centred.T @ centred / len(centred)
    eigenvalues, vectors = np.linalg.eigh(covariance)
    eigenvalues = np.maximum(eigenvalues, 0.0) + CCA_SHRINKAGE * float(np.mean(eigenvalues))
    return np.asarray((vectors / np.sqrt(eigenvalues)) @ vectors.T, dtype=np.float64)
