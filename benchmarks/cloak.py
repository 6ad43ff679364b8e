"""Cloaking benchmark on CelebA dev: protection, quality and speed for each mode.

For each mode, ``--identities`` CelebA identities with 12 photos are protected:
the first half of each one's photos (by name) is cloaked, the other half stays
clean; every other identity is a distractor. ``veil.evaluate.evaluate_protection``
then measures the poisoning and evasion protocols of DESIGN.md for every
recognizer (sface and facenet white-box, dlib black-box), before and after each
countermeasure, with the face-region DSSIM and PSNR of every cloaked photo.

Speed: the cloaks are made by ``veil.cloak.cloak_files`` as a user's folder job
would be (a process pool over the 2 cores); seconds per face is the job's wall
time over the faces cloaked, and the per-photo time each worker took is
reported beside it.

Run: ``python benchmarks/cloak.py [--modes mid,low,high] [--identities 20]``.
Writes ``benchmarks/results/cloak.json`` (and the protection cards under
``benchmarks/results/cloak/``, which are not committed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, data_root, environment, print_table, write_results
from veil.cloak import DEFAULT_MODELS, MODES, CloakWork, cloak_files
from veil.evaluate import evaluate_protection, list_identities
from veil.jobs import MANIFEST_NAME

PHOTOS_PER_IDENTITY = 12
CLOAKED_PER_IDENTITY = 6
# Fewer identities for the modes the acceptance does not judge, to keep a run near half an hour.
DEFAULT_IDENTITIES = {"mid": 20, "low": 10, "high": 10}


def protected_photos(celeba: Path, count: int) -> dict[str, list[Path]]:
    """The first ``count`` identities with 12 photos, and the first half of each one's photos."""
    identities = list_identities(celeba)
    chosen = [name for name, photos in identities.items() if len(photos) == PHOTOS_PER_IDENTITY][:count]
    return {name: identities[name][:CLOAKED_PER_IDENTITY] for name in chosen}


def cloak_mode(mode: str, photos: dict[str, list[Path]], out: Path) -> dict[str, Any]:
    """Cloak every chosen photo in ``mode`` into ``out/<identity>/``; time it."""
    with tempfile.TemporaryDirectory() as staging:
        inputs = Path(staging)
        for name, files in photos.items():
            (inputs / name).mkdir()
            for file in files:
                shutil.copyfile(file, inputs / name / file.name)
        start = time.perf_counter()
        report = cloak_files([inputs], out, CloakWork(mode=mode))
        seconds = time.perf_counter() - start
    records = [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]
    faces = sum(r["faces"] for r in records if r["status"] == "done")
    worker_ms = [r["ms"] for r in records if r["status"] == "done"]
    return {
        "photos": len(records),
        "failed": report.count("failed"),
        "faces": faces,
        "job_seconds": seconds,
        "seconds_per_face": seconds / max(1, faces),
        "worker_seconds_per_photo": sum(worker_ms) / max(1, len(worker_ms)) / 1000,
    }


def rate_rows(report: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    return [
        {
            "mode": mode,
            "recognizer": rate["recognizer"],
            "box": "white" if rate["white_box"] else "black",
            "protocol": rate["protocol"],
            "countermeasure": rate["countermeasure"],
            "rate": rate["rate"],
            "baseline": rate["baseline"],
            "probes": rate["n_probes"],
        }
        for rate in report["rates"]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="mid,low,high")
    parser.add_argument("--identities", type=int, default=None, help="protected identities per mode")
    args = parser.parse_args()

    celeba = data_root() / "celeba" / "images"
    cards = RESULTS / "cloak"
    modes: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for mode in args.modes.split(","):
        photos = protected_photos(celeba, args.identities or DEFAULT_IDENTITIES[mode])
        with tempfile.TemporaryDirectory() as work:
            speed = cloak_mode(mode, photos, Path(work) / mode)
            report = evaluate_protection(
                celeba, Path(work) / mode, white_box=DEFAULT_MODELS, out_dir=cards / mode
            ).to_dict()
        modes[mode] = {
            "budget": MODES[mode].budget,
            "settings": {
                "max_steps": MODES[mode].max_steps,
                "goal": MODES[mode].goal,
                "robust": MODES[mode].robust,
                "learning_rate": MODES[mode].learning_rate,
            },
            "protected_identities": len(photos),
            "speed": speed,
            "protection": report,
        }
        rows.extend(rate_rows(report, mode))
        print(f"{mode}: {speed['seconds_per_face']:.1f} s per face", flush=True)

    print_table(
        "Protection success rate (baseline: the same photos uncloaked)",
        rows,
        ["mode", "recognizer", "box", "protocol", "countermeasure", "rate", "baseline", "probes"],
    )
    quality = [
        {
            "mode": mode,
            "budget": entry["budget"],
            **{f"face_{k}": v for k, v in (entry["protection"]["quality"]["face"] or {}).items()},
            "seconds_per_face": entry["speed"]["seconds_per_face"],
        }
        for mode, entry in modes.items()
    ]
    print_table("Quality and speed", quality, list(quality[0]))
    result = {
        "benchmark": "cloak",
        "env": environment("torch", "kornia", "pytorch-msssim"),
        "inputs": {
            "data": "CelebA dev (../shared/data/celeba/images), 145 identities",
            "protected": f"identities with {PHOTOS_PER_IDENTITY} photos: the first "
            f"{CLOAKED_PER_IDENTITY} by name cloaked, the rest clean probes / gallery",
            "distractors": "every other identity, all photos clean",
            "white_box": list(DEFAULT_MODELS),
        },
        "modes": modes,
    }
    print(f"wrote {write_results('cloak', result)}")


if __name__ == "__main__":
    main()
