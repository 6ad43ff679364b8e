"""Universal attribute perturbations: computed once from a few photos, applied to every video frame.

Optimising a perturbation per frame costs seconds; a video needs 25 frames a
second. So the perturbation lives in aligned-face coordinates (the ArcFace
template on a ``UNIVERSAL_SIZE`` square with ``UNIVERSAL_MARGIN`` of context)
and is optimised once, over a few photos of the person, to make the white-box
judges misread the hidden attributes on all of them at once (with small random
shifts and scalings of the alignment, as tracking between detections brings).
Each frame then only needs the face's alignment: the perturbation is warped
back through the inverse similarity transform and added to the face window.
Its edge is feathered to zero, so no seam shows.

The change is bounded per pixel (``UNIVERSAL_LIMITS``, in 0-255 levels) rather
than in DSSIM, since it must hold for faces it has not seen. ``LiveHider``
(``veil.attributes._live``) applies one to each frame of a camera or a video.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veil.align import alignment_matrix
from veil.attributes._classes import ATTRIBUTES, choose_targets
from veil.attributes._modes import DEFAULT_HIDE_JUDGES, KEEP_COSINE, parse_hide
from veil.errors import InputError, NoFaceError
from veil.types import Face, Image

__all__ = ["UNIVERSAL_LIMITS", "UniversalPerturbation", "universal_perturbation"]

logger = logging.getLogger(__name__)

UNIVERSAL_SIZE = 128
"""Side of the aligned square the perturbation is stored on, in pixels."""
UNIVERSAL_MARGIN = 0.3
"""Context around the ArcFace template (``veil.align.alignment_matrix``): covers every recognizer's crop."""
UNIVERSAL_GRID = 64
"""Side of the optimised grid, enlarged smoothly to ``UNIVERSAL_SIZE``: a smooth pattern survives warping."""
UNIVERSAL_LIMITS = {"imperceptible": 8.0, "visible": 24.0}
"""Largest change of a pixel channel, in 0-255 levels, of each mode."""
UNIVERSAL_STEPS = 150
JITTER = 0.03
"""Random relative shift and scale of the alignment at each step (tracked faces are a few pixels off)."""
FEATHER = 0.12
"""Width of the zero-going edge of the perturbation, as a fraction of its side."""
IDENTITY_WEIGHT = 20.0
MARGIN = 4.0
"""Logit lead of the target class the optimisation aims for on every photo."""


