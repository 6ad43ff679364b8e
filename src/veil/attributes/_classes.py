"""The soft-biometric attributes veil reads and hides, and their classes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["AGE_GROUPS", "ATTRIBUTES", "JUDGES", "age_group", "choose_targets"]

AGE_GROUPS = ((0, 17), (18, 29), (30, 44), (45, 59), (60, 200))
"""Inclusive age ranges, in years, of the age classes."""

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "gender": ("male", "female"),
    "age": ("0-17", "18-29", "30-44", "45-59", "60+"),
    "race": ("White", "Black", "Asian", "Indian", "Others"),
}
"""Attribute name to its class names, in the order of UTKFace's labels (gender 0 male, 1 female;
race 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others) and of ``AGE_GROUPS``."""

JUDGES = ("sface", "facenet", "dlib")
"""The recognizers that carry attribute heads; each recognizer's heads form one judge."""


def age_group(age: int) -> int:
    """The index of the age class (``ATTRIBUTES["age"]``) that ``age`` years falls in.

    Raises:
        ValueError: A negative age.
    """
    if age < 0:
        raise ValueError(f"an age cannot be negative, got {age}")
    return next(index for index, (low, high) in enumerate(AGE_GROUPS) if low <= age <= high or high == 200)


def choose_targets(
    wanted: Mapping[str, str | None],
    chance: bool,
    reads: Sequence[Mapping[str, NDArray[np.floating]]],
    readable: Mapping[str, NDArray[np.bool_]],
) -> dict[str, int | None]:
    """The class index to push each wanted attribute towards; None pushes it towards chance.

    Args:
        wanted: Attribute to the class asked for, or None for "any other".
        chance: Push every attribute towards a uniform read instead.
        reads: Each judge's clean probabilities per attribute, (faces, classes).
            Without a class asked for, the target is the class the judges, on
            average over the faces, find third likeliest (the other class where
            there are only two). Their two likeliest classes hold the truth for
            98% of the held-back UTKFace faces' age groups and 94.5% of their
            race groups, so pushing a face to its runner-up read would show its
            true class whenever the judges misread it (17% of faces for age);
            the third is the nearest class that is rarely the truth (2% and
            4.3%), and unlike the least likely class (age 60+, a few
            centenarians in the training data) the perturbation can reach it.
        readable: Per attribute, the classes every judge can read
            (``AttributeJudge.readable``); the others are never targets.

    Raises:
        InputError: A class asked for that some judge cannot read.
    """
    from veil.errors import InputError

    targets: dict[str, int | None] = {}
    for attribute, value in wanted.items():
        if chance:
            targets[attribute] = None
        elif value is not None:
            index = ATTRIBUTES[attribute].index(value)
            if not readable[attribute][index]:
                raise InputError(
                    "<hide>",
                    f"{attribute}={value}: the judges never read this class (none in their training data)",
                )
            targets[attribute] = index
        else:
            mean = np.mean([read[attribute].mean(axis=0) for read in reads], axis=0)
            likeliest_first = np.argsort(-np.where(readable[attribute], mean, -np.inf), kind="stable")
            targets[attribute] = int(likeliest_first[min(2, int(readable[attribute].sum()) - 1)])
    return targets
