"""What a line of plan text says: dimensions (metric, imperial), areas (m², sq ft), scales, names."""

from __future__ import annotations

import pytest

from model_code.text.parse import FOOT, INCH, name_part, parse_measures


def one(text: str):
    found = parse_measures(text)
    assert len(found) == 1, (text, found)
    return found[0]


@pytest.mark.parametrize(
    ("text", "sides"),
    [
        ("4.93 x 4.70m", (4.93, 4.70)),
        ("4,93 x 4,70 m", (4.93, 4.70)),
        ("3.4mX4.8m", (3.4, 4.8)),
        ("6.73m×4.88m", (6.73, 4.88)),
        ("493 x 470 cm", (4.93, 4.70)),
        ("4930 x 4700 mm", (4.93, 4.70)),
        ("4.72mx447m", (4.72, 4.47)),  # the recogniser lost a decimal point
        ("3.4mX48m", (3.4, 4.8)),  # ... of a side printed like the other: one decimal
        ("32mX4.6m", (3.2, 4.6)),
        ("4.5 x 3 m", (4.5, 3.0)),  # an integer as short as the other's decimals is as printed
        ("12.5 x 4 m", (12.5, 4.0)),
        ("Kitchen 3.2 x 4.1m", (3.2, 4.1)),
    ],
)
def test_metric_dimensions(text, sides):
    measure = one(text)
    assert measure.kind == "dimensions"
    assert measure.sides_m == pytest.approx(sides)


@pytest.mark.parametrize(
    ("text", "feet"),
    [
        ("16'2\" x 15'5\"", ((16, 2), (15, 5))),
        ("16' 2\" x 15' 5\"", ((16, 2), (15, 5))),
        ("16’2” x 15’5”", ((16, 2), (15, 5))),
        ("12 ft x 10 ft", ((12, 0), (10, 0))),
        ("10'6'' x 13'5''", ((10, 6), (13, 5))),
    ],
)
def test_imperial_dimensions(text, feet):
    measure = one(text)
    assert measure.kind == "dimensions" and measure.unit == "ft"
    assert measure.sides_m == pytest.approx(tuple(f * FOOT + i * INCH for f, i in feet))


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("24,86 m²", 24.86),
        ("24.86 m2", 24.86),
        ("118.9 sq m", 118.9),
        ("118.9sqm", 118.9),
        ("12,5 m²", 12.5),
        ("268 sq ft", 268 * FOOT**2),
        ("1,234 sq ft", 1234 * FOOT**2),  # a thousands separator in square feet
        ("45 sq.ft", 45 * FOOT**2),
    ],
)
def test_areas(text, area):
    measure = one(text)
    assert measure.kind == "area"
    assert measure.area_m2 == pytest.approx(area)


@pytest.mark.parametrize(("text", "ratio"), [("1:100", 100), ("Scale 1:50", 50), ("SCALE 1/200", 200)])
def test_scales(text, ratio):
    measure = one(text)
    assert measure.kind == "scale" and measure.ratio == ratio


@pytest.mark.parametrize(
    "text", ["Bedroom", "11X15.7", "Fourth Floor", "2", "55.5 x 60.0 m", "0.1 x 0.2 m", "1:1"]
)
def test_no_measure_where_none_is_printed_or_plausible(text):
    assert parse_measures(text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Reception Room", "Reception Room"),
        ("CHAMBRE 2", "CHAMBRE 2"),
        ("Kitchen/", "Kitchen/"),
        ("Kitchen 3.2 x 4.1m", "Kitchen"),
        ("4.93 x 4.70m", None),
        ("Approximate Gross Internal Area", None),
        ("Second Floor", None),
        ("IN", None),
    ],
)
def test_name_part(text, name):
    assert name_part(text) == name
