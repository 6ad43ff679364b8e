"""The protection card of one cloaked photo: does the cloak work, and does it show?

A person cloaking a photo wants to see that it worked. For every face, the card
compares the clean and the cloaked face as each of veil's recognizers sees
them (the ones the cloak was made with, and the ones it was not: black-box),
with the verification decision at the default false accept rate, after each
countermeasure a platform might apply; and it gives the visual cost (DSSIM,
PSNR) and a before/after view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from veil.cloak._results import Cloaked
from veil.quality import quality
from veil.types import Image

__all__ = ["FaceCheck", "ProtectionCard", "protection_card"]


@dataclass(frozen=True, slots=True)
class FaceCheck:
    """How one recognizer compares a clean face with its cloaked version after one countermeasure.

    Attributes:
        face: Index of the face among the cloaked ones (``Cloaked.faces`` less those too small).
        recognizer: The recognizer's name.
        white_box: Whether the cloak was optimised against it.
        countermeasure: A key of ``veil.evaluate.COUNTERMEASURES``.
        score: Cosine similarity of the two embeddings.
        same_person: The verification decision at ``veil.match.DEFAULT_FAR``:
            True means the recognizer still matches the cloaked face to the person.
    """

    face: int
    recognizer: str
    white_box: bool
    countermeasure: str
    score: float
    same_person: bool


@dataclass(frozen=True, slots=True)
class ProtectionCard:
    """A cloaked photo's checks and quality; ``to_dict`` is its JSON, ``html`` its page."""

    cloaked: Cloaked
    checks: tuple[FaceCheck, ...]
    quality: dict[str, float | None]
    html: str

    @property
    def protected(self) -> bool:
        """No recognizer matches any cloaked face to its person, whatever the countermeasure."""
        return not any(check.same_person for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protected": self.protected,
            "cloak": self.cloaked.to_dict(),
            "quality": self.quality,
            "checks": [
                {
                    "face": c.face,
                    "recognizer": c.recognizer,
                    "white_box": c.white_box,
                    "countermeasure": c.countermeasure,
                    "score": c.score,
                    "same_person": c.same_person,
                }
                for c in self.checks
            ],
        }


def protection_card(original: Image, cloaked: Cloaked, *, recognizers: Sequence[str] = ()) -> ProtectionCard:
    """Check ``cloaked`` against ``original`` with every recognizer (default: all of veil's)."""
    from veil.embed import RECOGNIZERS, embed
    from veil.evaluate import COUNTERMEASURES
    from veil.match import DEFAULT_FAR, load_calibration

    names = list(recognizers) or list(RECOGNIZERS)
    faces = [record.face for record in cloaked.faces if record.cloaked]
    checks = []
    for name in names:
        threshold = load_calibration(name).threshold(DEFAULT_FAR)
        clean = embed(original, faces, model=name)
        for countermeasure, apply in COUNTERMEASURES.items():
            seen = embed(apply(cloaked.image), faces, model=name)
            for index, score in enumerate((clean * seen).sum(axis=1).tolist()):
                checks.append(
                    FaceCheck(
                        face=index,
                        recognizer=name,
                        white_box=name in cloaked.models,
                        countermeasure=countermeasure,
                        score=float(score),
                        same_person=score >= threshold,
                    )
                )
    whole = quality(original, cloaked.image).to_dict()
    page = _page(original, cloaked, checks, whole)
    return ProtectionCard(cloaked=cloaked, checks=tuple(checks), quality=whole, html=page)


def _page(original: Image, cloaked: Cloaked, checks: list[FaceCheck], whole: dict[str, float | None]) -> str:
    from veil.evaluate import CardImage, CardSection, CardTable, before_after, render_card
    from veil.match import DEFAULT_FAR

    matched = [c for c in checks if c.same_person]
    verdict = (
        "No recognizer matches a cloaked face to its person, with or without the countermeasures."
        if not matched
        else f"{len(matched)} of {len(checks)} checks still match a cloaked face to its person."
    )
    summary = CardSection(
        "Summary",
        paragraphs=(
            verdict,
            f"Mode {cloaked.mode}, DSSIM budget {cloaked.budget:g} per face; made against "
            f"{', '.join(cloaked.models)} (white-box); other recognizers are black-box. "
            f"Decisions are at a false accept rate of {DEFAULT_FAR:g}.",
            f"Whole photo: SSIM {whole['ssim']:.4f}, DSSIM {whole['dssim']:.5f}, PSNR "
            + (f"{whole['psnr']:.1f} dB." if whole["psnr"] is not None else "infinite (unchanged)."),
        ),
    )
    table = CardTable(
        header=("face", "recognizer", "box", "countermeasure", "score", "same person?"),
        rows=tuple(
            (
                str(c.face),
                c.recognizer,
                "white" if c.white_box else "black",
                c.countermeasure,
                f"{c.score:.3f}",
                "yes" if c.same_person else "no",
            )
            for c in checks
        ),
    )
    faces = [
        CardImage.of(
            before_after(_crop(original, record.window), _crop(cloaked.image, record.window)),
            f"face {index}: before / after; DSSIM {record.dssim:.4f}, PSNR {record.psnr:.1f} dB, "
            f"{record.steps} steps, {record.seconds:.1f} s",
        )
        for index, record in enumerate(r for r in cloaked.faces if r.cloaked)
    ]
    return render_card(
        "veil protection card",
        [
            summary,
            CardSection("Recognizers, clean against cloaked", table=table),
            CardSection("Faces", images=tuple(faces)),
            CardSection(
                "Photo", images=(CardImage.of(before_after(original, cloaked.image, height_px=320)),)
            ),
        ],
    )


def _crop(image: Image, window: tuple[int, int, int, int]) -> Image:
    left, top, right, bottom = window
    return image[top:bottom, left:right]
