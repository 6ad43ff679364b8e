"""Hide attributes in files and folders: the work item behind ``veil cloak --hide`` and its folder jobs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from veil.attributes._hide import AttributesHidden, hide_attributes
from veil.attributes._live import hide_attributes_video
from veil.attributes._modes import DEFAULT_HIDE_JUDGES
from veil.attributes._universal import UniversalPerturbation
from veil.cloak import check_budget
from veil.detect import check_detector
from veil.errors import NoFaceError
from veil.jobs import JobReport, run_folder_job
from veil.types import ProgressUpdate

__all__ = ["HideWork", "hide_attributes_file", "hide_attributes_files"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HideWork:
    """Hide attributes in one photo or video; pickles as its options, so pool workers load their own models.

    Attributes: See ``veil.attributes.hide_attributes`` (``hide`` is its comma
    form, ``"gender,age=60+"``); ``hide_attributes_file`` runs them on one photo.
    ``universal`` is a saved :class:`UniversalPerturbation` (``.npz``): given,
    every face gets it at once instead of an optimisation of its own, and videos
    are handled too.
    ``keep_metadata`` copies the input's metadata (see ``veil.io.write_image``).
    Photos are written as PNG, which keeps the perturbation exactly.
    """

    hide: str = "gender"
    visible: bool = False
    keep_identity: bool = True
    chance: bool = False
    judges: tuple[str, ...] = DEFAULT_HIDE_JUDGES
    budget: float | None = None
    seed: int = 0
    universal: Path | None = None
    detector: str = "auto"
    threshold: float | None = None
    keep_metadata: bool = False
    output_format: str = ".png"

    def __post_init__(self) -> None:
        """Refuse a bad budget, detector or threshold before any file is touched.

        Raises:
            VeilError: A budget outside (0, 0.5) or a threshold outside [0, 1].
            UnknownModelError: An unknown detector.
        """
        if self.budget is not None:
            check_budget(self.budget)
        check_detector(self.detector, self.threshold)

    @property
    def in_threads(self) -> bool:
        """False: the optimiser and the judges run torch (see ``veil.jobs.ItemWork``)."""
        return False

    def kind(self, path: Path) -> str | None:
        """``"image"`` for photos; ``"video"`` for videos when there is a universal perturbation."""
        from veil.io import IMAGE_EXTENSIONS, is_video

        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return "image"
        return "video" if self.universal is not None and is_video(path) else None

    def __call__(self, source: Path, target: Path) -> int:
        """Protect ``source`` into ``target`` (overwriting it: the job owns it); returns the faces changed.

        Raises:
            NoFaceError: A photo without a face large enough to protect.
            InputError, OutputError: As ``veil.io.read_still`` (animations refused) and ``write_image``.
        """
        if self.universal is None:
            hidden = hide_attributes_file(source, target, self, overwrite=True)
            return sum(face.hidden for face in hidden.faces)
        perturbation = UniversalPerturbation.load(self.universal)
        if self.kind(source) == "video":
            report = hide_attributes_video(
                source,
                target,
                perturbation,
                detector=self.detector,
                threshold=self.threshold,
                keep_metadata=self.keep_metadata,
                overwrite=True,
            )
            return int(report.tracks)
        return self._apply(perturbation, source, target)

    def _apply(self, perturbation: UniversalPerturbation, source: Path, target: Path) -> int:
        from veil.detect import detect
        from veil.io import read_still, write_image

        image = read_still(source)
        faces = detect(image, detector=self.detector, threshold=self.threshold)
        if not faces:
            raise NoFaceError(source, "no face found to protect")
        write_image(
            perturbation.apply(image, faces),
            target,
            keep_metadata=self.keep_metadata,
            metadata_from=source,
            overwrite=True,
        )
        return len(faces)


def hide_attributes_file(
    src: str | Path, dst: str | Path, work: HideWork | None = None, *, overwrite: bool = False
) -> AttributesHidden:
    """Protect the photo ``src`` with ``hide_attributes`` and the options of ``work``; write it to ``dst``.

    ``work`` defaults to ``HideWork()``; its ``universal`` is not used here (see
    ``HideWork``). The output is written atomically, its format from the extension
    (PNG keeps the perturbation exactly).

    Raises:
        NoFaceError: No face large enough in the photo (it would not be protected).
        InputError, OutputError: As ``veil.io.read_still`` (animations refused) and ``write_image``
            (``overwrite`` too).
    """
    from veil.io import read_still, write_image

    work = work or HideWork()
    image = read_still(src)
    result = hide_attributes(
        image,
        hide=work.hide,
        visible=work.visible,
        keep_identity=work.keep_identity,
        chance=work.chance,
        judges=work.judges,
        budget=work.budget,
        seed=work.seed,
        detector=work.detector,
        threshold=work.threshold,
    )
    if not any(face.hidden for face in result.faces):
        raise NoFaceError(src, "no face large enough to protect")
    write_image(result.image, dst, keep_metadata=work.keep_metadata, metadata_from=src, overwrite=overwrite)
    return result


def hide_attributes_files(
    inputs: Sequence[str | Path],
    out: str | Path,
    work: HideWork | None = None,
    *,
    resume: bool = False,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> JobReport:
    """Protect every photo (and, with a universal perturbation, video) below ``inputs`` into ``out``.

    ``work`` holds the options (default ``HideWork()``: hide gender, imperceptibly,
    keeping face matching). The input tree is mirrored, with a manifest; see
    ``veil.jobs.run_folder_job`` for ``resume``, ``engine``, ``workers``,
    ``address`` and what is written where.
    """
    work = work or HideWork()
    logger.info("hiding %s below %d inputs into %s", work.hide, len(inputs), out)
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
