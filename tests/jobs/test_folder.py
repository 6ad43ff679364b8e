"""Folder jobs: mirrored trees, manifests, failures that do not stop the batch, and resuming after a kill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import veil
from veil.anonymize import BlurWork, blur_files
from veil.errors import OutputError
from veil.jobs import MANIFEST_NAME


def _tree(root: Path, astronaut: np.ndarray, count: int = 4) -> list[Path]:
    photos = []
    for index in range(count):
        folder = root / ("a" if index % 2 else "b/c")
        photos.append(veil.write_image(np.roll(astronaut, 7 * index, axis=1), folder / f"photo{index}.jpg"))
    return photos


def _manifest(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def test_tree_is_mirrored_with_a_manifest(astronaut: np.ndarray, tmp_path: Path) -> None:
    photos = _tree(tmp_path / "in", astronaut)
    (tmp_path / "in" / "a" / "notes.txt").write_text("not a photo")
    before = {p: p.read_bytes() for p in photos}
    report = blur_files([tmp_path / "in"], tmp_path / "out", workers=1)
    assert report.to_dict()["done"] == 4 and report.to_dict()["skipped"] == 1
    for photo in photos:
        relative = photo.relative_to(tmp_path / "in")
        blurred = veil.read_image(tmp_path / "out" / relative)
        assert blurred.shape == astronaut.shape
        assert photo.read_bytes() == before[photo]  # inputs untouched
    records = {r["input"]: r for r in _manifest(tmp_path / "out")}
    assert records["a/notes.txt"]["status"] == "skipped"
    assert not (tmp_path / "out" / "a" / "notes.txt").exists()
    done = records["b/c/photo0.jpg"]
    assert done["status"] == "done" and done["faces"] == 1 and done["detector"] == "yunet-voting"
    assert done["output"] == "b/c/photo0.jpg" and len(str(done["input_sha256"])) == 64


def test_bad_files_fail_alone(astronaut: np.ndarray, bad_inputs: dict[str, Path], tmp_path: Path) -> None:
    folder = next(iter(bad_inputs.values())).parent
    veil.write_image(astronaut, folder / "good.png")
    report = blur_files([folder], tmp_path / "out", workers=1)
    assert report.to_dict()["done"] == 1 and len(report.failures) == len(bad_inputs)
    for record in report.failures:
        assert record.error.startswith(str(folder)) and record.output == ""
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png", MANIFEST_NAME]


def test_other_files_are_copied_on_request(astronaut: np.ndarray, tmp_path: Path) -> None:
    _tree(tmp_path / "in", astronaut, count=1)
    (tmp_path / "in" / "notes.txt").write_text("kept")
    blur_files([tmp_path / "in"], tmp_path / "out", workers=1, copy_others=True)
    assert (tmp_path / "out" / "notes.txt").read_text() == "kept"


def test_two_inputs_with_one_output_name_do_not_overwrite(astronaut: np.ndarray, tmp_path: Path) -> None:
    veil.write_image(astronaut, tmp_path / "in" / "photo.jpg")
    veil.write_image(astronaut[:, ::-1], tmp_path / "in" / "photo.png")
    report = blur_files([tmp_path / "in"], tmp_path / "out", BlurWork(output_format=".png"), workers=1)
    (failure,) = report.failures
    assert failure.input == "photo.png" and "photo.jpg" in failure.error
    records = {r["input"]: r for r in _manifest(tmp_path / "out")}
    assert records["photo.jpg"]["status"] == "done" and records["photo.jpg"]["output"] == "photo.png"


@pytest.mark.parametrize("out", [".", "a/blurred"])
def test_an_output_folder_inside_the_input_is_refused_before_anything_is_written(
    astronaut: np.ndarray, tmp_path: Path, out: str
) -> None:
    _tree(tmp_path / "in", astronaut)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(OutputError, match="inside, the input folder"):
        blur_files([tmp_path / "in"], tmp_path / "in" / out, workers=1)
    assert sorted(tmp_path.rglob("*")) == before


def test_a_second_run_needs_resume_and_redoes_nothing(astronaut: np.ndarray, tmp_path: Path) -> None:
    _tree(tmp_path / "in", astronaut)
    blur_files([tmp_path / "in"], tmp_path / "out", workers=1)
    with pytest.raises(OutputError, match="--resume"):
        blur_files([tmp_path / "in"], tmp_path / "out", workers=1)
    again = blur_files([tmp_path / "in"], tmp_path / "out", workers=1, resume=True)
    assert again.resumed == 4 and len(_manifest(tmp_path / "out")) == 4


def test_resume_clears_what_killed_writes_left_and_keeps_other_files(
    astronaut: np.ndarray, tmp_path: Path
) -> None:
    _tree(tmp_path / "in", astronaut)
    blur_files([tmp_path / "in"], tmp_path / "out", workers=1)
    leftover = tmp_path / "out" / "b" / "c" / "..photo0.veil-partial.jpg.0a1b2c3d.tmp"
    kept = tmp_path / "out" / "a" / ".notes.0a1b2c3d.tmp"  # not one of the job's outputs
    for path in (leftover, kept):
        path.write_bytes(b"half")
    blur_files([tmp_path / "in"], tmp_path / "out", workers=1, resume=True)
    assert not leftover.exists() and kept.exists()


def test_a_changed_input_is_redone_on_resume(astronaut: np.ndarray, tmp_path: Path) -> None:
    photos = _tree(tmp_path / "in", astronaut)
    blur_files([tmp_path / "in"], tmp_path / "out", workers=1)
    photos[0].unlink()
    veil.write_image(astronaut[::-1].copy(), photos[0])
    again = blur_files([tmp_path / "in"], tmp_path / "out", workers=1, resume=True)
    assert again.resumed == 3 and again.to_dict()["done"] == 4


def test_work_runs_on_threads_only_where_the_gil_is_released() -> None:
    assert BlurWork().in_threads and BlurWork(detector="auto").in_threads
    assert not BlurWork(detector="centerface").in_threads  # OpenCV's network: one call at a time
    assert not BlurWork(detector="yunet+dlib-hog").in_threads
    assert not BlurWork(keep=Path("people.veil")).in_threads  # consent runs torch recognizers


@pytest.mark.parametrize("detector", ["yunet", "centerface"])  # a thread pool, a process pool
def test_local_pool_matches_inline(astronaut: np.ndarray, tmp_path: Path, detector: str) -> None:
    _tree(tmp_path / "in", astronaut)
    blur_files([tmp_path / "in"], tmp_path / "one", BlurWork(detector=detector), workers=1)
    blur_files([tmp_path / "in"], tmp_path / "two", BlurWork(detector=detector), workers=2)
    for output in (tmp_path / "one").rglob("*.jpg"):
        assert output.read_bytes() == (tmp_path / "two" / output.relative_to(tmp_path / "one")).read_bytes()


@pytest.mark.slow
def test_resume_after_sigkill_finishes_every_output_once(astronaut: np.ndarray, tmp_path: Path) -> None:
    _tree(tmp_path / "in", astronaut, count=40)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "veil", "blur", str(tmp_path / "in"), "-o", str(out), "--workers", "1"]
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / MANIFEST_NAME
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not manifest.exists() or manifest.read_text().count("\n") < 10):
        time.sleep(0.01)
    job.send_signal(signal.SIGKILL)
    job.wait()
    recorded = _manifest(out)
    assert 10 <= len(recorded) < 40, "the kill must land midway"
    # A record is durable before its output is renamed into place, so the kill may fall in between.
    renamed = [out / str(r["output"]) for r in recorded if (out / str(r["output"])).exists()]
    before_kill = {output: output.stat().st_mtime_ns for output in renamed}

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    records = _manifest(out)
    done = [r["input"] for r in records if r["status"] == "done"]
    assert sorted(done) == sorted(set(done)) and len(done) == 40  # every input done exactly once
    for output, mtime in before_kill.items():
        assert output.stat().st_mtime_ns == mtime  # not written twice
    for record in records:
        assert veil.read_image(out / str(record["output"])).shape == astronaut.shape
    assert not list(out.rglob(".*veil-partial*"))
