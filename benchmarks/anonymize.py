"""Anonymization benchmark, side by side with deface 1.5.0 on the same inputs.

- photos per second on the 128 COCO photos, both tools as command-line runs
  (process start and model loading included for both);
- frames per second on a 1080p video of pans and zooms over real photos;
- recall and precision on the dlib_faces boxes (deface's own CenterFace call,
  at its default threshold, against veil's detector);
- residual identifiability: rank-1 of blurred CelebA probes against a clean
  gallery, for every recognizer, beside the clean rank-1;
- utility: EfficientNet-Lite0 top-1/top-5 agreement on the COCO photos with people,
  with the 95% Wilson interval of top-1 agreement (61 photos: one photo is 1.6 points);
- the trade-off between the two: utility and residual identifiability for weaker
  blurs than the default (``TRADE_OFF``);
- controls for the utility figure: top-1 agreement after changes that hide no
  face (JPEG re-encoding, mirroring, a placebo blur off the faces), and after a
  faint blur on the faces (the floor: photos whose answer any touch of a face flips).

deface runs from its own virtual environment (``benchmarks/.peers/deface``,
created on first use): it needs opencv-python, which clashes with veil's headless
OpenCV. Run: ``python benchmarks/anonymize.py [--skip-video]``.
Writes ``benchmarks/results/anonymize.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

import veil
from _common import PEERS, REPO, data_root, environment, peer_python, print_table, write_results
from _video import make_test_video
from veil.anonymize import DEFAULT_DETECTOR, BlurWork, blur_video
from veil.evaluate import evaluate_anonymization, load_imglab_boxes, score_detections, utility_report
from veil.types import Face

DEFACE = PEERS / "deface"
DEFACE_VERSION = "1.5.0"
VIDEO_SECONDS = 12  # 300 frames at 25 fps
SPEED_REPEATS = 5  # a run of either tool on 128 photos takes seconds: single runs vary by 10-20%
TRADE_OFF = [
    BlurWork(strength=0.1, expand=0.1),
    BlurWork(strength=0.05, expand=0.1),
    BlurWork(strength=0.25, expand=0.0),
]
"""Weaker blurs than the default, measured for utility and residual identifiability beside it."""
FAINT_BLUR = BlurWork(strength=0.02, expand=0.0)
"""A blur that hides nothing (sigma 2% of the bare face box): the utility control at the faces."""
DEFACE_BOXES = """
import json, sys
import imageio.v2 as imageio
from deface.centerface import CenterFace
detector = CenterFace()
for path in sys.argv[1:]:
    found, _ = detector(imageio.imread(path), threshold=0.2)
    print(json.dumps({"file": path, "boxes": found[:, :4].tolist()}))
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def photos_per_second(photos: list[Path], work: Path) -> dict[str, Any]:
    """Both command lines on the same photos, taking turns, ``SPEED_REPEATS`` times each: the median run."""
    seconds: dict[str, list[float]] = {"veil": [], "deface": []}
    for repeat in range(SPEED_REPEATS):
        run = work / str(repeat)
        for tool in seconds:
            (run / tool).mkdir(parents=True)
            for photo in photos:
                shutil.copyfile(photo, run / tool / photo.name)
        seconds["veil"].append(
            timed([sys.executable, "-m", "veil", "blur", str(run / "veil"), "-o", str(run / "veil-out")])
        )
        seconds["deface"].append(
            timed([str(DEFACE / "bin" / "deface"), *map(str, (run / "deface").iterdir())])
        )
    return {
        "photos": len(photos),
        "veil_photos_per_s": len(photos) / statistics.median(seconds["veil"]),
        "deface_photos_per_s": len(photos) / statistics.median(seconds["deface"]),
        "veil_seconds": [round(s, 3) for s in seconds["veil"]],
        "deface_seconds": [round(s, 3) for s in seconds["deface"]],
    }


def video_fps(photos: list[Path], work: Path) -> dict[str, Any]:
    clip = make_test_video(work / "clip.mp4", photos=photos, seconds=VIDEO_SECONDS)
    frames = veil.io.probe_video(clip).frames
    start = time.perf_counter()
    report = blur_video(clip, work / "veil.mp4")
    veil_s = time.perf_counter() - start
    deface_s = timed(
        [str(DEFACE / "bin" / "deface"), str(clip), "-o", str(work / "deface.mp4"), "--keep-audio"]
    )
    return {
        "frames": frames,
        "resolution": "1920x1080",
        "veil_fps": frames / veil_s,
        "deface_fps": frames / deface_s,
        "veil_frames_with_faces": report.frames_with_faces,
    }


