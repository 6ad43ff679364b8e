"""Pairs files: LFW View 1, LFW View 2 and plain lists, and clear errors on malformed lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from veil.errors import InputError
from veil.evaluate import Pair, read_pairs

VIEW_1 = """2
Ann_Lee\t1\t2
Bo\t3\t10
Ann_Lee\t1\tBo\t2
Bo\t4\tCy_Z\t1
"""

# Two folds of one same and one different pair each (LFW's pairs.txt is "10 300").
VIEW_2 = """2 1
Ann_Lee 1 2
Ann_Lee 1 Bo 2
Bo 3 4
Bo 4 Cy_Z 1
"""


def write(folder: Path, text: str, name: str = "pairs.txt") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_view_1_names_images_under_images_beside_the_file(tmp_path: Path) -> None:
    images = tmp_path / "images"
    assert read_pairs(write(tmp_path, VIEW_1)) == [
        Pair(images / "Ann_Lee/Ann_Lee_0001.jpg", images / "Ann_Lee/Ann_Lee_0002.jpg", True),
        Pair(images / "Bo/Bo_0003.jpg", images / "Bo/Bo_0010.jpg", True),
        Pair(images / "Ann_Lee/Ann_Lee_0001.jpg", images / "Bo/Bo_0002.jpg", False),
        Pair(images / "Bo/Bo_0004.jpg", images / "Cy_Z/Cy_Z_0001.jpg", False),
    ]


def test_images_root_replaces_the_default_folder(tmp_path: Path) -> None:
    pairs = read_pairs(write(tmp_path, VIEW_1), images_root=Path("/data/lfw"))
    assert pairs[0].path_a == Path("/data/lfw/Ann_Lee/Ann_Lee_0001.jpg")


def test_view_2_records_the_fold_of_each_pair(tmp_path: Path) -> None:
    pairs = read_pairs(write(tmp_path, VIEW_2))
    assert [(pair.fold, pair.is_same) for pair in pairs] == [(0, True), (0, False), (1, True), (1, False)]
    assert pairs[3].path_b == tmp_path / "images/Cy_Z/Cy_Z_0001.jpg"


def test_plain_pairs_are_relative_to_the_file_and_allow_comments(tmp_path: Path) -> None:
    text = """# path_a path_b label
a/1.jpg a/2.jpg 1

a/1.jpg b/1.jpg 0
  # an indented comment
/abs/x.png b/2.jpg same
c.jpg d.jpg DIFFERENT
"""
    pairs = read_pairs(write(tmp_path, text))
    assert pairs == [
        Pair(tmp_path / "a/1.jpg", tmp_path / "a/2.jpg", True),
        Pair(tmp_path / "a/1.jpg", tmp_path / "b/1.jpg", False),
        Pair(Path("/abs/x.png"), tmp_path / "b/2.jpg", True),
        Pair(tmp_path / "c.jpg", tmp_path / "d.jpg", False),
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2\nA 1 2\nB 1 2\nA 1 B 1\n", "header promises 1 fold(s) of 2 same + 2 different pairs (4 lines)"),
        ("1\nA 1 B 2\nA 1 B 1\n", "line 2: expected 3 fields (name n1 n2), found 4"),
        ("1\nA 1 2\nA 1 B\n", "line 3: expected 4 fields (name1 n1 name2 n2), found 3"),
        ("1\nA 1 two\nA 1 B 1\n", "line 2: image number 'two' is not a whole number"),
        (
            "# header\na.jpg b.jpg 1\n\na.jpg b.jpg yes\n",
            "line 4: label 'yes' is not 1, 0, same or different",
        ),
        ("a.jpg b.jpg 1\na.jpg 1\n", "line 2: expected 3 fields (path_a path_b label), found 2"),
        ("# only a comment\n\n", "pairs file holds no pairs"),
    ],
)
def test_malformed_files_name_the_file_line_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_pairs(path)
    assert caught.value.path == str(path)
    assert reason in caught.value.reason


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read pairs file"):
        read_pairs(tmp_path / "absent.txt")


@pytest.mark.data
@pytest.mark.parametrize(("name", "count"), [("pairsDevTrain.txt", 2200), ("pairsDevTest.txt", 1000)])
def test_lfw_view_1_files_parse_and_name_existing_images(shared_data: Path, name: str, count: int) -> None:
    pairs = read_pairs(shared_data / "lfw" / name)
    assert len(pairs) == count
    assert sum(pair.is_same for pair in pairs) == count // 2
    assert all(pair.is_same == (pair.path_a.parent == pair.path_b.parent) for pair in pairs)
    missing = [path for pair in pairs for path in (pair.path_a, pair.path_b) if not path.is_file()]
    assert missing == []
