"""The Ray engine gives the same outputs as the local engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import veil
from veil.anonymize import blur_files

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_ray_outputs_equal_local_outputs(astronaut: np.ndarray, tmp_path: Path) -> None:
    for index in range(6):
        veil.write_image(
            np.roll(astronaut, 11 * index, axis=0), tmp_path / "in" / f"sub{index % 2}" / f"{index}.png"
        )
    local = blur_files([tmp_path / "in"], tmp_path / "local", workers=1)
    on_ray = blur_files([tmp_path / "in"], tmp_path / "ray", engine="ray", workers=2)
    assert on_ray.to_dict()["done"] == local.to_dict()["done"] == 6
    assert [r.faces for r in on_ray.records] == [r.faces for r in local.records]
    for output in (tmp_path / "local").rglob("*.png"):
        assert np.array_equal(
            veil.read_image(output),
            veil.read_image(tmp_path / "ray" / output.relative_to(tmp_path / "local")),
        )
