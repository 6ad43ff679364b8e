"""Self-contained HTML cards: one file a person can open, mail or archive, with nothing to fetch.

The CSS is inline and every image is a base64 PNG data URI, so a card shows the
same offline, in a mail client or years later. Every piece of text is escaped
here, so callers pass plain strings: a photo named ``<b>.jpg`` stays text.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

import numpy as np

from veil.io import check_image
from veil.types import Image

__all__ = ["CardImage", "CardSection", "CardTable", "before_after", "render_card"]

_GAP_PX = 4

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; } td { font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0.5em 1em 0.5em 0; vertical-align: top; }
figcaption { font-size: 0.85em; color: #555; max-width: 30em; }
img { max-width: 100%; }
"""


@dataclass(frozen=True, slots=True)
class CardTable:
    """A table of text: a header row and body rows of the same length."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class CardImage:
    """An image to embed, as PNG bytes (a saved matplotlib figure, or :meth:`of` an array)."""

    png: bytes
    caption: str = ""

    @classmethod
    def of(cls, image: Image, caption: str = "") -> CardImage:
        """An RGB ``uint8`` array, encoded as PNG (lossless, so a cloak's pixels show as they are).

        Raises:
            InputError: ``image`` is not an RGB ``uint8`` (H, W, 3) array.
        """
        from PIL import Image as PILImage

        buffer = BytesIO()
        PILImage.fromarray(check_image(image)).save(buffer, format="PNG")
        return cls(buffer.getvalue(), caption)


@dataclass(frozen=True, slots=True)
class CardSection:
    """A heading with, in this order, paragraphs, a table and a row of images (each optional)."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    table: CardTable | None = None
    images: tuple[CardImage, ...] = ()


def render_card(title: str, sections: Sequence[CardSection]) -> str:
    """One self-contained HTML page: the title, then each section in order.

    All text is escaped; images become ``data:image/png;base64`` URIs. Write the
    result with ``encoding="utf-8"`` (the page declares it).
    """
    body = "\n".join(_section(section) for section in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def before_after(before: Image, after: Image, *, height_px: int = 160) -> Image:
    """Two images side by side at the same height, with a thin white gap: a before/after thumbnail.

    Each is resized (area averaging) to ``height_px`` high, keeping its aspect ratio.

    Raises:
        InputError: Either is not an RGB ``uint8`` (H, W, 3) array.
        ValueError: ``height_px`` below 1.
    """
    if height_px < 1:
        raise ValueError(f"height_px must be at least 1, got {height_px}")
    halves = [_to_height(check_image(image), height_px) for image in (before, after)]
    gap = np.full((height_px, _GAP_PX, 3), 255, np.uint8)
    return np.concatenate([halves[0], gap, halves[1]], axis=1)


def _to_height(image: Image, height_px: int) -> Image:
    import cv2

    height, width = image.shape[:2]
    size = (max(1, round(width * height_px / height)), height_px)
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _section(section: CardSection) -> str:
    parts = [f"<section>\n<h2>{html.escape(section.heading)}</h2>"]
    parts.extend(f"<p>{html.escape(text)}</p>" for text in section.paragraphs)
    if section.table is not None:
        parts.append(_table(section.table))
    parts.extend(_figure(image) for image in section.images)
    parts.append("</section>")
    return "\n".join(parts)


def _table(table: CardTable) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in table.header)
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"


def _figure(image: CardImage) -> str:
    uri = "data:image/png;base64," + base64.b64encode(image.png).decode("ascii")
    caption = html.escape(image.caption)
    return f'<figure><img src="{uri}" alt="{caption}"><figcaption>{caption}</figcaption></figure>'
