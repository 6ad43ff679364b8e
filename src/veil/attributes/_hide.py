"""Hide soft biometrics (PrivacyNet-style): perturb faces so attribute judges misread them.

For each face, a perturbation of a window around it is optimised with Adam
against an ensemble of white-box judges (``veil.attributes.get_judge``): each
hidden attribute's logits are pushed until the target class leads the runner-up
by ``HideMode.margin`` (or, with ``chance``, towards a uniform distribution),
while with ``keep_identity`` each white-box recognizer's embedding of the face
stays within ``KEEP_COSINE`` of the clean one, so that face matching still
accepts the person. Gender is close to a linear direction in these embedding
spaces, so the embedding can move along it at little cost in cosine.

The optimisation machinery is ``veil.cloak``'s: the face window, the
differentiable alignment into every recognizer's crop, the DSSIM guards over
the window and every face box it touches, and the final scaling into the budget
(``veil.cloak._optimise.FaceProblem``). Only the objective differs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from veil.attributes._judges import get_judge
from veil.attributes._modes import DEFAULT_HIDE_JUDGES, HIDE_MODES, parse_hide
from veil.types import Face, Image

__all__ = ["AttributesHidden", "FaceHidden", "hide_attributes"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FaceHidden:
    """What attribute hiding did to one face.

    Attributes:
        face: The face, as detected in the original photo.
        hidden: False when the face was too small to work on (``veil.cloak``'s ``MIN_FACE_SIDE``).
        window: (left, top, right, bottom): every changed pixel lies inside.
        targets: Attribute to the class it was pushed towards (``"chance"`` for a uniform read).
        before: White-box judge to attribute to the class it read on the clean face.
        after: The same, read on the saved photo.
        similarity: White-box recognizer to the cosine between the protected and the clean face.
        steps: Optimisation steps taken.
        goal_reached: Whether every white-box judge read the targets (and identity held) before the
            last step.
        dssim: DSSIM of the saved window (the largest over the guarded regions).
        psnr: PSNR of the saved window in dB.
        seconds: Time spent on this face (its share of a batch).
    """

    face: Face
    hidden: bool
    window: tuple[int, int, int, int]
    targets: dict[str, str] = field(default_factory=dict)
    before: dict[str, dict[str, str]] = field(default_factory=dict)
    after: dict[str, dict[str, str]] = field(default_factory=dict)
    similarity: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    goal_reached: bool = False
    dssim: float = 0.0
    psnr: float = float("inf")
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the CLI's ``--json`` lines and reports."""
        return {
            "face": self.face.to_dict(),
            "hidden": self.hidden,
            "window": list(self.window),
            "targets": self.targets,
            "before": self.before,
            "after": self.after,
            "similarity": {k: round(v, 4) for k, v in self.similarity.items()},
            "steps": self.steps,
            "goal_reached": self.goal_reached,
            "dssim": round(self.dssim, 5),
            "psnr": round(self.psnr, 2) if np.isfinite(self.psnr) else None,
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True, slots=True)
class AttributesHidden:
    """A photo with attributes hidden, and what was done to each face.

    Attributes:
        image: The protected photo (RGB ``uint8``); pixels outside the face windows are unchanged.
        faces: One record per face found.
        hide: The attributes hidden.
        judges: The white-box judges optimised against.
        budget: The DSSIM limit that held.
        keep_identity: Whether the recognizers' cosines were held at ``KEEP_COSINE``.
    """

    image: Image
    faces: tuple[FaceHidden, ...]
    hide: tuple[str, ...]
    judges: tuple[str, ...]
    budget: float
    keep_identity: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without the pixels)."""
        return {
            "hide": list(self.hide),
            "judges": list(self.judges),
            "budget": self.budget,
            "keep_identity": self.keep_identity,
            "faces": [face.to_dict() for face in self.faces],
        }


def hide_attributes(
    image: Image,
    *,
    hide: str | Sequence[str] = ("gender",),
    faces: Sequence[Face] | None = None,
    visible: bool = False,
    keep_identity: bool = True,
    chance: bool = False,
    judges: Sequence[str] = DEFAULT_HIDE_JUDGES,
    budget: float | None = None,
    seed: int = 0,
    detector: str = "auto",
    threshold: float | None = None,
) -> AttributesHidden:
    """A copy of the photo in which attribute judges misread the chosen attributes of every face.

    Args:
        image: RGB ``uint8`` photo (not modified).
        hide: Attributes to hide (``veil.attributes.ATTRIBUTES``), each optionally
            with the class to show instead: ``"gender,age=60+"``. Without a class,
            each face is pushed towards the class the judges find third likeliest
            for it (the other gender), as PrivacyNet turns attributes over: not
            their runner-up, which is often the truth when they misread the
            face (see ``veil.attributes._classes.choose_targets``); a class the
            judges never learned (age 45-59 here) is never a target.
        faces: The faces to protect; None finds them with ``detector``.
        visible: Allow a visible pattern (``HIDE_MODES["visible"]``: DSSIM 0.05,
            robust to re-compression) that transfers better to judges that were
            not optimised against; the default is imperceptible (DSSIM 0.01).
        keep_identity: Keep every white-box recognizer's embedding within
            ``KEEP_COSINE`` of the clean face's, so that face matching still
            accepts the person. Off, only the budget limits the change.
        chance: Push each hidden attribute towards a uniform read (every class
            equally likely) instead of towards a wrong class.
        judges: The white-box judges (differentiable recognizers' heads).
        budget: DSSIM limit per face; default the mode's.
        seed: Seeds the random transformations and mirroring of the optimisation.
        detector: See ``veil.detect.detect``, as is ``threshold``.
        threshold: See ``detector``.

    Raises:
        InputError: Unknown attribute or class in ``hide``, or a class named with ``chance``.
        VeilError: A judge that is not differentiable (dlib) or no judge, or a budget outside (0, 0.5).
        UnknownModelError: Unknown judge or detector.
    """
    import torch

    from veil.attributes._hide_optimise import Goal, optimise, record
    from veil.cloak import check_budget
    from veil.cloak._optimise import FaceProblem, white_box_recognizers

    wanted = parse_hide(hide if isinstance(hide, str) else tuple(hide), chance=chance)
    settings = HIDE_MODES["visible" if visible else "imperceptible"]
    budget = settings.budget if budget is None else budget
    check_budget(budget)
    if faces is None:
        from veil.detect import detect

        faces = detect(image, detector=detector, threshold=threshold)
    models = [get_judge(name) for name in judges]
    recognizers = white_box_recognizers(list(judges))
    start = time.perf_counter()
    problems = [FaceProblem.build(image, face, faces, recognizers, None) for face in faces]
    workable = [p for p in problems if p.cloakable]
    goals = [Goal.build(p, models, wanted, chance) for p in workable]
    generator = torch.Generator().manual_seed(seed)
    optimise(workable, goals, models, recognizers, settings, budget, keep_identity, generator)

    protected = image.copy()
    for problem in workable:
        left, top, right, bottom = problem.window
        protected[top:bottom, left:right] = problem.fit_budget(budget)
    share = (time.perf_counter() - start) / max(1, len(workable))
    records = []
    for problem in problems:
        goal = next((g for p, g in zip(workable, goals, strict=True) if p is problem), None)
        records.append(record(problem, goal, protected, models, share))
    return AttributesHidden(
        image=protected,
        faces=tuple(records),
        hide=tuple(wanted),
        judges=tuple(judges),
        budget=budget,
        keep_identity=keep_identity,
    )
