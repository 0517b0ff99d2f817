"""What a line of plan text says: a room dimension, an area, a drawing scale, or a name.

Dimensions come metric (``"4.93 x 4.70m"``, ``"4,93 x 4,70 m"``, ``"493 x 470 cm"``) and imperial
(``"16'2\\" x 15'5\\""``, ``"16' 2\\" x 15' 5\\""``, ``"12 ft x 10 ft"``); areas in m² and sq ft
(``"24,86 m²"``, ``"118.9 sq m"``, ``"581 sq.ft"``); scales as ``"1:100"`` or ``"1/50"`` after the word
scale.  A comma is a decimal separator unless three digits follow it in square feet (``"1,234 sq ft"``).
Recogniser slips that plan text makes often are mended: ``"4.72mx447m"`` (a lost decimal point, three
digits of metres) reads 4.47 m, and so does an integer side with one digit more than its partner has
decimals (``"3.4mX48m"``: 3.4 x 4.8); ``×``, ``X`` and ``*`` are all "by".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FOOT = 0.3048
INCH = 0.0254
SQ_FOOT = FOOT * FOOT
MAX_ROOM_SIDE_M = 40.0  # a printed room dimension above this is a misreading
MIN_ROOM_SIDE_M = 0.5
MAX_SIDE_RATIO = 8.0  # a room 8 times longer than wide is a misreading
MAX_AREA_M2 = 400.0  # a room's area; a plan's total area is not room evidence

_NUMBER = r"\d+(?:[.,]\d+)?"
_BY = r"\s*[xX×*]\s*"


@dataclass(frozen=True)
class Measure:
    """One measurement read in a text line.

    ``kind`` is ``dimensions`` (``sides_m``: the two printed sides in metres, as printed: width first),
    ``length`` (one side, ``sides_m`` has one value), ``area`` (``area_m2``) or ``scale`` (``ratio``: the
    drawing's 1:ratio).  ``unit`` is what was printed (``m``, ``cm``, ``mm``, ``ft``, ``m2``, ``sqft``).
    """

    kind: str
    unit: str
    sides_m: tuple[float, ...] = ()
    area_m2: float | None = None
    ratio: float | None = None


def normalise(text: str) -> str:
    """Unify the characters plan text and the recogniser use for the same thing."""
    table = str.maketrans(
        {
            "×": "x",
            "’": "'",
            "‘": "'",
            "´": "'",
            "`": "'",
            "″": '"',
            "”": '"',
            "“": '"',
            "²": "2",
            "（": "(",
            "）": ")",
            "：": ":",
            "，": ",",
            "。": ".",
        }
    )
    text = text.translate(table)
    text = text.replace("''", '"')
    return re.sub(r"\s+", " ", text).strip()


def _number(token: str, thousands: bool = False) -> float:
    if "," in token and "." not in token:
        whole, _, frac = token.partition(",")
        token = whole + frac if thousands and len(frac) == 3 else f"{whole}.{frac}"
    return float(token.replace(",", ""))


def _metres(value: str, unit: str) -> float:
    """A printed metric length in metres; three or more digits of "metres" without a separator lost it."""
    number = _number(value)
    if unit == "cm":
        return number / 100
    if unit == "mm":
        return number / 1000
    if number > MAX_ROOM_SIDE_M and re.fullmatch(r"\d{3,4}", value):
        return number / 100  # "447m": 4.47 m read without its point
    return number


def _mend_lost_point(first: str, second: str, sides: tuple[float, float]) -> tuple[float, float]:
    """Both sides of a pair in metres printed alike: an integer side with one more digit than the other
    side has decimals lost its point (``"3.4m x 48m"`` is 3.4 x 4.8, ``"32m x 4.6m"`` 3.2 x 4.6)."""
    out = list(sides)
    for k, (mine, other) in enumerate(((first, second), (second, first))):
        decimals = re.fullmatch(r"\d+[.,](\d+)", other)
        if decimals and re.fullmatch(r"\d+", mine) and len(mine) == len(decimals.group(1)) + 1:
            out[k] = int(mine) / 10 ** len(decimals.group(1))
    return out[0], out[1]


_METRIC_PAIR = re.compile(
    rf"(?<![\d.,])({_NUMBER})\s*(mm|cm|m)?{_BY}({_NUMBER})\s*(mm|cm|m)(?![a-z])", re.IGNORECASE
)
_METRIC_PAIR_UNIT_FIRST = re.compile(
    rf"(?<![\d.,])({_NUMBER})\s*(mm|cm|m){_BY}({_NUMBER})(?![\d'\"])", re.IGNORECASE
)
_FEET_INCHES = r"(\d{1,3})\s*(?:'|ft\.?|feet)\s*(?:(\d{1,2}(?:[.,]\d+)?)\s*(?:\"|in\.?|inch(?:es)?)?)?"
_IMPERIAL_PAIR = re.compile(rf"{_FEET_INCHES}{_BY}{_FEET_INCHES}", re.IGNORECASE)
_AREA_METRIC = re.compile(
    rf"(?<![\d.,])({_NUMBER})\s*(?:m\s*2|sq\.?\s*m(?:etres|eters|trs?)?\.?|m\s*sq|qm|kvm)(?![a-z])",
    re.IGNORECASE,
)
_AREA_IMPERIAL = re.compile(
    rf"(?<![\d.,])(\d{{1,3}}(?:,\d{{3}})+|{_NUMBER})\s*(?:sq\.?\s*f(?:ee)?t\.?|sq\.?\s*f|ft\s*2|sf)(?![a-z])",
    re.IGNORECASE,
)
_SCALE = re.compile(
    r"(?:scale|echelle|escala|massstab|skala)?\s*[:=]?\s*\b1\s*[:/]\s*(\d{1,4})\b", re.IGNORECASE
)
_LENGTH = re.compile(rf"^\s*({_NUMBER})\s*(mm|cm|m)\s*$", re.IGNORECASE)


def _imperial(feet: str, inches: str | None) -> float:
    return int(feet) * FOOT + (_number(inches) if inches else 0.0) * INCH


def parse_measures(text: str) -> list[Measure]:
    """Every measurement in one line of text (usually none or one)."""
    line = normalise(text)
    found: list[Measure] = []
    taken: list[tuple[int, int]] = []

    def free(match: re.Match[str]) -> bool:
        return all(match.end() <= a or match.start() >= b for a, b in taken)

    for match in _IMPERIAL_PAIR.finditer(line):
        if (
            "'" not in match.group(0)
            and "ft" not in match.group(0).lower()
            and "feet" not in match.group(0).lower()
        ):
            continue
        sides = (_imperial(match.group(1), match.group(2)), _imperial(match.group(3), match.group(4)))
        found.append(Measure("dimensions", "ft", sides_m=sides))
        taken.append(match.span())
    for pattern in (_METRIC_PAIR, _METRIC_PAIR_UNIT_FIRST):
        for match in pattern.finditer(line):
            if not free(match):
                continue
            groups = match.groups()
            if pattern is _METRIC_PAIR:
                unit = (groups[3] or "m").lower()
                first_unit = (groups[1] or unit).lower()
                sides = (_metres(groups[0], first_unit), _metres(groups[2], unit))
            else:
                unit = groups[1].lower()
                sides = (_metres(groups[0], unit), _metres(groups[2], unit))
            if unit == "m" and (pattern is _METRIC_PAIR_UNIT_FIRST or first_unit == "m"):
                sides = _mend_lost_point(groups[0], groups[2], sides)
            found.append(Measure("dimensions", unit, sides_m=sides))
            taken.append(match.span())
    for match in _AREA_METRIC.finditer(line):
        if free(match):
            found.append(Measure("area", "m2", area_m2=_number(match.group(1))))
            taken.append(match.span())
    for match in _AREA_IMPERIAL.finditer(line):
        if free(match):
            found.append(Measure("area", "sqft", area_m2=_number(match.group(1), thousands=True) * SQ_FOOT))
            taken.append(match.span())
    for match in _SCALE.finditer(line):
        if free(match) and int(match.group(1)) >= 5:
            found.append(Measure("scale", "ratio", ratio=float(match.group(1))))
            taken.append(match.span())
    if not found:
        match = _LENGTH.match(line)
        if match:
            found.append(
                Measure(
                    "length",
                    match.group(2).lower(),
                    sides_m=(_metres(match.group(1), match.group(2).lower()),),
                )
            )
    return [m for m in found if plausible(m)]


def plausible(measure: Measure) -> bool:
    """Whether a measurement could describe a room (or a drawing): sides 0.5..40 m, area under 400 m²."""
    if measure.kind in ("dimensions", "length"):
        sides = measure.sides_m
        in_range = all(MIN_ROOM_SIDE_M <= s <= MAX_ROOM_SIDE_M for s in sides)
        return in_range and max(sides) <= MAX_SIDE_RATIO * min(sides)
    if measure.kind == "area":
        return measure.area_m2 is not None and 0.5 <= measure.area_m2 <= MAX_AREA_M2
    return measure.ratio is not None and 5 <= measure.ratio <= 5000


_NAME = re.compile(r"[^\W\d_]{2,}")
_NOT_NAMES = re.compile(
    r"\b(floor|ground|first|second|third|fourth|approx|approximate|gross|internal|area|total|plan|scale|"
    r"excluding|including|reduced|headroom|ceiling|height|only|illustration|purposes|not|in|up|dn|down|"
    r"etage|rez|planta|geschoss|vaning|plan)\b",
    re.IGNORECASE,
)


def name_part(text: str) -> str | None:
    """The words of a line that can name a room (``"Bedroom 2"``, ``"Kitchen/"``), or ``None``.

    A line with a measurement keeps the words before it (``"Kitchen 3.2 x 4.1m"`` -> ``"Kitchen"``);
    plan furniture text (floor names, area captions) is not a name.
    """
    line = normalise(text)
    measures = parse_measures(line)
    if measures:
        cut = re.search(r"\d", line)
        line = line[: cut.start()].strip() if cut else line
    if not _NAME.search(line):
        return None
    letters = sum(c.isalpha() for c in line)
    if letters < 0.5 * len(line.replace(" ", "")):
        return None
    if _NOT_NAMES.search(line):
        return None
    return line.strip(" -:;,.")
