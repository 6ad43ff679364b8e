"""veil: see what face recognition sees, and stop it.

The library API in a few names::

    import veil

    image = veil.read_image("group.jpg")
    faces = veil.detect(image)                      # boxes, scores, five landmarks
    vectors = veil.embed(image, faces)              # one unit-length row per face
    blurred = veil.blur(image).image                # every face blurred
    cloaked = veil.cloak(image).image               # recognizers no longer match it
    veil.write_image(blurred, "out/group.png")      # atomic, no metadata

Importing veil loads no model and imports no heavy package (torch, cv2, dlib):
each is loaded on first use.
"""

from __future__ import annotations

from veil import errors, models
from veil.align import AlignedFace, align, paste_back
from veil.anonymize import blur
from veil.cloak import cloak
from veil.detect import detect, detect_batch, get_detector
from veil.draw import draw_faces
from veil.embed import embed
from veil.io import decode_image, read_image, write_image
from veil.match import Gallery, enroll, identify, verify
from veil.types import Face, ProgressUpdate

__all__ = [
    "AlignedFace",
    "Face",
    "Gallery",
    "ProgressUpdate",
    "align",
    "blur",
    "cloak",
    "decode_image",
    "detect",
    "detect_batch",
    "draw_faces",
    "embed",
    "enroll",
    "errors",
    "get_detector",
    "identify",
    "models",
    "paste_back",
    "read_image",
    "verify",
    "write_image",
]


def __getattr__(name: str) -> str:
    """``veil.__version__``, read from the installed package's metadata on first use.

    Lazily, because ``importlib.metadata`` costs about 30 ms to import, an eighth
    of the command line's start-up (PEP 562 module ``__getattr__``).
    """
    if name == "__version__":
        from importlib import metadata

        return metadata.version("veil")
    raise AttributeError(f"module 'veil' has no attribute {name!r}")
