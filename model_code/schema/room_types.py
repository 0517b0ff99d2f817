"""The room-type vocabulary: the R3D classes, what each is called, and names mapped onto them.

``ROOM_TYPES`` is the fixed vocabulary of a room's ``type`` in the result document (and the
order of the network's room-type channels); ``UNKNOWN_TYPE`` is the type of a room found by a
backend that has no room-type output (the OpenCV baseline, a wall-and-opening checkpoint).
:func:`room_type_of_name` maps a free-text room name (the customers' ``name_hint``, a
generator's kind, a label read on the plan) onto the vocabulary.
"""

from __future__ import annotations

import re
import unicodedata

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


# The same vocabulary in French, Spanish, German and Swedish (lower case, accents removed: the
# recogniser often drops them, and "Kök", "Kok" and "KÖK" must all mean a kitchen).  Checked after the
# English words, in the same type order.
_FOREIGN_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "balcony",
        ("balcon", "terrasse", "terraza", "balkon", "balkong", "altan", "uteplats", "veranda", "loggia"),
    ),
    (
        "bathroom",
        (
            # French
            "sdb",
            "eau",
            "sde",
            "bain",
            "bains",
            "toilettes",
            "douche",
            "buanderie",
            "lavabo",
            # Spanish
            "bano",
            "banos",
            "aseo",
            "aseos",
            "ducha",
            "lavadero",
            "servicio",
            # German
            "bad",
            "badezimmer",
            "dusche",
            "duschbad",
            "gaste-wc",
            "hwr",
            "waschkuche",
            "toilette",
            # Swedish
            "badrum",
            "dusch",
            "tvatt",
            "tvattstuga",
            "toalett",
            "duschrum",
        ),
    ),
    (
        "bedroom",
        (
            "chambre",
            "chambres",
            "ch",
            "bureau",
            "dormitorio",
            "habitacion",
            "recamara",
            "estudio",
            "despacho",
            "alcoba",
            "schlafzimmer",
            "schlafen",
            "kinderzimmer",
            "gastezimmer",
            "arbeitszimmer",
            "zimmer",
            "buro",
            "sovrum",
            "sov",
            "gastrum",
            "arbetsrum",
            "kontor",
        ),
    ),
    (
        "closet",
        (
            "placard",
            "rangement",
            "dressing",
            "cellier",
            "debarras",
            "penderie",
            "armario",
            "vestidor",
            "trastero",
            "despensa",
            "abstellraum",
            "abstell",
            "ankleide",
            "speisekammer",
            "schrank",
            "vorratsraum",
            "forrad",
            "kladkammare",
            "klk",
            "skafferi",
            "garderob",
        ),
    ),
    (
        "hall",
        (
            "entree",
            "couloir",
            "degagement",
            "palier",
            "vestibule",
            "escalier",
            "dgt",
            "pasillo",
            "recibidor",
            "vestibulo",
            "entrada",
            "distribuidor",
            "escalera",
            "flur",
            "diele",
            "eingang",
            "korridor",
            "treppe",
            "treppenhaus",
            "windfang",
            "hall",
            "entre",
            "tambur",
            "trapp",
            "groventre",
        ),
    ),
    (
        "living",
        (
            "salon",
            "sejour",
            "cuisine",
            "manger",
            "sam",
            "living",
            "cocina",
            "comedor",
            "estar",
            "sala",
            "salon-comedor",
            "wohnzimmer",
            "wohnen",
            "kuche",
            "essen",
            "esszimmer",
            "wohnkuche",
            "essbereich",
            "vardagsrum",
            "kok",
            "matrum",
            "matsal",
            "allrum",
            "sallskapsrum",
            "kokso",
            "vardagsrum/kok",
        ),
    ),
)

# Word beginnings and endings of compounds (German and Swedish write "Kinderzimmer", "Masterbedroom",
# "Gästbadrum" as one word): a word of 6 letters or more that starts or ends with one of these.
_COMPOUND_STEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("balcony", ("balkon", "terrass", "balcony")),
    ("bathroom", ("badezimmer", "badrum", "dusch", "tvatt", "bathroom", "toilet")),
    ("bedroom", ("schlaf", "sovrum", "kinderzimmer", "gastezimmer", "bedroom", "gastrum")),
    ("closet", ("abstell", "forrad", "kladkammare", "ankleide", "speisekammer", "closet", "wardrobe")),
    ("hall", ("flur", "diele", "korridor", "hallway", "entre")),
    ("living", ("wohn", "kuche", "vardagsrum", "kitchen", "living", "allrum")),
)


def fold_accents(text: str) -> str:
    """``"Séjour / Kök"`` -> ``"Sejour / Kok"``: letters without their accents (and ß as ss)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> set[str]:
    words = set(re.findall(r"[a-z][a-z\-]*", text)) | set(re.findall(r"[a-z][a-z\-]*", text.replace(".", "")))
    words |= {w.replace("-", "") for w in words}
    words |= {part for w in words for part in w.split("-") if part}
    return words


def room_type_of_name(name: str | None, fuzzy: bool = False) -> str | None:
    """The vocabulary type a room name means (``"Master Bedroom"`` -> ``"bedroom"``), else ``None``.

    English, French, Spanish, German and Swedish (``"CHAMBRE 2"``, ``"Baño"``, ``"Schlafzimmer"``,
    ``"SOVRUM"``: bedroom, bathroom, bedroom, bedroom).  The name is lower-cased, its accents removed
    and split into words (also with its dots removed, so ``"W.C."`` is ``wc``); English words win
    over the other languages, then compounds are matched by their first or last part.  A name that
    already is a vocabulary type maps to itself.  ``fuzzy`` (for text read off a plan) also accepts
    a word of 5 letters or more one edit away from a vocabulary word (two for 8 or more):
    ``"Bedroam"``, ``"Kichen"``.
    """
    if not name:
        return None
    text = fold_accents(str(name)).strip().lower()
    if text in ROOM_TYPES:
        return text
    words = _words(text.replace("'", " "))
    for table in (_TYPE_WORDS, _FOREIGN_WORDS):
        for room_type, names in table:
            if words & set(names):
                return room_type
    for room_type, stems in _COMPOUND_STEMS:
        for word in words:
            if len(word) >= 6 and any(word.startswith(s) or word.endswith(s) for s in stems):
                return room_type
    if fuzzy:
        for word in sorted(words, key=len, reverse=True):
            if len(word) < 5:
                continue
            allowed = 2 if len(word) >= 8 else 1
            for table in (_TYPE_WORDS, _FOREIGN_WORDS):
                for room_type, names in table:
                    if any(len(n) >= 5 and _edit_distance(word, n, allowed) <= allowed for n in names):
                        return room_type
    return None


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` as soon as it is certainly over ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]
