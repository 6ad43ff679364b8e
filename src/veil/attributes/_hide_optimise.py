"""The objective and loop of ``veil.attributes.hide_attributes`` (torch; imported when first used)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch.nn import functional

from veil.attributes._classes import ATTRIBUTES, choose_targets
from veil.attributes._hide import FaceHidden
from veil.attributes._judges import AttributeJudge, readable_classes
from veil.attributes._modes import KEEP_COSINE, HideMode
from veil.cloak._optimise import BUDGET_WEIGHT, CONFIRM_STEPS, PENALTY_FROM, FaceProblem
from veil.cloak._transforms import PlatformTransform, sample_transform
from veil.quality import psnr
from veil.types import Image

__all__ = ["Goal", "optimise", "record"]

IDENTITY_WEIGHT = 20.0
"""Loss per unit of cosine below ``KEEP_COSINE``; large enough that identity wins over the attribute push."""
CHANCE_TOLERANCE = 0.1
"""With ``chance``, an attribute counts as hidden once no class is more than this above 1 / K."""


@dataclass(frozen=True)
class Goal:
    """One face's targets: attribute to class index (None for chance), and the clean reads."""

    targets: dict[str, int | None]
    before: dict[str, dict[str, str]]

    @classmethod
    def build(
        cls,
        problem: FaceProblem,
        models: list[AttributeJudge],
        wanted: dict[str, str | None],
        chance: bool,
    ) -> Goal:
        reads = [
            model.probabilities(problem.clean[column].numpy()[None]) for column, model in enumerate(models)
        ]
        targets = choose_targets(wanted, chance, reads, readable_classes(models))
        before = {
            model.name: {a: ATTRIBUTES[a][int(np.argmax(r[a][0]))] for a in ATTRIBUTES}
            for model, r in zip(models, reads, strict=True)
        }
        return cls(targets=targets, before=before)


def chance_loss(logits: torch.Tensor, readable: NDArray[np.bool_]) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, done) per row of (N, K) logits pushed towards a uniform read of the ``readable`` classes.

    The loss is KL(uniform || p) over those classes; a row is done once none of
    them is read more than ``CHANCE_TOLERANCE`` above 1 / (their count).
    """
    log_p = functional.log_softmax(logits[:, torch.from_numpy(readable)], dim=1)
    count = log_p.shape[1]
    done = (log_p.exp().max(dim=1).values - 1.0 / count) <= CHANCE_TOLERANCE
    return -log_p.mean(dim=1) - np.log(count), done


def _attribute_loss(
    logits: torch.Tensor, targets: list[int | None], margin: float, readable: NDArray[np.bool_]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss per face, done per face) for one attribute's (faces, K) logits."""
    losses, done = [], []
    for row, target in enumerate(targets):
        row_logits = logits[row]
        if target is None:
            loss, ok = chance_loss(row_logits[None], readable)
            losses.append(loss[0])
            done.append(ok[0])
        else:
            others = torch.cat([row_logits[:target], row_logits[target + 1 :]])
            lead = row_logits[target] - others.max()
            losses.append(functional.relu(margin - lead))
            done.append(lead >= margin)
    return torch.stack(losses), torch.stack(done)


def optimise(
    problems: list[FaceProblem],
    goals: list[Goal],
    models: list[AttributeJudge],
    recognizers: list[Any],
    settings: HideMode,
    budget: float,
    keep_identity: bool,
    generator: torch.Generator,
) -> None:
    """Adam on every face's perturbation at once; a face leaves the batch once its goals hold."""
    if not problems:
        return
    optimiser = torch.optim.Adam([p.perturbation for p in problems], lr=settings.learning_rate)
    active = list(zip(problems, goals, strict=True))
    for _ in range(settings.max_steps):
        transform = sample_transform(generator) if settings.robust else PlatformTransform()
        mirror = bool(torch.rand((), generator=generator) < 0.5)
        crops = [p.crops(p.perturbed_window(), recognizers, transform) for p, _ in active]
        loss = torch.zeros(())
        done = torch.ones(len(active), dtype=torch.bool)
        for column, (model, recognizer) in enumerate(zip(models, recognizers, strict=True)):
            pixels = torch.cat([c[column] for c in crops])
            features = recognizer.features(pixels.flip(dims=[3]) if mirror else pixels, flip=False)
            for attribute in active[0][1].targets:
                targets = [g.targets[attribute] for _, g in active]
                part, ok = _attribute_loss(
                    model.logits(features, attribute), targets, settings.margin, model.readable(attribute)
                )
                loss = loss + part.sum()
                done &= ok
            if keep_identity:
                cosine = (features * torch.stack([p.clean[column] for p, _ in active])).sum(dim=1)
                loss = loss + IDENTITY_WEIGHT * functional.relu(KEEP_COSINE - cosine).sum()
                done &= cosine >= KEEP_COSINE
        for problem, _ in active:
            over = functional.relu(problem.guarded_dssim() - PENALTY_FROM * budget)
            loss = loss + BUDGET_WEIGHT * over.sum()
        optimiser.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        optimiser.step()
        for (problem, _), ok in zip(active, done.tolist(), strict=True):
            problem.steps += 1
            problem.streak = problem.streak + 1 if ok else 0
        active = [(p, g) for p, g in active if p.streak < CONFIRM_STEPS]
        if not active:
            return


def record(
    problem: FaceProblem,
    goal: Goal | None,
    protected: Image,
    models: list[AttributeJudge],
    seconds: float,
) -> FaceHidden:
    """What happened to one face, measured on the saved photo."""
    if not problem.cloakable or goal is None:
        return FaceHidden(face=problem.face, hidden=False, window=problem.window)
    left, top, right, bottom = problem.window
    saved = protected[top:bottom, left:right]
    after, similarity = {}, {}
    for model, clean in zip(models, problem.clean, strict=True):
        recognizer = model.recognizer
        embedding = recognizer.embed([recognizer.crop(protected, problem.face)])
        similarity[model.name] = float(embedding[0] @ clean.numpy())
        read = model.probabilities(embedding)
        after[model.name] = {a: ATTRIBUTES[a][int(np.argmax(read[a][0]))] for a in ATTRIBUTES}
    return FaceHidden(
        face=problem.face,
        hidden=True,
        window=problem.window,
        targets={a: "chance" if t is None else ATTRIBUTES[a][t] for a, t in goal.targets.items()},
        before=goal.before,
        after=after,
        similarity=similarity,
        steps=problem.steps,
        goal_reached=problem.streak >= CONFIRM_STEPS,
        dssim=problem.dissimilarity(saved),
        psnr=psnr(problem.original_pixels, saved),
        seconds=seconds,
    )
