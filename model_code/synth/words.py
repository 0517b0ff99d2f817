"""Printed words in five languages and several units, with exact ground truth (``print_text``).

With ``generate_plan(..., print_text=True)`` every room gets a label in one language per plan
(English, French, Spanish, German or Swedish) and, where it fits, a dimension or area line in one
of several notations (``4.93 x 4.70 m``, ``4,93 x 4,70 m``, ``493 x 470 cm``, ``16'2" x 15'5"``,
``24,86 m2``, ``118.9 sq m``, ``268 sq ft``).  What was printed, and the metres it stands for, is
kept in :class:`PrintedText`.  Every choice here comes from its own generator
(``default_rng([seed, TEXT_STREAM])``), so the main stream is untouched.  OpenCV's Hershey fonts
draw ASCII only: accents are left out (``Kok``, ``Sejour``) and m² is printed ``m2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model_code.synth.layout import LayoutRoom

TEXT_STREAM = 3  # second word of the seed of the text generator: default_rng([seed, TEXT_STREAM])
LANGUAGES = ("en", "fr", "es", "de", "sv")
FOOT = 0.3048
INCH = 0.0254

# kind -> names, per language (ASCII: the Hershey fonts have no accents)
NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "living": ("Living Room", "Lounge", "Reception Room", "Sitting Room"),
        "kitchen": ("Kitchen", "Kitchen/Diner"),
        "dining": ("Dining Room", "Dining"),
        "bedroom": ("Bedroom", "Bedroom {n}", "Master Bedroom"),
        "bath": ("Bathroom", "Shower Room", "En-suite"),
        "wc": ("WC", "Toilet", "Cloakroom"),
        "closet": ("Closet", "Store", "Wardrobe", "Pantry"),
        "study": ("Study", "Office"),
        "utility": ("Utility", "Laundry"),
        "hall": ("Hall", "Hallway", "Entrance Hall", "Landing"),
    },
    "fr": {
        "living": ("Salon", "Sejour", "Salle de sejour"),
        "kitchen": ("Cuisine",),
        "dining": ("Salle a manger",),
        "bedroom": ("Chambre", "Chambre {n}"),
        "bath": ("Salle de bains", "Salle d'eau", "SDB"),
        "wc": ("WC", "Toilettes"),
        "closet": ("Placard", "Rangement", "Dressing", "Cellier"),
        "study": ("Bureau",),
        "utility": ("Buanderie",),
        "hall": ("Entree", "Couloir", "Degagement", "Hall"),
    },
    "es": {
        "living": ("Salon", "Sala de estar", "Estar"),
        "kitchen": ("Cocina",),
        "dining": ("Comedor",),
        "bedroom": ("Dormitorio", "Dormitorio {n}", "Habitacion {n}"),
        "bath": ("Bano", "Aseo"),
        "wc": ("Aseo", "WC"),
        "closet": ("Armario", "Vestidor", "Trastero", "Despensa"),
        "study": ("Estudio", "Despacho"),
        "utility": ("Lavadero",),
        "hall": ("Pasillo", "Recibidor", "Entrada", "Vestibulo"),
    },
    "de": {
        "living": ("Wohnzimmer", "Wohnen"),
        "kitchen": ("Kuche", "Kueche"),
        "dining": ("Esszimmer", "Essen"),
        "bedroom": ("Schlafzimmer", "Kinderzimmer", "Zimmer {n}"),
        "bath": ("Bad", "Badezimmer", "Dusche"),
        "wc": ("WC", "Gaste-WC"),
        "closet": ("Abstellraum", "Ankleide", "Speisekammer"),
        "study": ("Arbeitszimmer", "Buro"),
        "utility": ("HWR", "Waschkuche"),
        "hall": ("Flur", "Diele", "Eingang"),
    },
    "sv": {
        "living": ("Vardagsrum", "Allrum"),
        "kitchen": ("Kok",),
        "dining": ("Matrum", "Matsal"),
        "bedroom": ("Sovrum", "Sovrum {n}"),
        "bath": ("Badrum", "Dusch"),
        "wc": ("WC", "Toalett"),
        "closet": ("Forrad", "Klk", "Garderob"),
        "study": ("Arbetsrum", "Kontor"),
        "utility": ("Tvatt", "Tvattstuga"),
        "hall": ("Hall", "Entre", "Korridor"),
    },
}
# notations of a room's size: (kind, unit, decimal comma?)
NOTATIONS = (
    ("dimensions", "m", False),
    ("dimensions", "m", True),
    ("dimensions", "cm", False),
    ("dimensions", "ft", False),
    ("area", "m2", False),
    ("area", "m2", True),
    ("area", "sqm", False),
    ("area", "sqft", False),
)


@dataclass(frozen=True)
class PrintedText:
    """One printed line and its ground truth: the room (index into the annotation's rooms), what kind of
    line it is (``name``, ``dimensions``, ``area``), the text and the metres it stands for (the printed
    value rounded as printed: ``sides_m`` or ``area_m2``)."""

    room: int
    kind: str
    text: str
    sides_m: tuple[float, ...] = ()
    area_m2: float | None = None


class Words:
    """The language and notations of one plan, drawn from the text generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.language = str(LANGUAGES[int(rng.integers(len(LANGUAGES)))])
        self.printed: list[PrintedText] = []

    def name(self, kind: str, number: int, uppercase: bool) -> str:
        """A room name in this plan's language."""
        table = NAMES[self.language]
        options = table.get(kind, table["living"])
        name = str(options[int(self.rng.integers(len(options)))]).format(n=number)
        return name.upper() if uppercase else name

    def measure(self, room: LayoutRoom, ppm: float) -> PrintedText:
        """A dimension or area line for ``room`` and its exact ground truth (room index filled later)."""
        x0, y0, x1, y1 = room.interior.bounds
        w_m, h_m = (x1 - x0) / ppm, (y1 - y0) / ppm
        kind, unit, comma = NOTATIONS[int(self.rng.integers(len(NOTATIONS)))]

        def number(value: float, digits: int) -> str:
            text = f"{value:.{digits}f}"
            return text.replace(".", ",") if comma else text

        if kind == "dimensions":
            if unit == "m":
                sides = (round(w_m, 2), round(h_m, 2))
                return PrintedText(-1, kind, f"{number(w_m, 2)} x {number(h_m, 2)} m", sides_m=sides)
            if unit == "cm":
                sides = (round(w_m * 100) / 100, round(h_m * 100) / 100)
                return PrintedText(-1, kind, f"{round(w_m * 100)} x {round(h_m * 100)} cm", sides_m=sides)
            feet = [divmod(round(v / INCH), 12) for v in (w_m, h_m)]
            sides = tuple(f * FOOT + i * INCH for f, i in feet)
            text = " x ".join(f"{f}'{i}\"" for f, i in feet)
            return PrintedText(-1, kind, text, sides_m=sides)
        area = room.interior.area / ppm**2
        if unit == "sqft":
            value = round(area / FOOT**2)
            return PrintedText(-1, kind, f"{value} sq ft", area_m2=value * FOOT**2)
        value = round(area, 1 if unit == "sqm" else 2)
        suffix = "sq m" if unit == "sqm" else "m2"
        return PrintedText(-1, kind, f"{number(area, 1 if unit == 'sqm' else 2)} {suffix}", area_m2=value)
