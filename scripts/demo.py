"""The demo behind ``make demo``: veil's main job on the astronaut photo that scikit-image ships.

Writes into the folder given (default ``out/``):
- ``astronaut.png``: the input photo;
- ``astronaut_faces.png``: the photo with each face's box, score and landmarks drawn;
- ``astronaut_faces.json``: the detections, in the same JSON form as ``veil detect --json``;
- ``astronaut_blurred.png``: the photo with the face blurred (``veil blur``'s defaults).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from skimage import data

import veil


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    photo = veil.write_image(data.astronaut(), out / "astronaut.png", overwrite=True)
    image = veil.read_image(photo)
    faces = veil.detect(image)
    veil.write_image(veil.draw_faces(image, faces), out / "astronaut_faces.png", overwrite=True)
    record = {"file": str(photo), "faces": [face.to_dict() for face in faces]}
    (out / "astronaut_faces.json").write_text(json.dumps(record, indent=2) + "\n")
    blurred = veil.write_image(veil.blur(image).image, out / "astronaut_blurred.png", overwrite=True)
    print(f"{len(faces)} face(s) found in {photo}; wrote {out / 'astronaut_faces.png'} and {blurred}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out"))
