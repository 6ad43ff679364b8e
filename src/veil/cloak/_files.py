"""Cloak photos, files and folders: the library entry points behind ``veil cloak``.

The optimisation itself (and torch) is imported only when a face is cloaked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from veil.cloak._modes import DEFAULT_MODE, DEFAULT_MODELS, MODES, check_budget, check_mode
from veil.cloak._results import Cloaked
from veil.cloak._targets import Target, choose_target, person_embeddings
from veil.detect import check_detector, get_detector
from veil.errors import InputError, NoFaceError, OutputError, VeilError
from veil.io import IMAGE_EXTENSIONS, find_images, read_still, write_image
from veil.jobs import JobReport, run_folder_job
from veil.types import Face, Image, ProgressUpdate

__all__ = [
    "CLOAK_FORMATS",
    "CLOAK_JPEG_QUALITY",
    "CloakWork",
    "cloak",
    "cloak_faces",
    "cloak_file",
    "cloak_files",
]

CLOAK_FORMATS = {"png": ".png", "jpg": ".jpg"}
"""Output formats: PNG keeps every cloaked pixel; JPEG is written at ``CLOAK_JPEG_QUALITY``."""
CLOAK_JPEG_QUALITY = 95
"""Below this, JPEG's own quantisation starts to wash out the cloak (robust cloaks survive 50-95)."""


def cloak_faces(
    image: Image,
    faces: Sequence[Face],
    *,
    mode: str = DEFAULT_MODE,
    budget: float | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    target: Target | None = None,
    robust: bool | None = None,
    seed: int = 0,
) -> Cloaked:
    """Cloak ``faces`` in ``image`` against the recognizers ``models``.

    Args:
        image: RGB ``uint8`` photo (not modified).
        faces: Faces found in it (``veil.detect``); each is cloaked on its own window.
        mode: A key of ``MODES``: the budget, steps and goal.
        budget: Overrides the mode's DSSIM limit.
        models: White-box recognizers to optimise against (differentiable ones).
        target: Move faces towards this identity instead of just away from their own.
        robust: Overrides the mode's choice of optimising through platform transformations.
        seed: Seeds the random transformations: the same inputs give the same cloak.

    Raises:
        VeilError: Unknown mode, a budget outside (0, 0.5), or a model that cannot guide a cloak.
    """
    check_mode(mode)
    settings = MODES[mode]
    budget = settings.budget if budget is None else budget
    check_budget(budget)
    from veil.cloak._optimise import cloak_image

    cloaked, records = cloak_image(
        image,
        faces,
        settings,
        budget=budget,
        models=models,
        target=target,
        robust=settings.robust if robust is None else robust,
        seed=seed,
    )
    return Cloaked(
        image=cloaked,
        faces=records,
        mode=mode,
        budget=budget,
        models=tuple(models),
        target=target.name if target else None,
    )


def cloak(
    image: Image,
    *,
    mode: str = DEFAULT_MODE,
    budget: float | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    target: Target | None = None,
    robust: bool | None = None,
    detector: str = "auto",
    threshold: float | None = None,
    seed: int = 0,
) -> Cloaked:
    """Find every face in ``image`` and cloak it (see ``cloak_faces`` for the options).

    Raises:
        NoFaceError: No face was found: there is nothing to protect, and a
            silently unchanged photo would look protected when it is not.
    """
    faces = get_detector(detector, threshold=threshold).detect(image)
    if not faces:
        raise NoFaceError("<image>", "no face found to cloak")
    return cloak_faces(
        image, faces, mode=mode, budget=budget, models=models, target=target, robust=robust, seed=seed
    )


