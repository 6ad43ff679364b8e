"""Cloak the faces of one photo: small optimised perturbations that recognizers cannot see past.

For each face, a perturbation of a window around the face is optimised with
Adam so that the white-box recognizers' embeddings of the face move away from
the person's own (untargeted) or towards a target identity's. The recognizers
see the face exactly as they would in the photo: each step pastes the
perturbed window into its surroundings and cuts every model's aligned crop out
with a differentiable version of the alignment warp, so the perturbation lives
at the photo's own resolution and only the window's pixels change.

The perturbation is parameterised in tanh space (pixels stay in 0-255 without
clipping) on a grid of at most ``MAX_PERTURBATION_SIDE`` pixels, enlarged
smoothly to the window: a large face gets a smooth cloak, not high-frequency
noise at full resolution (Fawkes' visible artefacts on large photos).

The perceptual budget is a penalty during optimisation (``BUDGET_WEIGHT``) and a
hard limit at the end: if the DSSIM of the window, or of any face box the window
overlaps, exceeds the budget, the perturbation is scaled down until none does.
Both are measured as ``veil.quality`` measures a photo (``_Guard``): the window
with a margin of half an SSIM window of unchanged pixels, since SSIM weighs a
region's edge pixels less and the optimiser learns to hide changes there;
each face box in the whole photo, since a perturbation concentrated on a face
would otherwise hide behind the window's unchanged margin, and a bystander's
face next to the cloaked one must keep to the budget too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional

from veil.align import alignment_matrix
from veil.cloak._modes import DEFAULT_MODELS, CloakMode
from veil.cloak._results import FaceCloak
from veil.cloak._targets import Target
from veil.cloak._transforms import PlatformTransform, sample_transform
from veil.embed._torch import TorchRecognizer
from veil.errors import VeilError
from veil.quality import SSIM_WINDOW, dssim, psnr, region_bounds
from veil.types import Face, Image

__all__ = ["FaceProblem", "cloak_image", "white_box_recognizers"]

WINDOW_EXPAND = 0.15
"""The window of changed pixels: the face box grown by this fraction of its size on every side."""
CONTEXT_EXPAND = 0.6
"""What the aligned crops are cut from: the box grown by this much (unchanged outside the window)."""
MAX_PERTURBATION_SIDE = 160
"""Longest side of the perturbation grid; the largest recognizer input (FaceNet) is 160 px."""
MIN_FACE_SIDE = 2 * SSIM_WINDOW
"""Faces smaller than this (box side, px) are left alone: no recognizer can use them reliably."""
GOAL_FAR = 1e-2
"""Goals are measured below each model's threshold at this false accept rate."""
CONFIRM_STEPS = 3
"""A face is done after its goal holds for this many steps in a row (each under a random transform)."""
PENALTY_FROM = 0.97
"""The penalty starts a little inside the budget, so that the hard limit rarely has to scale a cloak down."""
LAGGING_TEMPERATURE = 0.1
"""Softness of the shift of effort towards the recognizer furthest from its goal (in cosine)."""
_BUDGET_SEARCH_STEPS = 10
BUDGET_WEIGHT = 100.0
"""Penalty per unit of DSSIM over the budget. Measured on CelebA faces at budget 0.01: a penalty
(which teaches the perturbation where SSIM tolerates change: texture, not flat skin) took sface's
cosine to -0.3 in 40 steps, where rescaling the perturbation after each step reached only 0.5."""


def white_box_recognizers(models: Sequence[str]) -> list[TorchRecognizer]:
    """The named recognizers, each of which must be differentiable.

    Raises:
        VeilError: A model is not differentiable (dlib), or the list is empty.
    """
    from veil.embed import get_recognizer

    if not models:
        raise VeilError("cloaking needs at least one recognizer")
    recognizers = []
    for name in models:
        recognizer = get_recognizer(name)
        if not isinstance(recognizer, TorchRecognizer):
            raise VeilError(
                f"recognizer {name!r} is not differentiable and cannot guide a cloak; "
                f"choose from {', '.join(DEFAULT_MODELS)}"
            )
        recognizers.append(recognizer)
    return recognizers


