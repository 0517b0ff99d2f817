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
            "ldk",
            "sldk",
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

# Room names in Chinese (simplified and traditional), Japanese and Korean.  These scripts put no
# space between words, so a vocabulary word is looked for anywhere in the name (NFKC-normalised, not
# folded: folding would take Korean syllables and Japanese kana apart).  The head noun comes last in all
# three ("主卧卫生间" is the master bedroom's bathroom, "主卧衣帽间" its walk-in closet, "卧室阳台" the
# bedroom's balcony), so the word that ends last in the name decides, the longer on a tie.  The OCR
# reads Chinese characters and kanji (not kana or hangul); kana and hangul names still come from the
# customers' ``name_hint``.
_CJK_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "balcony",
        (
            "阳台",
            "陽台",
            "陽臺",
            "露台",
            "露臺",
            "晒台",
            "曬台",
            "バルコニー",
            "ベランダ",
            "テラス",
            "발코니",
            "베란다",
            "테라스",
        ),
    ),
    (
        "bathroom",
        (
            "卫生间",
            "衛生間",
            "卫浴",
            "衛浴",
            "浴室",
            "厕所",
            "廁所",
            "洗手间",
            "洗手間",
            "主卫",
            "次卫",
            "客卫",
            "公卫",
            "主衛",
            "次衛",
            "客衛",
            "公衛",
            "淋浴",
            "盥洗",
            "洗衣房",
            "洗衣间",
            "洗衣間",
            "便所",
            "洗面所",
            "脱衣所",
            "脱衣室",
            "トイレ",
            "ユニットバス",
            "욕실",
            "화장실",
            "세탁실",
        ),
    ),
    (
        "bedroom",
        (
            "卧室",
            "臥室",
            "卧",
            "臥",
            "儿童房",
            "兒童房",
            "老人房",
            "客房",
            "书房",
            "書房",
            "工人房",
            "保姆房",
            "寝室",
            "洋室",
            "和室",
            "書斎",
            "子供部屋",
            "침실",
            "안방",
            "서재",
            "아이방",
            "작은방",
        ),
    ),
    (
        "closet",
        (
            "衣帽间",
            "衣帽間",
            "更衣室",
            "储藏",
            "儲藏",
            "藏室",  # 储藏室 with its first character misread
            "储物",
            "儲物",
            "杂物间",
            "雜物間",
            "收纳",
            "收納",
            "押入",
            "物入",
            "納戸",
            "収納",
            "クローゼット",
            "드레스룸",
            "창고",
            "수납",
            "팬트리",
        ),
    ),
    (
        "hall",
        (
            "玄关",
            "玄關",
            "玄関",
            "门厅",
            "門廳",
            "过道",
            "過道",
            "走廊",
            "走道",
            "楼梯",
            "樓梯",
            "电梯厅",
            "電梯廳",
            "前室",
            "廊下",
            "階段",
            "ホール",
            "エントランス",
            "현관",
            "복도",
            "계단",
        ),
    ),
    (
        "living",
        (
            "客厅",
            "客廳",
            "餐厅",
            "餐廳",
            "饭厅",
            "飯廳",
            "厨房",
            "廚房",
            "起居室",
            "家庭厅",
            "家庭廳",
            "居間",
            "台所",
            "食堂",
            "リビング",
            "ダイニング",
            "キッチン",
            "거실",
            "주방",
            "부엌",
            "식당",
        ),
    ),
)


def _cjk_room_type(name: str) -> str | None:
    """The type of the Chinese, Japanese or Korean room word that ends last in ``name`` (the longer on
    a tie), else ``None``."""
    text = unicodedata.normalize("NFKC", name)
    best: tuple[int, int, str] | None = None
    for room_type, words in _CJK_WORDS:
        for word in words:
            end = text.rfind(word)
            if end >= 0:
                key = (end + len(word), len(word), room_type)
                if best is None or key[:2] > best[:2]:
                    best = key
    return None if best is None else best[2]


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
    ``"SOVRUM"``: bedroom, bathroom, bedroom, bedroom), and Chinese, Japanese and Korean
    (``"主卧卫生间"``, ``"洋室"``, ``"거실"``: bathroom, bedroom, living), where the word that ends
    last in the name decides (:data:`_CJK_WORDS`).  The name is lower-cased, its accents removed
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
    cjk = _cjk_room_type(str(name))
    if cjk is not None:
        return cjk
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
