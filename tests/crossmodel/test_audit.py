"""Leak audit: plain templates leak through a map; cancelable ones do not, unless the attacker has them."""

from __future__ import annotations

import json

from veil.crossmodel import CancelableTransform, leak_audit

KEY = b"system A template key, 32 bytes!"


def test_plain_templates_leak_once_the_attacker_has_enough_anchors(world) -> None:
    audit = leak_audit(world.split, world.photos, source="a", target="b", anchor_counts=(5, 160))
    assert audit.chance == 1 / 20 and (audit.n_leaked, audit.n_templates) == (20, 140)
    assert audit.protection is None
    assert [p.n_anchors for p in audit.points] == [5, 160]
    assert audit.points[-1].rank1 > 0.9 and audit.points[-1].low > audit.chance
    assert not audit.is_chance
    assert audit.points[0].rank1 < audit.points[-1].rank1


def test_biohash_templates_are_no_better_than_chance_without_the_key(world) -> None:
    system = CancelableTransform(KEY, model="a", bits=64)
    audit = leak_audit(
        world.split, world.photos, source="a", target="b", anchor_counts=(40, 160), protection=system
    )
    assert audit.protection == "biohash-64" and not audit.knows_templates
    assert audit.is_chance, audit.points
    assert json.loads(json.dumps(audit.to_dict()))["is_chance"] is True


def test_an_attacker_holding_the_systems_templates_maps_them_anyway(world) -> None:
    # Cancelable templates protect against leaks across keys, not against an insider with template pairs.
    system = CancelableTransform(KEY, model="a", method="rotation")
    audit = leak_audit(
        world.split,
        world.photos,
        source="a",
        target="b",
        anchor_counts=(160,),
        protection=system,
        knows_templates=True,
    )
    assert audit.knows_templates and audit.points[0].rank1 > 0.9