@dataclass(frozen=True)
class CloakWork:
    """Cloak one photo; pickles as its options, so pool workers and Ray actors load their own models.

    Attributes: See ``cloak``; ``output_format`` is ``".png"`` (default) or
    ``".jpg"``; ``keep_metadata`` copies the input's metadata (see
    ``veil.io.write_image``).
    """

    mode: str = DEFAULT_MODE
    budget: float | None = None
    models: tuple[str, ...] = DEFAULT_MODELS
    target: Target | None = None
    robust: bool | None = None
    detector: str = "auto"
    threshold: float | None = None
    keep_metadata: bool = False
    output_format: str = CLOAK_FORMATS["png"]
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse bad options before any file is touched, so a folder job stops at the start.

        Raises:
            VeilError: An unknown mode, a budget outside (0, 0.5), or a detection
                threshold outside [0, 1].
            UnknownModelError: An unknown detector.
        """
        check_mode(self.mode)
        if self.budget is not None:
            check_budget(self.budget)
        check_detector(self.detector, self.threshold)

    @property
    def in_threads(self) -> bool:
        """False: the optimiser runs torch, which starts threads of its own (see ``veil.jobs.ItemWork``)."""
        return False

    def kind(self, path: Path) -> str | None:
        """``"image"`` for photos; videos and other files are not cloaked."""
        return "image" if path.suffix.lower() in IMAGE_EXTENSIONS else None

    def __call__(self, source: Path, target: Path) -> int:
        """Cloak ``source`` into ``target`` (overwriting it: the job owns it); returns the faces cloaked."""
        return len(self.run(source, target).faces)

    def run(self, source: Path, target: Path) -> Cloaked:
        """Cloak ``source`` into ``target`` and return what was done."""
        image = read_still(source)
        try:
            cloaked = cloak(
                image,
                mode=self.mode,
                budget=self.budget,
                models=self.models,
                target=self.target,
                robust=self.robust,
                detector=self.detector,
                threshold=self.threshold,
                seed=self.seed,
            )
        except NoFaceError as error:
            raise NoFaceError(source, error.reason) from None
        write_image(
            cloaked.image,
            target,
            keep_metadata=self.keep_metadata,
            metadata_from=source,
            quality=CLOAK_JPEG_QUALITY,
            overwrite=True,
        )
        return cloaked


def cloak_file(
    source: str | Path, target: str | Path, work: CloakWork | None = None, *, overwrite: bool = False
) -> Cloaked:
    """Cloak one photo into ``target`` with the options in ``work`` (default ``CloakWork()``).

    Raises:
        InputError: The photo cannot be read, is not a photo, is animated (``veil.io.read_still``),
            or has no face.
        OutputError: ``target`` exists and ``overwrite`` is False, or is the input.
    """
    source, target = Path(source), Path(target)
    work = work or CloakWork()
    if work.kind(source) is None:
        raise InputError(source, "not a photo (cloaking works on photos; videos are not supported yet)")
    if target.exists() and not overwrite:
        raise OutputError(target, "already exists (choose another output)")
    return work.run(source, target)


def cloak_files(
    inputs: Sequence[str | Path],
    out: str | Path,
    work: CloakWork | None = None,
    *,
    target_dir: str | Path | None = None,
    resume: bool = False,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> JobReport:
    """Cloak every photo below ``inputs`` into ``out``, mirroring the tree, with a manifest.

    Args:
        work: The cloak options (default ``CloakWork()``).
        target_dir: Identities to choose a target from (``choose_target``): the
            one least like the person in ``inputs``, whose photos are all taken
            to show one person, is used for every photo, so that they all teach
            a recognizer the same wrong face.

    See ``veil.jobs.run_folder_job`` for ``resume``, ``engine``, ``workers``,
    ``address`` and what is written where. Files that are not photos are skipped.
    """
    work = work or CloakWork()
    if target_dir is not None:
        photos = find_images(inputs)
        if not photos:
            raise VeilError("no photos to cloak, so no target can be chosen")
        person = person_embeddings(photos, work.models)
        work = replace(work, target=choose_target(target_dir, person, work.models))
    return run_folder_job(
        inputs,
        Path(out),
        work,
        resume=resume,
        engine=engine,
        workers=workers,
        address=address,
        progress=progress,
    )
