"""The room-type vocabulary: the R3D classes, what each is called, and names mapped onto them.

``ROOM_TYPES`` is the fixed vocabulary of a room's ``type`` in the result document (and the
order of the network's room-type channels); ``UNKNOWN_TYPE`` is the type of a room found by a
backend that has no room-type output (the OpenCV baseline, a wall-and-opening checkpoint).
:func:`room_type_of_name` maps a free-text room name (the customers' ``name_hint``, a
generator's kind, a label read on the plan) onto the vocabulary.
"""

from __future__ import annotations

import re

ROOM_TYPES: tuple[str, ...] = ("closet", "bathroom", "living", "bedroom", "hall", "balcony")
UNKNOWN_TYPE = "unknown"
DOCUMENT_ROOM_TYPES: tuple[str, ...] = (*ROOM_TYPES, UNKNOWN_TYPE)

# What a room of each type is called when nothing better is known (``name_hint`` before OCR).
TYPE_NAMES: dict[str, str] = {
    "closet": "Closet",
    "bathroom": "Bathroom",
    "living": "Living room",
    "bedroom": "Bedroom",
    "hall": "Hall",
    "balcony": "Balcony",
}

# Whole words (lower case) that name each type; the first type whose word occurs wins, in this order,
# so "master bedroom" is a bedroom and "bathroom closet" ... a closet only when no earlier rule matched.
_TYPE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("balcony", ("balcony", "terrace", "patio", "deck", "veranda", "verandah", "loggia", "porch")),
    (
        "bathroom",
        (
            "bath",
            "bathroom",
            "wc",
            "toilet",
            "shower",
            "washroom",
            "restroom",
            "lavatory",
            "ensuite",
            "en-suite",
            "powder",
            "laundry",
            "utility",
            "boiler",
        ),
    ),
    (
        "bedroom",
        (
            "bed",
            "bedroom",
            "master",
            "guest",
            "nursery",
            "sleeping",
            "study",
            "office",
            "den",
            "library",
            "bdr",
            "br",
        ),
    ),
    (
        "closet",
        (
            "closet",
            "wardrobe",
            "walk-in",
            "wic",
            "storage",
            "store",
            "pantry",
            "cupboard",
            "linen",
            "cloak",
            "cloakroom",
            "cl",
            "wr",
        ),
    ),
    (
        "hall",
        (
            "hall",
            "hallway",
            "corridor",
            "entrance",
            "entry",
            "foyer",
            "lobby",
            "landing",
            "passage",
            "vestibule",
            "stair",
            "stairs",
            "staircase",
        ),
    ),
    (
        "living",
        (
            "living",
            "lounge",
            "kitchen",
            "dining",
            "family",
            "sitting",
            "reception",
            "great",
            "kitchenette",
            "diner",
            "breakfast",
            "salon",
            "livingroom",
            "kit",
            "dr",
            "lr",
        ),
    ),
)


def room_type_of_name(name: str | None) -> str | None:
    """The vocabulary type a room name means (``"Master Bedroom"`` -> ``"bedroom"``), else ``None``.

    The name is lower-cased and split into words (also with its dots removed, so ``"W.C."`` is
    ``wc``); a name that already is a vocabulary type maps to itself.
    """
    if not name:
        return None
    text = str(name).strip().lower()
    if text in ROOM_TYPES:
        return text
    words = set(re.findall(r"[a-z][a-z\-]*", text)) | set(re.findall(r"[a-z][a-z\-]*", text.replace(".", "")))
    words |= {w.replace("-", "") for w in words}
    for room_type, names in _TYPE_WORDS:
        if words & set(names):
            return room_type
    return None
