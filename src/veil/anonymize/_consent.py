"""Consent: faces of people enrolled in a gallery stay unblurred; everyone else is blurred.

The check is strict (``CONSENT_FAR``): wrongly leaving a stranger unblurred is a
privacy failure, wrongly blurring someone who consented is not. In a video the
decision is made per tracked face, and a face stays unblurred only while its
last ``CONSENT_STREAK`` checks all matched, so one lucky match never uncovers a
stranger, and a tracker that swaps two crossing faces blurs both again at the
next check.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from veil.types import Face, Image

if TYPE_CHECKING:
    from veil.match import Gallery

__all__ = ["CONSENT_FAR", "CONSENT_STREAK", "TrackConsent", "check_consent_gallery", "consented"]

CONSENT_FAR = 1e-4
"""False accept rate of the consent check: a stranger is left unblurred at most this often."""
CONSENT_STREAK = 2
"""Checks in a row a tracked face must match before it is left unblurred: a stranger would need two false
accepts in a row (about 1e-8 at ``CONSENT_FAR``); someone who consented is blurred on their first frame."""


@functools.cache
def _gallery(path: str) -> Gallery:
    """Each worker process loads (and decrypts) the consent gallery once."""
    from veil.match import Gallery

    return Gallery.load(path)


def check_consent_gallery(gallery_path: Path) -> None:
    """Load the consent gallery once before a job, so a missing file or key stops it at the start.

    Raises:
        GalleryFileError: No such file, or not a readable veil gallery.
        GalleryKeyError: No key, or the wrong one.
    """
    _gallery(str(gallery_path))


def consented(image: Image, faces: Sequence[Face], gallery_path: Path) -> list[bool]:
    """For each face, whether it matches someone enrolled in the gallery at ``CONSENT_FAR``."""
    from veil.embed import embed
    from veil.match import load_calibration

    if not faces:
        return []
    gallery = _gallery(str(gallery_path))
    threshold = load_calibration(gallery.model).threshold(CONSENT_FAR)
    matches = gallery.search(embed(image, faces, model=gallery.model), top_k=1)
    return [bool(found) and found[0].score >= threshold for found in matches]


class TrackConsent:
    """Decides, frame by frame, which tracked faces of a video to blur.

    Args:
        gallery_path: The gallery of people who consented.

    Attributes:
        kept_tracks: Track ids that were left unblurred on at least one frame.
    """

    def __init__(self, gallery_path: Path) -> None:
        self.gallery_path = gallery_path
        self._streaks: dict[int, int] = {}
        self.kept_tracks: set[int] = set()

    def to_blur(self, image: Image, faces: Sequence[Face], detections: Sequence[Face] | None) -> list[Face]:
        """The faces of ``faces`` (from ``FaceTracker.update``) to blur on this frame.

        Only faces detected on this frame are checked (``detections``, None when
        detection was skipped); a face the tracker carries through a miss keeps
        its streak but adds nothing to it.
        """
        if detections is not None:
            found = {detection.box for detection in detections}
            fresh = [face for face in faces if face.box in found]
            for face, ok in zip(fresh, consented(image, fresh, self.gallery_path), strict=True):
                if face.track_id is not None:
                    self._streaks[face.track_id] = self._streaks.get(face.track_id, 0) + 1 if ok else 0
        hidden = []
        for face in faces:
            if face.track_id is not None and self._streaks.get(face.track_id, 0) >= CONSENT_STREAK:
                self.kept_tracks.add(face.track_id)
            else:
                hidden.append(face)
        return hidden
