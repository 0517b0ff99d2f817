"""Room names in five languages mean the vocabulary's types; recogniser slips are forgiven on request."""

from __future__ import annotations

import pytest

from model_code.schema import room_type_of_name

NAMES = {
    "bedroom": [
        "Bedroom 2",
        "CHAMBRE 2",
        "Dormitorio",
        "Habitación 3",
        "Schlafzimmer",
        "Kinderzimmer",
        "SOVRUM",
    ],
    "bathroom": ["Bathroom", "Salle de bains", "Salle d'eau", "Baño", "Badezimmer", "Gäste-WC", "Badrum"],
    "living": [
        "Reception Room",
        "Kitchen/Diner",
        "Séjour",
        "Cuisine",
        "Cocina",
        "Küche",
        "Wohnzimmer",
        "Kök",
    ],
    "closet": ["Wardrobe", "Placard", "Trastero", "Abstellraum", "Förråd", "Klädkammare"],
    "hall": ["Entrance Hall", "Entrée", "Dégagement", "Pasillo", "Flur", "Diele", "Hall"],
    "balcony": ["Terrace", "Balcon", "Terraza", "Balkon", "Balkong", "Uteplats"],
}


@pytest.mark.parametrize(("room_type", "name"), [(t, n) for t, names in NAMES.items() for n in names])
def test_names_in_five_languages(room_type, name):
    assert room_type_of_name(name) == room_type
    assert room_type_of_name(name.upper()) == room_type


@pytest.mark.parametrize("name", ["Garage", "Fourth Floor", "Approximate Gross Internal Area", "IN", ""])
def test_no_type_for_other_words(name):
    assert room_type_of_name(name, fuzzy=True) is None


def test_fuzzy_forgives_one_slip_only_when_asked():
    assert room_type_of_name("Bedroam") is None
    assert room_type_of_name("Bedroam", fuzzy=True) == "bedroom"
    assert room_type_of_name("Receptian Rocm", fuzzy=True) == "living"
    assert room_type_of_name("Kichen/", fuzzy=True) == "living"
