"""Recognition benchmark: accuracy, speed and gallery search, with face_recognition as the anchor.

For each veil recognizer:
- LFW View 1 DevTest verification accuracy (threshold chosen on DevTrain), AUC, EER;
- CelebA dev closed-set rank-1 and rank-5 (first photo per identity is the gallery);
- milliseconds per aligned face at batch 1 and batch 32.
Side by side, the classic face_recognition pipeline (dlib HOG detector + dlib
ResNet, its default tolerance 0.6) on the same LFW pairs. Then gallery search
latency at 10k, 100k and 1M synthetic unit vectors, exact and HNSW, with HNSW
recall@1 against exact.

Run: ``python benchmarks/recognize.py [--models sface,facenet,dlib] [--sizes 10000,100000,1000000]``.
Writes ``benchmarks/results/recognize.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from skimage import data as samples

import veil
from _common import data_root, environment, print_table, write_results
from veil.embed import RECOGNIZERS, get_recognizer
from veil.evaluate import (
    Pair,
    PhotoEmbeddings,
    embed_photos,
    identification_report,
    list_identities,
    read_pairs,
    split_gallery_probes,
    verification_report,
)
from veil.match import Gallery

QUERIES = 100
FACE_RECOGNITION_TOLERANCE = 0.6  # face_recognition.compare_faces' default


def pair_scores(photos: PhotoEmbeddings, model: str, pairs: list[Pair]) -> np.ndarray:
    vectors = photos.embeddings[model]
    a = vectors[photos.rows([p.path_a for p in pairs])]
    b = vectors[photos.rows([p.path_b for p in pairs])]
    return np.asarray((a * b).sum(axis=1))


def face_speed_ms(model: str, image: np.ndarray, face: veil.Face) -> dict[str, float]:
    recognizer = get_recognizer(model)
    crop = recognizer.crop(image, face)
    recognizer.embed([crop])  # warm up
    timings = {}
    for batch in (1, 32):
        crops = [crop] * batch
        repeats = 20 if batch == 1 else 3
        start = time.perf_counter()
        for _ in range(repeats):
            recognizer.embed(crops)
        timings[f"ms_per_face_batch{batch}"] = (time.perf_counter() - start) * 1000 / (repeats * batch)
    return timings


def face_recognition_anchor(pairs_file: Path) -> dict[str, Any]:
    """Accuracy of face_recognition's own pipeline at its default tolerance on the same pairs."""
    import face_recognition

    encodings: dict[Path, np.ndarray] = {}
    fallbacks = 0

    def encode(path: Path) -> np.ndarray:
        nonlocal fallbacks
        if path not in encodings:
            image = face_recognition.load_image_file(str(path))
            boxes = face_recognition.face_locations(image, model="hog")
            if not boxes:
                fallbacks += 1
                height, width = image.shape[:2]
                boxes = [(height // 4, 3 * width // 4, 3 * height // 4, width // 4)]
            largest = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
            encodings[path] = face_recognition.face_encodings(image, [largest])[0]
        return encodings[path]

    pairs = read_pairs(pairs_file)
    start = time.perf_counter()
    correct = 0
    for pair in pairs:
        distance = float(np.linalg.norm(encode(pair.path_a) - encode(pair.path_b)))
        correct += (distance <= FACE_RECOGNITION_TOLERANCE) == pair.is_same
    seconds = time.perf_counter() - start
    return {
        "pipeline": "face_recognition 1.3.0: HOG detector + dlib ResNet, tolerance 0.6",
        "accuracy": correct / len(pairs),
        "n_pairs": len(pairs),
        "fallbacks": fallbacks,
        "ms_per_photo": seconds * 1000 / len(encodings),
    }


def search_latency(sizes: list[int], dim: int = 128) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        vectors = rng.standard_normal((size, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        # Queries near stored vectors, as real probes are near their enrolled templates.
        targets = rng.integers(0, size, QUERIES)
        queries = vectors[targets] + 0.05 * rng.standard_normal((QUERIES, dim)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        best: dict[str, list[int]] = {}
        for index in ("exact", "hnsw"):
            gallery = Gallery("synthetic", dim, index=index)
            gallery.add("x", vectors, model="synthetic")
            start = time.perf_counter()
            gallery.search(queries[:1], top_k=1)  # builds the index
            build_s = time.perf_counter() - start
            start = time.perf_counter()
            found = [gallery.search(q[None], top_k=1)[0][0].entry_id for q in queries]
            per_query_ms = (time.perf_counter() - start) * 1000 / QUERIES
            best[index] = found
            rows.append({"entries": size, "index": index, "ms_per_query": per_query_ms, "build_s": build_s})
        rows[-1]["recall_at_1"] = float(np.mean(np.array(best["hnsw"]) == np.array(best["exact"])))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join([*RECOGNIZERS, "sface+facenet"]))
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--no-anchor", action="store_true", help="skip face_recognition")
    args = parser.parse_args()

    data = data_root()
    lfw = data / "lfw"
    models = args.models.split(",")
    astronaut = samples.astronaut()
    astronaut_face = veil.detect(astronaut)[0]

    # Each photo is detected once and embedded by every model (embed_photos), as
    # veil eval verify / identify do for one model at a time.
    test, train = read_pairs(lfw / "pairsDevTest.txt"), read_pairs(lfw / "pairsDevTrain.txt")
    lfw_photos = embed_photos([path for p in [*test, *train] for path in (p.path_a, p.path_b)], models=models)
    gallery, probes = split_gallery_probes(list_identities(data / "celeba" / "images"))
    celeba = embed_photos([p for _, p in [*gallery, *probes]], models=models)
    rows = []
    for model in models:
        verification = verification_report(
            pair_scores(lfw_photos, model, test),
            [p.is_same for p in test],
            train_scores=pair_scores(lfw_photos, model, train),
            train_is_same=[p.is_same for p in train],
            fallbacks=lfw_photos.fallbacks,
        )
        vectors = celeba.embeddings[model]
        identification = identification_report(
            vectors[celeba.rows([p for _, p in gallery])],
            [i for i, _ in gallery],
            vectors[celeba.rows([p for _, p in probes])],
            [i for i, _ in probes],
            fallbacks=celeba.fallbacks,
        )
        rows.append(
            {
                "model": model,
                "lfw_accuracy": verification.accuracy,
                "lfw_auc": verification.auc,
                "lfw_eer": verification.eer,
                "lfw_fallbacks": verification.fallbacks,
                "celeba_rank1": identification.rank1,
                "celeba_rank5": identification.rank5,
                "celeba_probes": identification.n_probes,
                **(face_speed_ms(model, astronaut, astronaut_face) if "+" not in model else {}),
            }
        )
    anchor = None if args.no_anchor else face_recognition_anchor(lfw / "pairsDevTest.txt")
    search = search_latency([int(s) for s in args.sizes.split(",")])

    print_table("Recognizers (LFW View 1 DevTest, CelebA dev)", rows, list(rows[0]))
    if anchor:
        print_table("Anchor: face_recognition on the same LFW pairs", [anchor], list(anchor))
    print_table("Gallery search", search, ["entries", "index", "ms_per_query", "build_s", "recall_at_1"])
    best = max(rows, key=lambda r: r["lfw_accuracy"])
    result = {
        "benchmark": "recognize",
        "env": environment("torch", "dlib-bin", "faiss-cpu", "face_recognition"),
        "inputs": {
            "lfw": "pairsDevTest.txt (500 + 500 pairs), threshold from pairsDevTrain.txt; grayscale",
            "celeba": "celeba/images: identities with >= 4 photos, first photo by name is the gallery",
            "speed": "astronaut face crop, embedding only (alignment excluded)",
            "search": f"{QUERIES} queries near stored synthetic unit vectors, 128-D",
        },
        "rows": rows,
        "anchor": anchor,
        "search": search,
        "ratios": {
            "best_model": best["model"],
            "best_minus_anchor_accuracy": best["lfw_accuracy"] - anchor["accuracy"] if anchor else None,
        },
    }
    print(f"wrote {write_results('recognize', result)}")


if __name__ == "__main__":
    main()
