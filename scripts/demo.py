"""The demo behind ``make demo``: veil's main job on the astronaut photo that scikit-image ships.

Writes into the folder given (default ``out/``):
- ``astronaut.png``: the input photo;
- ``astronaut_faces.png``: the photo with each face's box, score and landmarks drawn;
- ``astronaut_faces.json``: the detections, in the same JSON form as ``veil detect --json``;
- ``astronaut_blurred.png``: the photo with the face blurred (``veil blur``'s defaults);
- ``astronaut_cloaked.png``: the photo cloaked against face recognition (``veil cloak``, mid mode);
- ``astronaut_card.html`` and ``astronaut_card.json``: its protection card (every
  recognizer's verdict on clean against cloaked, after each countermeasure);
- ``astronaut_gender_hidden.png``: the photo with gender hidden from the attribute
  judges while face matching still works (``veil cloak --hide gender``), and
  ``astronaut_gender_hidden.json``: what each judge read before and after.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from skimage import data

import veil
from veil.attributes import hide_attributes
from veil.cloak import protection_card


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
    cloaked = veil.cloak(image)
    veil.write_image(cloaked.image, out / "astronaut_cloaked.png", overwrite=True)
    card = protection_card(image, cloaked)
    (out / "astronaut_card.html").write_text(card.html, encoding="utf-8")
    (out / "astronaut_card.json").write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    verdict = "protected" if card.protected else "not protected against every check"
    print(f"cloaked: {out / 'astronaut_cloaked.png'} ({verdict}; card: {out / 'astronaut_card.html'})")
    hidden = hide_attributes(image, hide="gender")
    veil.write_image(hidden.image, out / "astronaut_gender_hidden.png", overwrite=True)
    (out / "astronaut_gender_hidden.json").write_text(json.dumps(hidden.to_dict(), indent=2) + "\n")
    for face in hidden.faces:
        reads = ", ".join(
            f"{judge} {face.before[judge]['gender']} -> {face.after[judge]['gender']}" for judge in face.after
        )
        print(f"gender hidden: {out / 'astronaut_gender_hidden.png'} (judges read {reads})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out"))
