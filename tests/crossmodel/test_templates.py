"""Cancelable template measurements on synthetic pairs: accuracy kept, keys unlinkable, revocation works."""

from __future__ import annotations

import json

import pytest

from veil.crossmodel import template_report
from veil.evaluate import Pair


def pairs_of(world, identities: range):
    """A genuine pair per identity (photos 0, 1) and an impostor pair (its photo 2, the next identity's 3)."""
    paths = {(p.parent.name, p.name): p for p in world.photos.paths}
    genuine = [
        Pair(paths[(f"id{k:03d}", "00.jpg")], paths[(f"id{k:03d}", "01.jpg")], True) for k in identities
    ]
    impostor = [
        Pair(paths[(f"id{k:03d}", "02.jpg")], paths[(f"id{(k + 1) % 40:03d}", "03.jpg")], False)
        for k in identities
    ]
    return genuine + impostor


@pytest.mark.parametrize("method", ["biohash", "rotation"])
def test_templates_keep_accuracy_and_unlink_keys(world, method: str) -> None:
    report = template_report(
        world.photos,
        pairs_of(world, range(20)),
        pairs_of(world, range(20, 40)),
        model="a",
        method=method,
        bits=256,
    )
    assert report.plain.accuracy > 0.95
    assert report.accuracy_drop <= (0.0 if method == "rotation" else 0.05)
    assert report.plain_linkability.d_sys > 0.7
    # 80 mated scores make a coarse histogram, so even identical distributions read a little above 0.
    assert report.linkability.d_sys < 0.35
    assert report.renewed_accept_rate <= 0.1
    assert report.bits == (256 if method == "biohash" else 32)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["accuracy_drop"] == pytest.approx(report.accuracy_drop)
