"""Train veil's attribute judges: gender, age group and race group heads on each recognizer's embeddings.

For each recognizer (sface, facenet, dlib) this writes
``src/veil/models/attributes/<recognizer>.npz`` (the heads' weights, a few kB)
and ``src/veil/models/attributes/<recognizer>.json`` (how they were made and how
accurate they are on the held-back photos, overall and per demographic group).

Data: UTKFace (``../shared/data/utkface``, 3,000 labelled 200x200 crops). Split
by file, seeded: the rows of ``labels.csv`` are shuffled with
``numpy.random.default_rng(SEED)`` and the first ``TEST_FRACTION`` are held back
for testing; the heads never see them. Each photo's main face is embedded as the
evaluation protocols embed photos (``veil.evaluate.embed_photos``: YuNet, centred
crop when no face is found). The embeddings are cached in ``--cache`` (default
``/tmp/veil_attr``), never in the repository.

Each head is a multinomial logistic regression on the unit embedding (linear, so
it is differentiable and cheap for the attribute-privacy optimiser); its
inverse regularisation strength C is chosen by 5-fold cross-validation on the
training part only.

Run: ``OMP_NUM_THREADS=2 python scripts/train_attributes.py [--cache DIR]`` (about
10 minutes on a 2-core CPU the first time, for the embeddings; seconds
afterwards). The shipped weights were made with two BLAS threads: where two
values of C cross-validate within rounding, another thread count may pick the
other one (one thread picks C=10 instead of 100 for dlib's race head).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from veil.attributes import ATTRIBUTES, JUDGES, age_group
from veil.attributes._split import SPLIT_SEED, TEST_FRACTION, utkface_split
from veil.evaluate import embed_photos

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "veil" / "models" / "attributes"
SEED = SPLIT_SEED
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
UNSEEN_BIAS = -30.0
TODDLER_MAX_AGE = 4


def read_labels(utkface: Path) -> tuple[list[Path], dict[str, np.ndarray], np.ndarray]:
    """Photo paths, per-attribute class indices (gender, age group, race group) and ages in years."""
    paths, gender, years, race = [], [], [], []
    with (utkface / "labels.csv").open(newline="") as file:
        for row in csv.DictReader(file):
            paths.append(utkface / row["file"])
            gender.append(int(row["gender"]))
            years.append(int(row["age"]))
            race.append(int(row["race"]))
    age = np.array([age_group(year) for year in years])
    return paths, {"gender": np.array(gender), "age": age, "race": np.array(race)}, np.array(years)


def cached_embeddings(paths: list[Path], cache: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every judge's embeddings of ``paths`` (cached in ``cache``) and the no-face fallback flags."""
    file = cache / "utkface_embeddings.npz"
    if file.is_file():
        stored = np.load(file)
        if list(stored["paths"]) == [str(p) for p in paths]:
            return {name: stored[name] for name in JUDGES}, stored["is_fallback"]
    embedded = embed_photos(paths, models=list(JUDGES))
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(
        file,
        paths=np.array([str(p) for p in paths]),
        is_fallback=embedded.is_fallback,
        **embedded.embeddings,
    )
    return dict(embedded.embeddings), embedded.is_fallback


def fit_head(features: np.ndarray, labels: np.ndarray) -> tuple[Any, float]:
    """A logistic regression with C chosen by 5-fold cross-validation (accuracy); returns (model, C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, cross_val_score

    # Not stratified: a class with fewer members than folds (60+ has 2 here) would only warn.
    folds = KFold(n_splits=5, shuffle=True, random_state=SEED)
    scores = {
        c: cross_val_score(LogisticRegression(C=c, max_iter=5000), features, labels, cv=folds).mean()
        for c in C_GRID
    }
    best = max(scores, key=lambda c: scores[c])
    return LogisticRegression(C=best, max_iter=5000).fit(features, labels), best


def full_head(model: Any, classes: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(weight (classes, dim), bias (classes,)) with a row for every class, seen in training or not.

    sklearn keeps one row for a binary problem (class 1 against class 0), and none for a class
    missing from the training labels (UTKFace's copy here has no one aged 45-59): such a class
    gets a bias of ``UNSEEN_BIAS``, so it is never predicted.
    """
    weight = np.zeros((classes, dim), np.float32)
    bias = np.full(classes, UNSEEN_BIAS, np.float32)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: split the log odds evenly between the two classes
        coef, intercept = (
            np.concatenate([-coef / 2, coef / 2]),
            np.concatenate([-intercept / 2, intercept / 2]),
        )
    for row, label in enumerate(model.classes_):
        weight[label], bias[label] = coef[row], intercept[row]
    return weight, bias


