"""The generator's room kinds and drawn labels on the room-type vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from model_code.datasets.room_maps import TYPE_NONE, TYPE_UNKNOWN, label_type_map, type_index
from model_code.schema import ROOM_TYPES, room_type_of_name
from model_code.synth import generate_plan
from model_code.synth.generator import TERRACE_KIND
from model_code.synth.layout import ROOM_KINDS
from model_code.synth.render import ROOM_NAMES

KIND_TYPES = {
    "living": "living",
    "kitchen": "living",
    "dining": "living",
    "bedroom": "bedroom",
    "bath": "bathroom",
    "wc": "bathroom",
    "closet": "closet",
    "study": "bedroom",
    "utility": "bathroom",
    "hall": "hall",
}


def test_every_kind_has_a_vocabulary_type() -> None:
    assert set(ROOM_KINDS) == set(KIND_TYPES) == set(ROOM_NAMES)
    for kind, room_type in KIND_TYPES.items():
        assert room_type_of_name(kind) == room_type
    lookup = label_type_map(np.arange(len(ROOM_KINDS) + 1)[None, :], list(ROOM_KINDS))
    assert lookup[0, 0] == TYPE_NONE
    assert TYPE_UNKNOWN not in lookup
    assert list(lookup[0, 1:]) == [type_index(KIND_TYPES[k]) for k in ROOM_KINDS]


# drawn labels that name another type than their kind (kept: they are what such a label says)
LABEL_EXCEPTIONS = {"Dining Hall": "hall", "Cloakroom": "closet"}


@pytest.mark.parametrize("kind", sorted(ROOM_NAMES))
def test_drawn_labels_name_their_kind(kind: str) -> None:
    for label in ROOM_NAMES[kind]:
        for text in (label.format(n=2), label.format(n=2).upper()):
            expected = LABEL_EXCEPTIONS.get(label, KIND_TYPES[kind])
            assert room_type_of_name(text) == expected, text


def test_generated_rooms_carry_their_type() -> None:
    kinds = {**KIND_TYPES, TERRACE_KIND: "balcony"}  # a terrace drawn outside the building
    for seed in range(4):
        plan = generate_plan(seed, size=256)
        types = [room.type for room in plan.annotation.rooms]
        assert types == [kinds[k] for k in plan.room_kinds]
        assert set(types) <= set(ROOM_TYPES)
        assert all(room.type_confidence is None for room in plan.annotation.rooms)


def test_scanned_plans_keep_room_types() -> None:
    plan = generate_plan(3, size=256, styles=["scan"])
    assert [room.type for room in plan.annotation.rooms] == [KIND_TYPES[k] for k in plan.room_kinds]
