"""How far attribute hiding may change a face, and how hard it pushes."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_HIDE_JUDGES", "HIDE_MODES", "KEEP_COSINE", "HideMode", "parse_hide"]


@dataclass(frozen=True, slots=True)
class HideMode:
    """The settings of one way of hiding attributes.

    Attributes:
        budget: Hard limit on DSSIM over the face window and every face box it
            touches (as for ``veil.cloak``); no output exceeds it.
        max_steps: Optimisation steps per face at most.
        learning_rate: Adam's step size, in the tanh parameterisation.
        margin: How far past the decision boundary each white-box judge must read
            the target class, in logits (log odds against the runner-up): a
            larger margin transfers better to judges not used in the optimisation.
        robust: Optimise through random JPEG, resizing and blur (``veil.cloak``'s transforms).
    """

    budget: float
    max_steps: int
    learning_rate: float
    margin: float
    robust: bool


HIDE_MODES: dict[str, HideMode] = {
    "imperceptible": HideMode(budget=0.01, max_steps=60, learning_rate=0.01, margin=3.0, robust=False),
    "visible": HideMode(budget=0.05, max_steps=80, learning_rate=0.03, margin=6.0, robust=True),
}
"""Measured by ``benchmarks/attributes.py`` (2026-11-30; 40 held-back UTKFace photos, 20 CelebA people),
hiding gender: imperceptible: white-box accuracy 15%, black-box (dlib) 55%, TAR at FAR 1e-3 kept at 95%
(sface) of its clean value, 4 s per face; visible: white-box 15%, black-box 42.5%, TAR 93% (sface),
14 s per face. Race and age behave alike (white-box 0-12.5%, black-box 27.5-62.5%, towards the judges'
third likeliest class), age at more cost to identity (TAR kept 82-93% imperceptible). Black-box transfer
comes mostly from children's faces; on adults (CelebA) dlib's read rarely moves."""

DEFAULT_HIDE_JUDGES = ("sface", "facenet")
"""The white-box ensemble; the dlib judge is kept out as the black-box test (it is not differentiable)."""

KEEP_COSINE = 0.9
"""With ``keep_identity``, each white-box recognizer's cosine between the protected and the clean face
is kept at or above this (single-orientation crops against flip-averaged ones: ~0.97 for a clean face).
On CelebA dev (``benchmarks/attributes.py``, imperceptible) 0.85 kept facenet's TAR at FAR 1e-3 at only
84% of its clean value; 0.9 keeps every recognizer near 90% and still fools the black-box judge."""


def parse_hide(hide: str | tuple[str, ...] | list[str], *, chance: bool = False) -> dict[str, str | None]:
    """Attribute name to the class to push it towards (None: see ``choose_targets``) from ``hide``.

    ``hide`` holds attribute names, each optionally with ``=CLASS``:
    ``"gender,age=60+"`` or ``["gender", "age=60+"]``. With ``chance`` (every
    attribute pushed towards a uniform read) no class may be named.

    Raises:
        InputError: An unknown attribute or class, nothing to hide, or a class named with ``chance``.
    """
    from veil.attributes._classes import ATTRIBUTES
    from veil.errors import InputError

    items = hide.split(",") if isinstance(hide, str) else list(hide)
    wanted: dict[str, str | None] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, _, value = item.partition("=")
        if name not in ATTRIBUTES:
            raise InputError("<hide>", f"unknown attribute {name!r}; choose from {', '.join(ATTRIBUTES)}")
        if value and value not in ATTRIBUTES[name]:
            choices = ", ".join(ATTRIBUTES[name])
            raise InputError("<hide>", f"{name} has no class {value!r}; choose one of {choices}")
        if value and chance:
            raise InputError("<hide>", f"{item}: a class to show and chance (no class) contradict")
        wanted[name] = value or None
    if not wanted:
        raise InputError("<hide>", f"name at least one attribute to hide ({', '.join(ATTRIBUTES)})")
    return wanted
