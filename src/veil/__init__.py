"""veil: see what face recognition sees, and stop it.

The library API in a few names::

    import veil

    image = veil.read_image("group.jpg")
    faces = veil.detect(image)                      # boxes, scores, five landmarks
    crop = veil.align(image, faces[0], size=112)    # canonical pose for a recognizer
    veil.write_image(veil.draw_faces(image, faces), "out/group.png")

Importing veil loads no model and imports no heavy package (torch, cv2, dlib):
each is loaded on first use.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from veil import errors, models
from veil.align import AlignedFace, align, paste_back
from veil.detect import detect, detect_batch, get_detector
from veil.draw import draw_faces
from veil.io import decode_image, read_image, write_image
from veil.types import Face, ProgressUpdate

__version__ = _metadata.version("veil")

__all__ = [
    "AlignedFace",
    "Face",
    "ProgressUpdate",
    "align",
    "decode_image",
    "detect",
    "detect_batch",
    "draw_faces",
    "errors",
    "get_detector",
    "models",
    "paste_back",
    "read_image",
    "write_image",
]