def recall(data: Path) -> dict[str, Any]:
    photos = [
        p for name in ("training.xml", "testing.xml") for p in load_imglab_boxes(data / "dlib_faces" / name)
    ]
    found = [veil.detect(veil.read_image(p.path), detector=DEFAULT_DETECTOR) for p in photos]
    ours = [np.array([f.box for f in faces]).reshape(-1, 4) for faces in found]
    listing = subprocess.run(
        [str(DEFACE / "bin" / "python"), "-c", DEFACE_BOXES, *[str(p.path) for p in photos]],
        check=True,
        capture_output=True,
        text=True,
    )
    by_file = {
        row["file"]: np.array(row["boxes"]).reshape(-1, 4)
        for row in map(json.loads, listing.stdout.splitlines())
    }
    theirs = [by_file[str(p.path)] for p in photos]
    return {
        "veil": score_detections(photos, ours).to_dict(),
        "deface": score_detections(photos, theirs).to_dict(),
    }


def has_people(image: Path, labels: Path) -> bool:
    """Whether a COCO photo's YOLO label file lists a person (class 0); photos with no objects have none."""
    label = labels / f"{image.stem}.txt"
    return label.is_file() and any(line.split()[:1] == ["0"] for line in label.read_text().splitlines())


def people_photos(data: Path) -> list[np.ndarray]:
    """The COCO photos with a person label, read."""
    images = sorted((data / "coco" / "images").glob("*.jpg"))
    return [veil.read_image(p) for p in images if has_people(p, data / "coco" / "labels")]


def blurred(image: np.ndarray, work: BlurWork) -> np.ndarray:
    return veil.blur(
        image, method=work.method, strength=work.strength, expand=work.expand, detector=work.detector
    ).image


def utility(data: Path, work: BlurWork) -> dict[str, Any]:
    before = people_photos(data)
    return utility_report(before, [blurred(image, work) for image in before]).to_dict()


def utility_controls(data: Path) -> dict[str, float]:
    """Top-1 agreement after changes that hide no face: how stable the classifier's answer is at all.

    COCO photos of people rarely show one ImageNet class, so many answers are near
    ties. Re-encoding as JPEG, mirroring the photo, or blurring the same boxes as
    the default blur at their mirrored places (a placebo: as much blur, off the
    faces) set the scale against which the face blur's agreement is read. The
    faint blur (``FAINT_BLUR``) touches the faces and hides nothing: the photos it
    flips are lost to any anonymization at all.
    """
    before = people_photos(data)
    changes = {
        "jpeg_q95": [_jpeg(image, 95) for image in before],
        "jpeg_q75": [_jpeg(image, 75) for image in before],
        "mirror": [np.ascontiguousarray(image[:, ::-1]) for image in before],
        "placebo_blur": [
            veil.anonymize.anonymize_faces(
                image,
                [_mirrored(face, image.shape[1]) for face in veil.detect(image, detector=DEFAULT_DETECTOR)],
            )
            for image in before
        ],
        "faint_blur": [blurred(image, FAINT_BLUR) for image in before],
    }
    return {name: utility_report(before, after).top1_agreement for name, after in changes.items()}


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    PILImage.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(PILImage.open(buffer).convert("RGB"))


def _mirrored(face: Face, width: int) -> Face:
    """The face's box and landmarks reflected across the photo's vertical midline."""
    x1, y1, x2, y2 = face.box
    marks = [(width - x, y) for x, y in face.landmarks]
    return Face(
        (width - x2, y1, width - x1, y2), face.score, (marks[0], marks[1], marks[2], marks[3], marks[4])
    )


def trade_off(data: Path, default: dict[str, Any], default_residual: dict[str, Any]) -> list[dict[str, Any]]:
    """Top-1 agreement and residual rank-1 per recognizer, for the default and each of ``TRADE_OFF``."""

    def row(work: BlurWork, kept: dict[str, Any], residual: dict[str, Any]) -> dict[str, Any]:
        return {
            "strength": work.strength,
            "expand": work.expand,
            "top1_agreement": kept["top1_agreement"],
            "top1_agreement_low": kept["top1_agreement_low"],
            "top1_agreement_high": kept["top1_agreement_high"],
            **{f"rank1_{model}": rank1 for model, rank1 in residual["rank1_anonymized"].items()},
        }

    rows = [row(BlurWork(), default, default_residual)]
    for work in TRADE_OFF:
        residual = evaluate_anonymization(work, identities=data / "celeba" / "images").to_dict()
        rows.append(row(work, utility(data, work), residual))
    return rows


