"""Anonymize every frame of an animated image (GIF, animated PNG or WebP), as a video is anonymized."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from veil.anonymize._image import DEFAULT_DETECTOR, DEFAULT_EXPAND, DEFAULT_METHOD, DEFAULT_STRENGTH
from veil.anonymize._video import FaceFollower, FrameBlurrer, VideoReport
from veil.detect import get_detector
from veil.io import Animation, check_animation_output, read_animation, write_animation

__all__ = ["blur_animation"]

logger = logging.getLogger(__name__)


def blur_animation(
    src: str | Path,
    dst: str | Path,
    *,
    method: str = DEFAULT_METHOD,
    strength: float = DEFAULT_STRENGTH,
    expand: float = DEFAULT_EXPAND,
    detector: str = DEFAULT_DETECTOR,
    threshold: float | None = None,
    keep: str | Path | None = None,
    overwrite: bool = False,
) -> VideoReport:
    """Write a copy of the animated image ``src`` to ``dst`` with every face obfuscated in every frame.

    Each frame is searched as a photo is (the detector's full multi-scale pass)
    and faces are followed from frame to frame, as in ``veil.anonymize.blur_video``,
    so a face the detector misses on one frame stays hidden there. The output
    has the same frames and timing and no metadata.

    Args:
        src: The animation (a still photo works too, as a one-frame animation).
        dst: The output: ``.png`` (animated PNG) or ``.webp`` (lossless); never ``src``.
        method: See ``veil.anonymize.anonymize_faces``, as are ``strength`` and ``expand``.
        strength: See ``method``.
        expand: See ``method``.
        detector: See ``veil.detect.detect``, as is ``threshold``.
        threshold: See ``detector``.
        keep: A gallery of people who consented; see ``blur_video``.
        overwrite: Replace an existing ``dst``.

    Raises:
        InputError: ``src`` is missing, empty, not an image, or truncated or corrupt.
        ImageTooLargeError: All frames together are over ``veil.io.read_animation``'s limit.
        OutputError: ``dst`` exists (without ``overwrite``), is ``src``, has an
            extension other than ``.png`` or ``.webp``, or cannot be written.
        UnknownModelError: Unknown ``method`` or ``detector``.
    """
    check_animation_output(dst, metadata_from=src, overwrite=overwrite)
    blurrer = FrameBlurrer(
        FaceFollower(get_detector(detector, threshold=threshold), detect_every=1, detect_side=None),
        method=method,
        strength=strength,
        expand=expand,
        keep=keep,
    )
    started = time.perf_counter()
    animation = read_animation(src)
    frames, with_faces = [], 0
    for image in animation.frames:
        blurred = blurrer(image)
        with_faces += blurred is not None
        frames.append(image if blurred is None else blurred)
    write_animation(
        Animation(tuple(frames), animation.durations_ms, animation.loop),
        dst,
        metadata_from=src,
        overwrite=overwrite,
    )
    shown_ms = sum(animation.durations_ms)
    report = blurrer.report(
        len(frames),
        with_faces,
        fps_in=1000 * len(frames) / shown_ms if shown_ms else 0.0,
        seconds=time.perf_counter() - started,
    )
    logger.info("blurred %s: %s", src, report.to_dict())
    return report
