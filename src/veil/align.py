"""Face alignment: crop a face to a canonical pose, and paste an edited crop back.

A similarity transform (rotation, uniform scale, translation) maps the five
landmarks onto a canonical template scaled to the crop size. Recognizers are
trained on such crops, and editing tools (blur, cloak) work on them; the inverse
transform puts the edited crop back into the full-resolution photo, so that only
face pixels change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from veil.errors import InputError
from veil.types import Face, Image

__all__ = ["TEMPLATES", "AlignedFace", "align", "alignment_matrix", "centred_face", "paste_back"]

TEMPLATES: dict[str, NDArray[np.float64]] = {
    # ArcFace / InsightFace 112x112 template (Deng et al. 2019), used by SFace and most
    # recent recognizers; stored for a unit square so that it scales to any crop size.
    "arcface": np.array(
        [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ]
    )
    / 112.0,
}
"""Canonical landmark positions in a unit square, in ``veil.types.LANDMARK_NAMES`` order."""

CENTRED_FACE_FRACTION = 0.5
"""Side of the face ``centred_face`` assumes, as a fraction of the photo's shorter side."""

DEFAULT_FEATHER = 0.08
"""Width of the soft edge of a pasted crop, as a fraction of the crop side."""


@dataclass(frozen=True, slots=True)
class AlignedFace:
    """A face cropped to a canonical pose.

    Attributes:
        crop: The RGB crop, (size, size, 3) ``uint8``.
        matrix: The 2x3 similarity transform from photo pixels to crop pixels.
    """

    crop: Image
    matrix: NDArray[np.float64]


def alignment_matrix(
    face: Face, *, size: int = 112, template: str = "arcface", margin: float = 0.0
) -> NDArray[np.float64]:
    """The 2x3 similarity transform taking ``face``'s landmarks onto the template.

    Args:
        face: A detected face (its five landmarks are used).
        size: Side of the square crop in pixels.
        template: A key of ``TEMPLATES``.
        margin: Extra context around the template, as a fraction of the crop
            (0.2 shows 20% more around the face, with the face proportionally smaller).

    Raises:
        InputError: Unknown template, or landmarks too degenerate to define a pose.
    """
    if template not in TEMPLATES:
        raise InputError(
            "<face>", f"unknown alignment template {template!r}; choose one of {sorted(TEMPLATES)}"
        )
    target = ((TEMPLATES[template] - 0.5) / (1.0 + margin) + 0.5) * size
    return _similarity(np.asarray(face.landmarks, dtype=np.float64), target)


def _similarity(source: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    """Least-squares similarity transform from ``source`` points to ``target`` points (Umeyama 1991).

    Every landmark counts: a robust fit (RANSAC, LMedS) would drop some of only
    five points and give a noisier crop, which costs recognition accuracy.
    """
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    variance = (source_centred**2).sum() / len(source)
    if variance < 1e-9:
        raise InputError("<face>", "landmarks do not define a face pose (all on one point or line)")
    covariance = target_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(singular) @ sign) / variance)
    if not np.isfinite(scale) or scale <= 0:
        raise InputError("<face>", "landmarks do not define a face pose (all on one point or line)")
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = target_mean - matrix[:, :2] @ source_mean
    return matrix


def align(
    image: Image, face: Face, *, size: int = 112, template: str = "arcface", margin: float = 0.0
) -> AlignedFace:
    """Crop ``face`` out of ``image`` in the canonical pose a recognizer expects.

    Args: See ``alignment_matrix``; ``image`` is the RGB photo the face was found in.
    """
    import cv2

    matrix = alignment_matrix(face, size=size, template=template, margin=margin)
    crop = cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return AlignedFace(crop=np.asarray(crop, dtype=np.uint8), matrix=matrix)


def paste_back(
    image: Image,
    face: Face,
    crop: Image,
    *,
    template: str = "arcface",
    margin: float = 0.0,
    feather: float = DEFAULT_FEATHER,
) -> Image:
    """A copy of ``image`` with an edited aligned ``crop`` warped back into place.

    The crop's edge is feathered so the seam does not show. Pixels that the
    warped crop does not cover are bit-identical to ``image``.

    Args:
        image: The photo the face was found in (not modified).
        face: The face the crop was aligned from.
        crop: The edited crop, square, from ``align`` with the same ``template`` and ``margin``.
        feather: Width of the soft edge as a fraction of the crop side (0 for a hard edge).
    """
    size = crop.shape[0]
    if crop.ndim != 3 or crop.shape[1] != size or crop.shape[2] != 3:
        raise InputError("<crop>", f"expected a square RGB crop, got shape {crop.shape}")
    import cv2

    matrix = alignment_matrix(face, size=size, template=template, margin=margin)
    inverse = cv2.invertAffineTransform(matrix)
    height, width = image.shape[:2]

    weight = _feathered_square(size, feather)
    warped_weight = cv2.warpAffine(weight, inverse, (width, height), flags=cv2.INTER_LINEAR, borderValue=0.0)
    covered = warped_weight > 0
    if not covered.any():
        return image.copy()
    rows, cols = np.nonzero(covered)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1

    # Warp only the covered window: an offset inverse matrix avoids a full-size warp of a large photo.
    window_inverse = inverse.copy()
    window_inverse[:, 2] -= (left, top)
    window_size = (right - left, bottom - top)
    warped = cv2.warpAffine(
        crop, window_inverse, window_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    alpha = warped_weight[top:bottom, left:right, None]
    region = image[top:bottom, left:right].astype(np.float32)
    blended = np.clip(alpha * warped.astype(np.float32) + (1 - alpha) * region + 0.5, 0, 255).astype(np.uint8)

    out = image.copy()
    out[top:bottom, left:right] = np.where(
        covered[top:bottom, left:right, None], blended, image[top:bottom, left:right]
    )
    return out


def _feathered_square(size: int, feather: float) -> NDArray[np.float32]:
    """Weights that are 1 inside the crop and fall smoothly to 0 over ``feather * size`` px at its edge."""
    ramp_px = max(feather * size, 1e-6)
    distance = np.minimum(np.arange(size) + 0.5, size - np.arange(size) - 0.5)  # to the nearest edge
    ramp = np.clip(distance / ramp_px, 0.0, 1.0).astype(np.float32)
    return np.asarray(np.minimum.outer(ramp, ramp), dtype=np.float32)


def centred_face(image: Image, *, template: str = "arcface") -> Face:
    """A stand-in face in the middle of the photo, for when no face is detected.

    Its landmarks are the template's, placed on a centred square whose side is
    ``CENTRED_FACE_FRACTION`` of the shorter side, so ``align`` cuts a centred
    crop. Face datasets (LFW, passport photos) centre their faces, which is why
    the evaluation protocols fall back to this; its score is 0.
    """
    height, width = image.shape[:2]
    side = CENTRED_FACE_FRACTION * min(height, width)
    left, top = (width - side) / 2, (height - side) / 2
    points = TEMPLATES[template] * side + (left, top)
    return Face(
        box=(left, top, left + side, top + side),
        score=0.0,
        landmarks=tuple((float(x), float(y)) for x, y in points),  # type: ignore[arg-type]
    )