def update_speeds(speed: dict[str, Any], video: dict[str, Any] | None) -> None:
    """Replace the speeds and their ratios in ``results/anonymize.json``, keeping the accuracy figures."""
    result = json.loads((REPO / "benchmarks" / "results" / "anonymize.json").read_text())
    result["speed"] = speed
    result["ratios"]["photos_per_s"] = speed["veil_photos_per_s"] / speed["deface_photos_per_s"]
    if video:
        result["video"] = video
        result["ratios"]["video_fps"] = video["veil_fps"] / video["deface_fps"]
    result["speed_env"] = environment("onnxruntime", "opencv-python-headless", "av") | {
        "deface": DEFACE_VERSION
    }
    print_table("Speed (same inputs, same run)", [speed | (video or {})], list(speed | (video or {})))
    print(f"wrote {write_results('anonymize', result)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-video", action="store_true")
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="re-measure only the speeds (on an idle machine) into the existing results",
    )
    args = parser.parse_args()
    data = data_root()
    peer_python("deface", f"deface=={DEFACE_VERSION}")
    coco = sorted((data / "coco" / "images").glob("*.jpg"))
    with tempfile.TemporaryDirectory(prefix="veil-bench-") as tmp:
        speed = photos_per_second(coco, Path(tmp) / "photos")
        video = (
            None
            if args.skip_video
            else video_fps(sorted((data / "celeba" / "images").glob("*/*.jpg"))[::40], Path(tmp))
        )
    if args.speed_only:
        update_speeds(speed, video)
        return
    boxes = recall(data)
    kept = utility(data, BlurWork())
    residual = evaluate_anonymization(BlurWork(), identities=data / "celeba" / "images").to_dict()
    settings = trade_off(data, kept, residual)
    controls = utility_controls(data)

    ratios = {"photos_per_s": speed["veil_photos_per_s"] / speed["deface_photos_per_s"]}
    if video:
        ratios["video_fps"] = video["veil_fps"] / video["deface_fps"]
    ratios["recall"] = boxes["veil"]["recall"] - boxes["deface"]["recall"]
    print_table("Speed (same inputs, same run)", [speed | (video or {})], list(speed | (video or {})))
    print_table(
        "Recall on dlib_faces (IoU >= 0.5)",
        [{"tool": tool, **row} for tool, row in boxes.items()],
        ["tool", "faces", "found", "false_positives", "recall", "precision"],
    )
    print_table(
        "Residual identifiability on CelebA dev (rank-1)",
        [
            {"model": m, "clean": residual["rank1_clean"][m], "blurred": residual["rank1_anonymized"][m]}
            for m in residual["rank1_clean"]
        ],
        ["model", "clean", "blurred"],
    )
    print_table("Utility on COCO photos with people", [kept], list(kept))
    print_table("Utility vs residual identifiability (the default first)", settings, list(settings[0]))
    print_table("Top-1 agreement after changes that hide no face (controls)", [controls], list(controls))
    result = {
        "benchmark": "anonymize",
        "env": environment("onnxruntime", "opencv-python-headless", "av") | {"deface": DEFACE_VERSION},
        "inputs": {
            "photos": "the 128 COCO photos (../shared/data/coco/images), both tools from the command line",
            "video": f"{VIDEO_SECONDS} s at 25 fps, 1920x1080, pans and zooms over CelebA photos, with audio",
            "recall": "dlib_faces training.xml + testing.xml, IoU >= 0.5",
            "residual": "CelebA dev: first photo per identity clean gallery, other photos blurred probes",
            "utility": "COCO photos with a person label, blurred with the defaults",
            "trade_off": "utility and residual (as above) for the default and weaker blurs",
            "utility_controls": "top-1 agreement (as above) after JPEG re-encoding, mirroring, "
            "the default blur at the mirrored face boxes, or a faint blur on the faces",
        },
        "defaults": asdict(BlurWork()),
        "speed": speed,
        "video": video,
        "recall": boxes,
        "residual_identifiability": residual,
        "utility": kept,
        "trade_off": settings,
        "utility_controls": controls,
        "ratios": ratios,
    }
    print(f"wrote {write_results('anonymize', result)}")


if __name__ == "__main__":
    main()
