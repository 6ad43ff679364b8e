"""Detector benchmark: recall and precision on annotated boxes, detection rate by group, speed.

For each detector:
- recall and precision at IoU >= 0.5 on ``dlib_faces`` (training.xml and testing.xml), and
  each true face's best IoU with a detection (mean, and the weakest: how near the 0.5 line it is);
- the share of UTKFace crops (one face each) where a face is found, by race and by gender;
- milliseconds per photo with the long side at 640 px and at 1920 px (COCO photos resized).

Run: ``python benchmarks/detect.py [--detectors yunet,centerface] [--utk-limit N]``.
Writes ``benchmarks/results/detect.json``.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import veil
from _common import data_root, environment, print_table, write_results
from veil.detect import AUTO_DETECTOR, DEFAULT_THRESHOLDS, box_iou
from veil.evaluate import AnnotatedPhoto, load_imglab_boxes, score_detections
from veil.io import read_image

SPEED_PHOTOS = 12
UTK_RACES = {"0": "White", "1": "Black", "2": "Asian", "3": "Indian", "4": "Others"}
UTK_GENDERS = {"0": "male", "1": "female"}
SLOW_DETECTORS = {"dlib-cnn"}


def boxes_recall(detector: str, photos: list[AnnotatedPhoto]) -> dict[str, Any]:
    """Recall and precision at IoU >= 0.5, and how well the boxes fit: each true face's best IoU."""
    found = [
        np.array([f.box for f in veil.detect(read_image(p.path), detector=detector)]).reshape(-1, 4)
        for p in photos
    ]
    best_iou = np.concatenate(
        [
            box_iou(p.boxes[~p.ignored], boxes).max(axis=1, initial=0.0)
            for p, boxes in zip(photos, found, strict=True)
        ]
    )
    return {
        **score_detections(photos, found).to_dict(),
        "mean_best_iou": float(np.mean(best_iou)),
        "weakest_best_iou": float(best_iou.min()),
    }


def utk_rates(detector: str, root: Path, limit: int | None) -> dict[str, Any]:
    with (root / "labels.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:limit]
    hits: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        found = bool(veil.detect(read_image(root / row["file"]), detector=detector))
        hits["all"].append(found)
        hits["race:" + UTK_RACES[row["race"]]].append(found)
        hits["gender:" + UTK_GENDERS[row["gender"]]].append(found)
    return {group: {"n": len(v), "rate": float(np.mean(v))} for group, v in sorted(hits.items())}


def speed_ms(detector: str, photos: list[np.ndarray], long_side: int) -> float:
    resized = []
    for image in photos:
        scale = long_side / max(image.shape[:2])
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        resized.append(np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)))
    veil.detect(resized[0], detector=detector)  # load the model outside the timing
    start = time.perf_counter()
    for image in resized:
        veil.detect(image, detector=detector)
    return (time.perf_counter() - start) * 1000 / len(resized)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", default="yunet,yunet-voting,yunet-int8,centerface,dlib-hog,dlib-cnn")
    parser.add_argument("--utk-limit", type=int, default=None, help="first N UTKFace crops only")
    args = parser.parse_args()

    data = data_root()
    photos = [
        p for name in ("training.xml", "testing.xml") for p in load_imglab_boxes(data / "dlib_faces" / name)
    ]
    coco = [read_image(p) for p in sorted((data / "coco" / "images").glob("*.jpg"))[:SPEED_PHOTOS]]
    rows = []
    for name in args.detectors.split(","):
        row: dict[str, Any] = {"detector": name, "threshold": DEFAULT_THRESHOLDS[name]}
        row["dlib_faces"] = boxes_recall(name, photos)
        slow = name in SLOW_DETECTORS
        row["utkface"] = None if slow else utk_rates(name, data / "utkface", args.utk_limit)
        row["ms_640"] = speed_ms(name, coco[:2] if slow else coco, 640)
        row["ms_1920"] = speed_ms(name, coco[:2] if slow else coco, 1920)
        rows.append(row)
        print(f"{name}: done")

    table = []
    for row in rows:
        utk = row["utkface"] or {}
        groups = [v["rate"] for k, v in utk.items() if k != "all"]
        table.append(
            {
                "detector": row["detector"],
                "threshold": row["threshold"],
                "recall": row["dlib_faces"]["recall"],
                "precision": row["dlib_faces"]["precision"],
                "weakest IoU": row["dlib_faces"]["weakest_best_iou"],
                "utk found": utk.get("all", {}).get("rate"),
                "worst group": min(groups) if groups else None,
                "ms 640": row["ms_640"],
                "ms 1920": row["ms_1920"],
            }
        )
    print_table("Face detectors", table, list(table[0]))
    result = {
        "benchmark": "detect",
        "env": environment("onnxruntime", "opencv-python-headless", "dlib-bin"),
        "inputs": {
            "dlib_faces": "training.xml + testing.xml, IoU >= 0.5",
            "utkface": f"labels.csv, first {args.utk_limit or 'all'} crops",
            "speed": f"first {SPEED_PHOTOS} COCO photos (2 for slow detectors) resized to the long side",
        },
        "auto": AUTO_DETECTOR,
        "rows": rows,
    }
    print(f"wrote {write_results('detect', result)}")


if __name__ == "__main__":
    main()
