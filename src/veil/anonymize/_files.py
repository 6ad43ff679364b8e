"""Anonymize files and folders: the work item behind ``veil blur`` and its folder jobs."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veil.anonymize._animation import blur_animation
from veil.anonymize._consent import check_consent_gallery, consented
from veil.anonymize._image import (
    DEFAULT_DETECTOR,
    DEFAULT_EXPAND,
    DEFAULT_METHOD,
    DEFAULT_STRENGTH,
    anonymize_faces,
    check_obfuscation,
)
from veil.anonymize._video import DEFAULT_DETECT_EVERY, blur_video
from veil.detect import THREADED_DETECTORS, check_detector, get_detector, resolve_detector
from veil.errors import VeilWarning
from veil.io import IMAGE_EXTENSIONS, count_frames, is_video, read_image, write_image
from veil.jobs import JobReport, run_folder_job
from veil.types import ProgressUpdate

__all__ = ["BlurWork", "blur_file", "blur_files"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BlurWork:
    """Blur one file; pickles as its options, so pool workers and Ray actors load their own models.

    Attributes: See ``veil.anonymize.anonymize_faces`` and ``veil.detect``; ``keep``
    is a gallery whose people are left unblurred (consent), ``keep_metadata``
    copies the input's metadata (see ``veil.io.write_image``), ``output_format``
    is the suffix of photo outputs in folder jobs (default: each input's own).
    """

    method: str = DEFAULT_METHOD
    strength: float = DEFAULT_STRENGTH
    expand: float = DEFAULT_EXPAND
    detector: str = DEFAULT_DETECTOR
    threshold: float | None = None
    keep: Path | None = None
    keep_metadata: bool = False
    detect_every: int = DEFAULT_DETECT_EVERY
    output_format: str | None = None

    def __post_init__(self) -> None:
        """Refuse options that would blur nothing, before any file is touched.

        Raises:
            ValueError: A strength that is not above 0, a negative expand, or
                ``detect_every`` below 1.
            UnknownModelError: An unknown method or detector.
            VeilError: A detection threshold outside [0, 1].
        """
        check_obfuscation(self.method, self.strength, self.expand)
        check_detector(self.detector, self.threshold)
        if self.detect_every < 1:
            raise ValueError(f"detect_every must be 1 or more, got {self.detect_every}")

    @property
    def in_threads(self) -> bool:
        """Whether folder jobs run this on threads (see ``veil.jobs.ItemWork``): YuNet, no consent check.

        YuNet runs on onnxruntime, which releases the GIL as Pillow and PyAV do
        (``veil.detect.THREADED_DETECTORS``). OpenCV's and dlib's detectors run one
        call at a time per model, and consent checks run torch recognizers, so
        those jobs use processes.
        """
        names = resolve_detector(self.detector).split("+")
        return self.keep is None and all(name in THREADED_DETECTORS for name in names)

    def kind(self, path: Path) -> str | None:
        """``"image"`` or ``"video"`` for the files this work handles, else None."""
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return "image"
        return "video" if is_video(path) else None

    def __call__(self, source: Path, target: Path) -> int:
        """Blur ``source`` into ``target`` (overwriting it: the job owns it).

        Returns the faces blurred: in a photo, the faces found; in a video or an
        animated image, the faces followed (tracks) less those left unblurred by
        consent. An animated image (GIF, animated PNG or WebP) keeps every frame:
        ``target`` must then be ``.png`` or ``.webp`` (folder jobs write GIFs as
        PNG), and carries no metadata even with ``keep_metadata``.
        """
        if self.kind(source) == "video":
            return self._video(source, target)
        if count_frames(source) > 1:
            return self._animation(source, target)
        image = read_image(source)
        faces = get_detector(self.detector, threshold=self.threshold).detect(image)
        if self.keep is not None:
            faces = [f for f, ok in zip(faces, consented(image, faces, self.keep), strict=True) if not ok]
        blurred = anonymize_faces(
            image, faces, method=self.method, strength=self.strength, expand=self.expand
        )
        write_image(blurred, target, keep_metadata=self.keep_metadata, metadata_from=source, overwrite=True)
        return len(faces)

    @property
    def _frame_options(self) -> dict[str, Any]:
        """The options ``blur_video`` and ``blur_animation`` share."""
        return {
            "method": self.method,
            "strength": self.strength,
            "expand": self.expand,
            "detector": self.detector,
            "threshold": self.threshold,
            "keep": self.keep,
        }

    def _animation(self, source: Path, target: Path) -> int:
        if self.keep_metadata:
            warnings.warn(f"{source}: animations are written without metadata", VeilWarning, stacklevel=3)
        report = blur_animation(source, target, overwrite=True, **self._frame_options)
        return report.tracks - report.tracks_kept

    def _video(self, source: Path, target: Path) -> int:
        report = blur_video(
            source,
            target,
            detect_every=self.detect_every,
            keep_metadata=self.keep_metadata,
            overwrite=True,
            **self._frame_options,
        )
        return report.tracks - report.tracks_kept


def blur_file(
    source: str | Path, target: str | Path, work: BlurWork | None = None, *, overwrite: bool = False
) -> int:
    """Blur one photo or video into ``target`` with the options in ``work`` (default ``BlurWork()``).

    Returns the number of faces blurred.

    Raises:
        InputError: The photo cannot be read, or the consent gallery (``work.keep``)
            is missing or not a gallery (``GalleryFileError``).
        GalleryKeyError: The consent gallery's key is missing or wrong.
        OutputError: ``target`` exists and ``overwrite`` is False, or is the input.
    """
    from veil.errors import OutputError

    work = work or BlurWork()
    target = Path(target)
    if target.exists() and not overwrite:
        raise OutputError(target, "already exists (choose another output)")
    if work.keep is not None:
        check_consent_gallery(work.keep)
    return work(Path(source), target)


def blur_files(
    inputs: Sequence[str | Path],
    out: str | Path,
    work: BlurWork | None = None,
    *,
    resume: bool = False,
    copy_others: bool = False,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> JobReport:
    """Blur every photo below ``inputs`` into ``out``, mirroring the tree, with a manifest.

    ``work`` holds the blur options (default ``BlurWork()``).

    See ``veil.jobs.run_folder_job`` for ``resume``, ``copy_others``, ``engine``,
    ``workers``, ``address`` and what is written where. A consent gallery
    (``work.keep``) that cannot be loaded stops the job before it starts
    (``GalleryFileError``, ``GalleryKeyError``).
    """
    work = work or BlurWork()
    if work.keep is not None:
        check_consent_gallery(work.keep)
    return run_folder_job(
        inputs,
        Path(out),
        work,
        resume=resume,
        copy_others=copy_others,
        engine=engine,
        workers=workers,
        address=address,
        progress=progress,
    )
