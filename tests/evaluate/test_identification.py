"""Closed-set identification: listing identities, the gallery/probe split, ranks and CMC."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from veil.errors import InputError
from veil.evaluate import identification_report, list_identities, probe_ranks, split_gallery_probes

E0, E1, E2 = np.eye(3)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_list_identities_keeps_image_files_of_each_sub_folder(tmp_path: Path) -> None:
    b = [touch(tmp_path / "bob" / name) for name in ("2.png", "10.JPG")]
    a = [touch(tmp_path / "ann" / name) for name in ("a.jpg", "b.jpeg")]
    touch(tmp_path / "ann" / "notes.txt")
    touch(tmp_path / "ann" / "nested" / "c.jpg")  # a sub-folder's own files only
    touch(tmp_path / ".hidden" / "x.jpg")
    touch(tmp_path / "loose.jpg")
    (tmp_path / "empty").mkdir()
    assert list_identities(tmp_path) == {"ann": a, "bob": sorted(b)}


def test_list_identities_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        list_identities(tmp_path / "absent")


def test_split_puts_the_first_file_by_name_in_the_gallery() -> None:
    files = {
        "zed": [Path(f"z/{n}.jpg") for n in ("d", "b", "a", "c", "e")],
        "amy": [Path(f"other/{n}.jpg") for n in ("4", "2", "3")] + [Path("a/1.jpg")],
        "few": [Path(f"f/{n}.jpg") for n in ("1", "2", "3")],
    }
    gallery, probes = split_gallery_probes(files)
    assert gallery == [("amy", Path("a/1.jpg")), ("zed", Path("z/a.jpg"))]
    assert probes == [("amy", Path(f"other/{n}.jpg")) for n in "234"] + [
        ("zed", Path(f"z/{n}.jpg")) for n in "bcde"
    ]
    assert len(split_gallery_probes(files, min_images=3)[0]) == 3


def test_split_needs_room_for_a_probe() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        split_gallery_probes({}, min_images=1)


def test_ranks_and_cmc_on_a_constructed_case() -> None:
    probes = np.array(
        [
            [1.0, 0.1, 0.0],  # ann: nearest ann -> rank 1
            [0.0, 0.5, 1.0],  # bob: cy first, then bob -> rank 2
            [1.0, 0.6, 0.3],  # cy: ann, bob, then cy -> rank 3
            [0.0, 0.2, 1.0],  # cy -> rank 1
        ]
    )
    ids = ["ann", "bob", "cy", "cy"]
    assert probe_ranks([E0, E1, E2], ["ann", "bob", "cy"], probes, ids).tolist() == [1, 2, 3, 1]
    report = identification_report([E0, E1, E2], ["ann", "bob", "cy"], probes, ids, fallbacks=2)
    assert report.cmc == (0.5, 0.75, 1.0)  # cut at the number of identities
    assert (report.rank1, report.rank5, report.n_probes, report.n_identities) == (0.5, 1.0, 4, 3)
    data = json.loads(json.dumps(report.to_dict()))
    assert data == {
        "rank1": 0.5,
        "rank5": 1.0,
        "n_probes": 4,
        "n_identities": 3,
        "fallbacks": 2,
        "cmc": [0.5, 0.75, 1.0],
    }


def test_an_identity_scores_by_its_best_gallery_entry() -> None:
    ranks = probe_ranks([E1, E0, E2], ["bob", "ann", "ann"], [[0.0, 0.3, 1.0]], ["ann"])
    assert ranks.tolist() == [1]


def test_ties_count_against_the_probe() -> None:
    assert probe_ranks([E0, E1], ["ann", "bob"], [[1.0, 1.0, 0.0]], ["ann"]).tolist() == [2]


def test_cmc_stops_at_max_rank() -> None:
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(30, 8))
    ids = [str(i) for i in range(30)]
    report = identification_report(gallery, ids, gallery + rng.normal(0, 0.5, (30, 8)), ids, max_rank=10)
    assert len(report.cmc) == 10
    assert report.cmc[0] == report.rank1
    assert report.cmc[4] == report.rank5
    assert list(report.cmc) == sorted(report.cmc)


@pytest.mark.parametrize(
    ("gallery_ids", "probe_ids", "reason"),
    [
        (["ann", "bob"], ["dan"], "1 of 1 lack an entry (first: 'dan')"),
        (["ann"], ["ann"], "need one id per embedding"),
    ],
)
def test_bad_identities_are_input_errors(gallery_ids: list[str], probe_ids: list[str], reason: str) -> None:
    with pytest.raises(InputError) as caught:
        identification_report([E0, E1], gallery_ids, [E0], probe_ids)
    assert reason in caught.value.reason


def test_embeddings_of_different_widths_are_refused() -> None:
    with pytest.raises(InputError, match="3-D, probes 2-D"):
        probe_ranks([E0], ["ann"], [[1.0, 0.0]], ["ann"])


@pytest.mark.data
def test_celeba_identities_split_per_the_protocol(shared_data: Path) -> None:
    identities = list_identities(shared_data / "celeba" / "images")
    gallery, probes = split_gallery_probes(identities)
    eligible = {name: files for name, files in identities.items() if len(files) >= 4}
    assert [name for name, _ in gallery] == sorted(eligible)
    assert all(path == min(eligible[name], key=lambda file: file.name) for name, path in gallery)
    assert len(probes) == sum(len(files) - 1 for files in eligible.values())
