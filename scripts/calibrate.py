"""Measure what each recognizer's cosine scores mean, and store it beside the model cards.

For each model this writes ``src/veil/models/calibration/<model>.json``:
- thresholds for false accept rates 1e-2, 1e-3 and 1e-4, from every impostor pair
  among the calibration photos (millions of pairs, so 1e-4 is measured, not guessed);
- a logistic calibration from score to probability of the same person, fitted on
  the genuine pairs and as many random impostor pairs (an even prior);
- where the figures came from.

The photos are LFW's (``../shared/data/lfw``, a grayscale copy): the first two
photos of each person who has two or more, leaving out everyone in
``pairsDevTest.txt`` so that the benchmark's test pairs stay unseen. Impostor
pairs share photos, so they are not independent; the thresholds are still
measured on more than 1 / FAR pairs.

Run: ``python scripts/calibrate.py [MODEL ...] [--people N]`` (about 10 minutes for all
three models on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from veil.embed import RECOGNIZERS
from veil.evaluate import embed_photos, read_pairs
from veil.match import ModelCalibration, ScoreCalibrator, thresholds_at_far

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "veil" / "models" / "calibration"
FARS = (1e-2, 1e-3, 1e-4)
SEED = 20261122


def calibration_photos(lfw: Path, people: int) -> list[tuple[str, Path, Path]]:
    """(person, first photo, second photo) for up to ``people`` people not in pairsDevTest."""
    held_out = {p.path_a.parent.name for p in read_pairs(lfw / "pairsDevTest.txt")}
    held_out |= {p.path_b.parent.name for p in read_pairs(lfw / "pairsDevTest.txt")}
    chosen = []
    for folder in sorted((lfw / "images").iterdir()):
        photos = sorted(folder.glob("*.jpg"))
        if folder.name not in held_out and len(photos) >= 2:
            chosen.append((folder.name, photos[0], photos[1]))
    return chosen[:people]


def calibrate(
    model: str, scores: np.ndarray, is_same: np.ndarray, source: dict[str, object]
) -> ModelCalibration:
    rng = np.random.default_rng(SEED)
    genuine = scores[is_same]
    impostor = scores[~is_same]
    sample = rng.choice(impostor, size=len(genuine), replace=False)
    calibrator = ScoreCalibrator("logistic").fit(
        np.concatenate([genuine, sample]), np.concatenate([np.ones(len(genuine)), np.zeros(len(sample))])
    )
    found = thresholds_at_far(impostor, FARS)
    if not all(t.is_reliable for t in found.values()):
        sys.exit(f"{model}: too few impostor pairs for FAR {min(FARS):g}; use more people")
    tar = {f"{far:g}": float((genuine >= t.threshold).mean()) for far, t in found.items()}
    return ModelCalibration(
        model=model,
        calibrator=calibrator,
        thresholds={far: t.threshold for far, t in found.items()},
        source={
            **source,
            "genuine_pairs": len(genuine),
            "impostor_pairs": len(impostor),
            "tar": tar,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(RECOGNIZERS))
    parser.add_argument("--people", type=int, default=1200)
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("VEIL_DATA") or REPO.parent / "shared" / "data")
    )
    args = parser.parse_args()

    chosen = calibration_photos(args.data / "lfw", args.people)
    paths = [photo for _, first, second in chosen for photo in (first, second)]
    embedded = embed_photos(paths, models=args.models)
    person = np.repeat(np.arange(len(chosen)), 2)
    upper = np.triu_indices(len(paths), k=1)
    is_same = person[upper[0]] == person[upper[1]]
    source = {
        "data": "LFW grayscale copy (../shared/data/lfw): first 2 photos of each person with 2 or more",
        "excluded": "everyone in pairsDevTest.txt",
        "people": len(chosen),
        "photos": len(paths),
        "fallbacks": embedded.fallbacks,
        "detector": "auto",
        "date": datetime.now(UTC).date().isoformat(),
        "command": "python scripts/calibrate.py " + " ".join(args.models),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for model in args.models:
        vectors = embedded.embeddings[model]
        scores = (vectors @ vectors.T)[upper]
        result = calibrate(model, scores, is_same, source)
        (OUT / f"{model}.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        thresholds = ", ".join(f"FAR {far:g}: {t:.3f}" for far, t in sorted(result.thresholds.items()))
        print(f"{model}: {thresholds}; TAR {result.source['tar']}")


if __name__ == "__main__":
    main()