def cloak_image(
    image: Image,
    faces: Sequence[Face],
    settings: CloakMode,
    *,
    budget: float,
    models: Sequence[str],
    target: Target | None,
    robust: bool,
    seed: int,
) -> tuple[Image, tuple[FaceCloak, ...]]:
    """The cloaked photo and a record per face; ``veil.cloak.cloak_faces`` checks the options first."""
    recognizers = white_box_recognizers(models)
    if target is not None:
        target.check_models([r.name for r in recognizers])
    start = time.perf_counter()
    problems = [FaceProblem.build(image, face, faces, recognizers, target) for face in faces]
    workable = [p for p in problems if p.cloakable]
    generator = torch.Generator().manual_seed(seed)
    _optimise(workable, recognizers, settings, budget, robust, generator)

    cloaked = image.copy()
    for problem in workable:
        left, top, right, bottom = problem.window
        cloaked[top:bottom, left:right] = problem.fit_budget(budget)
    share = (time.perf_counter() - start) / max(1, len(workable))
    return cloaked, tuple(problem.record(cloaked, recognizers, share) for problem in problems)


def _optimise(
    problems: list[FaceProblem],
    recognizers: list[TorchRecognizer],
    settings: CloakMode,
    budget: float,
    robust: bool,
    generator: torch.Generator,
) -> None:
    """Adam on every face's perturbation at once; a face leaves the batch when its goal holds."""
    if not problems:
        return
    optimiser = torch.optim.Adam([p.perturbation for p in problems], lr=settings.learning_rate)
    goals = torch.tensor([_goal(r.name, settings.goal) for r in recognizers])
    active = list(problems)
    for _ in range(settings.max_steps):
        transform = sample_transform(generator) if robust else PlatformTransform()
        mirror = bool(torch.rand((), generator=generator) < 0.5)
        crops = [p.crops(p.perturbed_window(), recognizers, transform) for p in active]
        scores = []  # per model, (faces,): what the step lowers
        for column, recognizer in enumerate(recognizers):
            pixels = torch.cat([c[column] for c in crops])
            features = recognizer.features(pixels.flip(dims=[3]) if mirror else pixels, flip=False)
            score = (features * torch.stack([p.clean[column] for p in active])).sum(dim=1)
            if active[0].target is not None:
                target = torch.stack([p.target[column] for p in active])  # type: ignore[index]
                score = score - (features * target).sum(dim=1)
            scores.append(score)
        similarities = torch.stack(scores, dim=1)  # (faces, models)
        loss = (_lagging_weights(similarities.detach(), goals) * similarities).sum()
        for problem in active:
            over = functional.relu(problem.guarded_dssim() - PENALTY_FROM * budget)
            loss = loss + BUDGET_WEIGHT * over.sum()
        optimiser.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        optimiser.step()

        reached = (similarities.detach() <= goals).all(dim=1)
        for problem, ok in zip(active, reached.tolist(), strict=True):
            problem.steps += 1
            problem.streak = problem.streak + 1 if ok else 0
        active = [p for p in active if p.streak < CONFIRM_STEPS]
        if not active:
            return