def accuracy_by_group(correct: np.ndarray, groups: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Accuracy and count in each demographic group (gender, age group, race group)."""
    out: dict[str, dict[str, Any]] = {}
    for attribute, labels in groups.items():
        for index, name in enumerate(ATTRIBUTES[attribute]):
            members = labels == index
            if members.any():
                out[f"{attribute}={name}"] = {
                    "accuracy": round(float(correct[members].mean()), 4),
                    "n": int(members.sum()),
                }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("VEIL_DATA") or REPO.parent / "shared" / "data")
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/veil_attr"))
    args = parser.parse_args()
    utkface = args.data / "utkface"
    if not utkface.is_dir():
        sys.exit(f"UTKFace not found at {utkface}; set VEIL_DATA")
    paths, labels, years = read_labels(utkface)
    train, test = utkface_split(len(paths))
    embeddings, is_fallback = cached_embeddings(paths, args.cache)
    OUT.mkdir(parents=True, exist_ok=True)
    for judge in JUDGES:
        features = embeddings[judge].astype(np.float64)
        weights: dict[str, np.ndarray] = {}
        report: dict[str, Any] = {}
        for attribute in ATTRIBUTES:
            model, c = fit_head(features[train], labels[attribute][train])
            weight, bias = full_head(model, len(ATTRIBUTES[attribute]), features.shape[1])
            weights[f"{attribute}_weight"], weights[f"{attribute}_bias"] = weight, bias
            # Measured with the weights as shipped, not with sklearn's model.
            predicted = np.argmax(features[test] @ weight.T.astype(np.float64) + bias, axis=1)
            correct = predicted == labels[attribute][test]
            adults = labels["age"][test] >= 1
            # Toddlers (30% of the held-back photos) are where gender fails: it barely shows in their faces.
            toddlers = years[test] <= TODDLER_MAX_AGE
            report[attribute] = {
                "C": c,
                "accuracy": round(float(correct.mean()), 4),
                "accuracy_age_18_plus": round(float(correct[adults].mean()), 4),
                "accuracy_age_0_4": round(float(correct[toddlers].mean()), 4),
                "accuracy_age_5_plus": round(float(correct[~toddlers].mean()), 4),
                "chance": round(float(np.bincount(labels[attribute][test]).max() / len(test)), 4),
                "by_group": accuracy_by_group(correct, {k: v[test] for k, v in labels.items()}),
            }
            print(f"{judge:8s} {attribute:7s} C={c:<6g} accuracy {correct.mean():.3f}")
        np.savez_compressed(OUT / f"{judge}.npz", **weights)
        card = {
            "judge": judge,
            "recognizer": judge,
            "head": "multinomial logistic regression on the unit embedding",
            "classes": {name: list(values) for name, values in ATTRIBUTES.items()},
            "data": "UTKFace (../shared/data/utkface/labels.csv)",
            "split": {
                "method": "rows of labels.csv shuffled by numpy.random.default_rng(seed); first "
                f"{TEST_FRACTION:g} held back",
                "seed": SEED,
                "n_train": len(train),
                "n_test": len(test),
            },
            "fallbacks": int(is_fallback.sum()),
            "caveat": "this copy of UTKFace holds ages 1-39 and 100+ only (half are children, whose gender "
            "is hard to read from the face; no one aged 45-59): the 45-59 class is never predicted",
            "test": report,
            "made": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "python scripts/train_attributes.py",
        }
        (OUT / f"{judge}.json").write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
