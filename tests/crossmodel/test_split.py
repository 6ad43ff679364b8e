"""The cross-model split: test identities never give anchors, and the same seed splits alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from veil.crossmodel import split_crossmodel
from veil.errors import InputError


def test_anchor_identities_are_never_tested(world) -> None:
    split = world.split
    tested = {identity for identity, _ in (*split.gallery, *split.probes)}
    assert len(tested) == split.n_identities == 20
    assert not tested & {identity for identity, _ in split.anchors}
    assert len(split.anchors) == 20 * 8  # every photo of the other 20 identities, under max_anchors
    assert len(split.paths()) == 40 * 8


def test_the_same_seed_splits_alike_and_another_does_not(world) -> None:
    again = split_crossmodel(world.root, test_fraction=0.5, max_anchors=400, seed=1)
    assert again == world.split
    assert (
        split_crossmodel(world.root, test_fraction=0.5, max_anchors=400, seed=2).gallery
        != world.split.gallery
    )


def test_smaller_anchor_sets_nest_in_larger_ones(world) -> None:
    small = split_crossmodel(world.root, test_fraction=0.5, max_anchors=30, seed=1)
    assert small.anchors == world.split.anchors[:30]
    assert small.gallery == world.split.gallery


def test_a_second_data_set_gives_the_anchors_and_leaves_the_test_set(
    world, make_world: Callable[..., object], tmp_path: Path
) -> None:
    make_world(tmp_path / "other", identities=10, per_identity=5)
    cross = split_crossmodel(
        world.root, fit_root=tmp_path / "other", test_fraction=0.5, max_anchors=400, seed=1
    )
    assert (cross.gallery, cross.probes) == (world.split.gallery, world.split.probes)
    assert len(cross.anchors) == 50 and cross.anchors_from == tmp_path / "other"
    assert all(path.is_relative_to(tmp_path / "other") for _, path in cross.anchors)


def test_bad_splits_are_refused(world, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="test_fraction"):
        split_crossmodel(world.root, test_fraction=1.0)
    with pytest.raises(ValueError, match="max_anchors"):
        split_crossmodel(world.root, max_anchors=1)
    with pytest.raises(InputError, match="not a folder"):
        split_crossmodel(tmp_path / "absent")