@dataclass(frozen=True, slots=True)
class UniversalPerturbation:
    """A perturbation in aligned-face coordinates that hides attributes of one person (or of anyone).

    Attributes:
        delta: (``UNIVERSAL_SIZE``, ``UNIVERSAL_SIZE``, 3) float32 change in 0-255 levels,
            on the ArcFace template with ``UNIVERSAL_MARGIN``, zero at its edge.
        targets: Attribute to the class pushed towards (``"chance"`` for a uniform read).
        judges: The white-box judges it was optimised against.
        limit: The largest change of a pixel channel allowed, in levels.
        fooled: Per judge, the fraction of the training photos whose every target it read.
        similarity: Per judge's recognizer, the mean cosine of perturbed against clean training photos.
    """

    delta: NDArray[np.float32]
    targets: dict[str, str]
    judges: tuple[str, ...]
    limit: float
    fooled: dict[str, float]
    similarity: dict[str, float]

    def apply(self, image: Image, faces: Sequence[Face]) -> Image:
        """A copy of ``image`` with the perturbation warped onto each of ``faces``; fast (no model runs)."""
        import cv2

        out = image.copy()
        height, width = image.shape[:2]
        corners = np.array(
            [[0, 0], [UNIVERSAL_SIZE, 0], [0, UNIVERSAL_SIZE], [UNIVERSAL_SIZE, UNIVERSAL_SIZE]]
        )
        for face in faces:
            try:
                matrix = alignment_matrix(face, size=UNIVERSAL_SIZE, margin=UNIVERSAL_MARGIN)
            except InputError:
                continue  # degenerate landmarks (a tracked face squeezed to nothing): leave it
            inverse = cv2.invertAffineTransform(matrix)
            spots = corners @ inverse[:, :2].T + inverse[:, 2]
            left, top = (max(0, int(np.floor(v))) for v in spots.min(axis=0))
            right, bottom = (
                min(width, int(np.ceil(spots[:, 0].max()))),
                min(height, int(np.ceil(spots[:, 1].max()))),
            )
            if right <= left or bottom <= top:
                continue
            shifted = inverse.copy()
            shifted[:, 2] -= (left, top)
            change = cv2.warpAffine(
                self.delta, shifted, (right - left, bottom - top), flags=cv2.INTER_LINEAR, borderValue=0.0
            )
            region = out[top:bottom, left:right].astype(np.float32) + change
            out[top:bottom, left:right] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
        return out

    def save(self, path: str | Path) -> None:
        """Write it as ``.npz`` (the pattern plus its description as JSON)."""
        meta = {
            "targets": self.targets,
            "judges": list(self.judges),
            "limit": self.limit,
            "fooled": self.fooled,
            "similarity": self.similarity,
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, delta=self.delta, meta=np.array(json.dumps(meta)))
        Path(path).write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> UniversalPerturbation:
        """Read one written by ``save``.

        Raises:
            InputError: No such file, or not a universal perturbation file.
        """
        try:
            with np.load(Path(path)) as stored:
                delta = np.asarray(stored["delta"], np.float32)
                meta = json.loads(str(stored["meta"]))
        except FileNotFoundError as error:
            raise InputError(path, "no such file") from error
        except (OSError, ValueError, KeyError) as error:
            raise InputError(path, f"not a universal perturbation file ({error})") from error
        if delta.shape != (UNIVERSAL_SIZE, UNIVERSAL_SIZE, 3):
            raise InputError(
                path, f"perturbation of shape {delta.shape}, expected {UNIVERSAL_SIZE}x{UNIVERSAL_SIZE}x3"
            )
        return cls(
            delta=delta,
            targets=meta["targets"],
            judges=tuple(meta["judges"]),
            limit=float(meta["limit"]),
            fooled=meta["fooled"],
            similarity=meta["similarity"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without the pattern)."""
        return {
            "targets": self.targets,
            "judges": list(self.judges),
            "limit": self.limit,
            "fooled": self.fooled,
            "similarity": {k: round(v, 4) for k, v in self.similarity.items()},
        }


def universal_perturbation(
    photos: Sequence[Image],
    *,
    hide: str | Sequence[str] = ("gender",),
    visible: bool = False,
    keep_identity: bool = True,
    chance: bool = False,
    judges: Sequence[str] = DEFAULT_HIDE_JUDGES,
    steps: int = UNIVERSAL_STEPS,
    seed: int = 0,
    detector: str = "auto",
) -> UniversalPerturbation:
    """One perturbation that hides the chosen attributes of the main face of every photo (and of new ones).

    Args:
        photos: A few RGB photos of the person (3 to 10 is plenty); the largest
            face of each is used.
        hide: See ``veil.attributes.hide_attributes``; without a class, the target
            is the class the judges find third likeliest over all the photos
            (among those they can read; the other one for gender).
        visible: Allow changes of up to ``UNIVERSAL_LIMITS["visible"]`` levels
            (default ``"imperceptible"``).
        keep_identity: See ``veil.attributes.hide_attributes``.
        chance: See ``veil.attributes.hide_attributes``.
        judges: White-box judges (differentiable recognizers' heads).
        steps: Adam steps.
        seed: Seeds the starting point and the alignment jitter.
        detector: See ``veil.detect.detect``.

    Raises:
        NoFaceError: A photo without a face.
        InputError: No photos, or an unknown attribute or class.
    """
    import torch
    from torch.nn import functional

    from veil.attributes._judges import get_judge, readable_classes
    from veil.cloak._optimise import white_box_recognizers
    from veil.detect import detect

    if not photos:
        raise InputError("<photos>", "a universal perturbation needs at least one photo")
    wanted = parse_hide(hide if isinstance(hide, str) else tuple(hide), chance=chance)
    limit = UNIVERSAL_LIMITS["visible" if visible else "imperceptible"]
    models = [get_judge(name) for name in judges]
    recognizers = white_box_recognizers(list(judges))
    faces = []
    for index, photo in enumerate(photos):
        found = detect(photo, detector=detector)
        if not found:
            raise NoFaceError(f"<photo {index}>", "no face found to learn the perturbation from")
        faces.append(max(found, key=lambda f: f.width * f.height))

    clean_crops, clean_features, frames = [], [], []
    for recognizer in recognizers:
        crops = np.stack([recognizer.crop(photo, face) for photo, face in zip(photos, faces, strict=True)])
        clean_crops.append(torch.from_numpy(crops).permute(0, 3, 1, 2).float())
        clean_features.append(torch.from_numpy(recognizer.embed(list(crops))))
        frames.append(_frame_map(recognizer.input_size, recognizer.margin))
    reads = [model.probabilities(f.numpy()) for model, f in zip(models, clean_features, strict=True)]
    targets = choose_targets(wanted, chance, reads, readable_classes(models))

    generator = torch.Generator().manual_seed(seed)
    parameter = (
        0.01 * torch.randn((1, 3, UNIVERSAL_GRID, UNIVERSAL_GRID), generator=generator)
    ).requires_grad_()
    feather = torch.from_numpy(_feather(UNIVERSAL_SIZE))
    optimiser = torch.optim.Adam([parameter], lr=0.05)

    def delta() -> torch.Tensor:
        grown = functional.interpolate(
            parameter, size=(UNIVERSAL_SIZE,) * 2, mode="bilinear", align_corners=False
        )
        return limit * torch.tanh(grown) * feather

    started = time.perf_counter()
    for _ in range(steps):
        loss, _ = _universal_loss(
            delta(),
            clean_crops,
            clean_features,
            frames,
            models,
            recognizers,
            targets,
            keep_identity,
            generator,
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        final = delta()
        _, report = _universal_loss(
            final, clean_crops, clean_features, frames, models, recognizers, targets, keep_identity, None
        )
    logger.info(
        "universal perturbation: %d photos, %d steps, %.1f s",
        len(photos),
        steps,
        time.perf_counter() - started,
    )
    return UniversalPerturbation(
        delta=np.ascontiguousarray(final[0].permute(1, 2, 0).numpy().astype(np.float32)),
        targets={a: "chance" if t is None else ATTRIBUTES[a][t] for a, t in targets.items()},
        judges=tuple(judges),
        limit=limit,
        fooled=report["fooled"],
        similarity=report["similarity"],
    )


def _frame_map(size: int, margin: float) -> NDArray[np.float64]:
    """2x3 map from the universal square's pixels to a recognizer's crop pixels (same template).

    Both squares hold the same template, scaled about the centre by ``1 / (1 + margin)``, so
    the map is a fixed scaling and shift, whatever the face.
    """
    scale = size * (1 + UNIVERSAL_MARGIN) / (UNIVERSAL_SIZE * (1 + margin))
    shift = size * (0.5 - 0.5 * (1 + UNIVERSAL_MARGIN) / (1 + margin))
    return np.array([[scale, 0.0, shift], [0.0, scale, shift]])


def _universal_loss(
    delta: Any,
    clean_crops: list[Any],
    clean_features: list[Any],
    frames: list[NDArray[np.float64]],
    models: list[Any],
    recognizers: list[Any],
    targets: dict[str, int | None],
    keep_identity: bool,
    generator: Any,
) -> tuple[Any, dict[str, dict[str, float]]]:
    """The loss over every photo and judge, and (for reporting) what each judge reads."""
    import kornia
    import torch
    from torch.nn import functional

    from veil.attributes._hide_optimise import chance_loss

    loss = torch.zeros(())
    report: dict[str, dict[str, float]] = {"fooled": {}, "similarity": {}}
    count = clean_crops[0].shape[0]
    for model, recognizer, crops, clean, frame in zip(
        models, recognizers, clean_crops, clean_features, frames, strict=True
    ):
        matrix = torch.tensor(frame, dtype=torch.float32).expand(count, 2, 3).clone()
        if generator is not None:
            jitter = JITTER * (2 * torch.rand((count, 3), generator=generator) - 1)
            matrix[:, :, :2] *= 1 + jitter[:, :1, None]
            matrix[:, :, 2] += jitter[:, 1:] * recognizer.input_size
        size = recognizer.input_size
        change = kornia.geometry.transform.warp_affine(
            delta.expand(count, -1, -1, -1),
            matrix,
            (size, size),
            mode="bilinear",
            padding_mode="zeros",
            align_corners=True,
        )
        pixels = (crops + change).clamp(0, 255)
        if generator is not None and bool(torch.rand((), generator=generator) < 0.5):
            pixels = pixels.flip(dims=[3])
        features = recognizer.features(pixels, flip=generator is None)
        fooled = torch.ones(count, dtype=torch.bool)
        for attribute, target in targets.items():
            logits = model.logits(features, attribute)
            if target is None:
                part, done = chance_loss(logits, model.readable(attribute))
                loss = loss + part.sum()
                fooled &= done
            else:
                others = logits.clone()
                others[:, target] = -torch.inf
                lead = logits[:, target] - others.max(dim=1).values
                loss = loss + functional.relu(MARGIN - lead).sum()
                fooled &= lead > 0
        cosine = (features * clean).sum(dim=1)
        if keep_identity:
            loss = loss + IDENTITY_WEIGHT * functional.relu(KEEP_COSINE - cosine).sum()
        report["fooled"][model.name] = float(fooled.float().mean())
        report["similarity"][recognizer.name] = float(cosine.detach().mean())
    return loss, report


def _feather(size: int) -> NDArray[np.float32]:
    ramp = np.clip((np.minimum(np.arange(size) + 0.5, size - np.arange(size) - 0.5)) / (FEATHER * size), 0, 1)
    return np.asarray(np.minimum.outer(ramp, ramp), np.float32)
