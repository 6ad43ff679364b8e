"""The soft-biometric attributes veil reads and hides, and their classes."""

from __future__ import annotations

__all__ = ["AGE_GROUPS", "ATTRIBUTES", "JUDGES", "age_group"]

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