def _lagging_weights(scores: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
    """Per face, more weight on the recognizers furthest from their goals (weights sum to the model count).

    An even sum lets the easiest recognizer run far past its goal while the
    hardest lags: on CelebA at mid, FaceNet reached -0.23 and SFace -0.11.
    """
    return scores.shape[1] * torch.softmax((scores - goals) / LAGGING_TEMPERATURE, dim=1)


def _goal(model: str, offset: float) -> float:
    from veil.match import load_calibration

    return load_calibration(model).threshold(GOAL_FAR) - offset


@dataclass(eq=False)
class FaceProblem:
    """One face's optimisation: its window, surroundings, clean embeddings and perturbation."""

    face: Face
    window: tuple[int, int, int, int]
    cloakable: bool
    guards: tuple[_Guard, ...] = ()
    context: tuple[int, int, int, int] = (0, 0, 0, 0)
    surroundings: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    original: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    original_pixels: Image = field(default_factory=lambda: np.zeros((0, 0, 3), np.uint8))
    base: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    matrices: list[torch.Tensor] = field(default_factory=list)
    clean: list[torch.Tensor] = field(default_factory=list)
    target: list[torch.Tensor] | None = None
    perturbation: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    steps: int = 0
    streak: int = 0

    @classmethod
    def build(
        cls,
        image: Image,
        face: Face,
        faces: Sequence[Face],
        recognizers: list[TorchRecognizer],
        target: Target | None,
    ) -> FaceProblem:
        window = _grown_box(face, WINDOW_EXPAND, image.shape)
        left, top, right, bottom = window
        if min(face.width, face.height) < MIN_FACE_SIDE or min(right - left, bottom - top) < SSIM_WINDOW:
            return cls(face=face, window=window, cloakable=False)
        context = _grown_box(face, CONTEXT_EXPAND, image.shape)
        c_left, c_top, c_right, c_bottom = context
        surroundings = _to_tensor(image[c_top:c_bottom, c_left:c_right])
        original_pixels = image[top:bottom, left:right]
        original = _to_tensor(original_pixels)
        # Clamped away from 0 and 255, where atanh is infinite; the half-level shift rounds away.
        base = torch.atanh(original.clamp(0.5, 254.5) / 127.5 - 1.0)
        scale = min(1.0, MAX_PERTURBATION_SIDE / max(right - left, bottom - top))
        grid = (max(1, round((bottom - top) * scale)), max(1, round((right - left) * scale)))
        matrices, clean = [], []
        for recognizer in recognizers:
            matrix = alignment_matrix(
                face, size=recognizer.input_size, template=recognizer.template, margin=recognizer.margin
            )
            matrix = matrix.copy()
            matrix[:, 2] += matrix[:, :2] @ np.array([c_left, c_top], dtype=np.float64)  # context coordinates
            matrices.append(torch.tensor(matrix, dtype=torch.float32))
            clean.append(torch.from_numpy(recognizer.embed([recognizer.crop(image, face)])[0]))
        return cls(
            face=face,
            window=window,
            cloakable=True,
            guards=_guards(image, window, faces),
            context=context,
            surroundings=surroundings,
            original=original,
            original_pixels=original_pixels,
            base=base,
            matrices=matrices,
            clean=clean,
            target=[torch.from_numpy(target.embeddings[r.name]) for r in recognizers] if target else None,
            perturbation=torch.zeros((1, 3, *grid), requires_grad=True),
        )

    def perturbed_window(self, strength: float = 1.0) -> torch.Tensor:
        """The window's pixels (1, 3, h, w), 0-255, with ``strength`` times the perturbation."""
        offset = functional.interpolate(
            self.perturbation, size=self.original.shape[2:], mode="bilinear", align_corners=False
        )
        return 127.5 * (torch.tanh(self.base + strength * offset) + 1.0)

    def crops(
        self, window: torch.Tensor, recognizers: list[TorchRecognizer], transform: PlatformTransform
    ) -> list[torch.Tensor]:
        """Each recognizer's aligned crop of the face with ``window`` pasted in, after ``transform``."""
        import kornia

        left, top = self.window[0] - self.context[0], self.window[1] - self.context[1]
        height, width = self.surroundings.shape[2:]
        change = functional.pad(
            window - self.original,
            (left, width - left - window.shape[3], top, height - top - window.shape[2]),
        )
        seen = transform(self.surroundings + change)
        from_seen = _resize_matrix((height, width), seen.shape[2:])
        crops = []
        for recognizer, matrix in zip(recognizers, self.matrices, strict=True):
            size = recognizer.input_size
            crops.append(
                kornia.geometry.transform.warp_affine(
                    seen,
                    (matrix @ from_seen)[None],
                    (size, size),
                    mode="bilinear",
                    padding_mode="border",
                    align_corners=True,
                )
            )
        return crops

    def guarded_dssim(self) -> torch.Tensor:
        """Differentiable DSSIM of each guarded region with the perturbed window in it."""
        change = self.perturbed_window() - self.original
        return torch.stack([guard.dssim(change) for guard in self.guards])

    def fit_budget(self, budget: float) -> Image:
        """The perturbed window as saved (``uint8``), scaled down if needed to keep within ``budget``."""
        with torch.no_grad():
            full = _to_image(self.perturbed_window())
            if self.dissimilarity(full) <= budget:
                return full
            low, high, best = 0.0, 1.0, self.original_pixels
            for _ in range(_BUDGET_SEARCH_STEPS):
                middle = (low + high) / 2
                candidate = _to_image(self.perturbed_window(middle))
                if self.dissimilarity(candidate) <= budget:
                    low, best = middle, candidate
                else:
                    high = middle
            return best

    def dissimilarity(self, window: Image) -> float:
        """The largest DSSIM over the guarded regions with ``window`` (as saved) in place."""
        return max(guard.saved_dssim(window) for guard in self.guards)

    def record(self, cloaked: Image, recognizers: list[TorchRecognizer], seconds: float) -> FaceCloak:
        """What happened to this face, measured on the saved photo."""
        if not self.cloakable:
            return FaceCloak(face=self.face, cloaked=False, window=self.window)
        left, top, right, bottom = self.window
        saved = cloaked[top:bottom, left:right]
        similarity = {
            recognizer.name: float(recognizer.embed([recognizer.crop(cloaked, self.face)])[0] @ clean.numpy())
            for recognizer, clean in zip(recognizers, self.clean, strict=True)
        }
        return FaceCloak(
            face=self.face,
            cloaked=True,
            window=self.window,
            steps=self.steps,
            goal_reached=self.streak >= CONFIRM_STEPS,
            dssim=self.dissimilarity(saved),
            psnr=psnr(self.original_pixels, saved),
            similarity=similarity,
            seconds=seconds,
        )


def _grown_box(face: Face, grow: float, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """``face``'s box grown by ``grow`` of its size on every side, in whole pixels inside the image."""
    x1, y1, x2, y2 = face.box
    dx, dy = grow * face.width, grow * face.height
    height, width = shape[:2]
    return (
        max(0, int(np.floor(x1 - dx))),
        max(0, int(np.floor(y1 - dy))),
        min(width, int(np.ceil(x2 + dx))),
        min(height, int(np.ceil(y2 + dy))),
    )


@dataclass(frozen=True, eq=False)
class _Guard:
    """A region of the photo the budget holds on, and the part of the face window inside it.

    Attributes:
        original: The region's pixels before the cloak.
        inside: Rows and columns of the window that lie in the region (window coordinates).
        at: Where those pixels lie in the region (region coordinates).
    """

    original: Image
    inside: tuple[slice, slice]
    at: tuple[slice, slice]

    def saved_dssim(self, window: Image) -> float:
        edited = self.original.copy()
        edited[self.at] = window[self.inside]
        return dssim(self.original, edited)

    def dssim(self, change: torch.Tensor) -> torch.Tensor:
        """Differentiable DSSIM of the region with ``change`` (1, 3, h, w) of the window added."""
        from pytorch_msssim import ssim

        original = _to_tensor(self.original)
        height, width = self.original.shape[:2]
        rows, cols = self.at
        part = change[:, :, self.inside[0], self.inside[1]]
        placed = functional.pad(part, (cols.start, width - cols.stop, rows.start, height - rows.stop))
        similarity = ssim(original + placed, original, data_range=255.0, win_size=SSIM_WINDOW)
        dissimilarity: torch.Tensor = (1.0 - similarity) / 2.0
        return dissimilarity


def _guards(image: Image, window: tuple[int, int, int, int], faces: Sequence[Face]) -> tuple[_Guard, ...]:
    """The window with a margin of half an SSIM window, and every face box region that overlaps it."""
    left, top, right, bottom = window
    margin = SSIM_WINDOW // 2
    regions = [region_bounds((left - margin, top - margin, right + margin, bottom + margin), image.shape)]
    regions += [region_bounds(face.box, image.shape) for face in faces]
    guards = []
    for r_left, r_top, r_right, r_bottom in regions:
        x1, y1, x2, y2 = max(left, r_left), max(top, r_top), min(right, r_right), min(bottom, r_bottom)
        if x1 < x2 and y1 < y2:
            guards.append(
                _Guard(
                    original=image[r_top:r_bottom, r_left:r_right],
                    inside=(slice(y1 - top, y2 - top), slice(x1 - left, x2 - left)),
                    at=(slice(y1 - r_top, y2 - r_top), slice(x1 - r_left, x2 - r_left)),
                )
            )
    return tuple(guards)


def _resize_matrix(before: tuple[int, int], after: torch.Size) -> torch.Tensor:
    """3x3 map from pixel coordinates of an image resized to ``after`` back to its size ``before``."""
    scale_y, scale_x = after[0] / before[0], after[1] / before[1]
    # Pixel centres: x' + 0.5 = (x + 0.5) * scale.
    return torch.tensor(
        [[scale_x, 0.0, 0.5 * scale_x - 0.5], [0.0, scale_y, 0.5 * scale_y - 0.5], [0.0, 0.0, 1.0]]
    ).inverse()


def _to_tensor(pixels: Image) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None].float()


def _to_image(pixels: torch.Tensor) -> Image:
    return np.asarray(pixels[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())
