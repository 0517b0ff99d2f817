"""Room names in nine languages mean the vocabulary's types; recogniser slips are forgiven on request."""

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


CJK_NAMES = {
    "bedroom": ["主卧", "次卧", "卧室", "臥室", "儿童房", "书房兼客卧", "主寝室", "洋室", "침실", "안방"],
    "bathroom": ["卫生间", "主卫", "衛生間", "主卧卫生间", "浴室", "トイレ", "洗面所", "욕실", "화장실"],
    "living": ["客厅", "客廳", "餐厅", "厨房", "起居室", "リビング", "キッチン", "거실", "주방", "LDK"],
    "closet": ["衣帽间", "主卧衣帽间", "储藏室", "能藏室", "収納", "クローゼット", "드레스룸"],
    "hall": ["玄关", "门厅", "过道", "走廊", "玄関", "廊下", "현관", "복도"],
    "balcony": ["阳台", "陽台", "卧室阳台", "露台", "バルコニー", "ベランダ", "발코니"],
}


@pytest.mark.parametrize(("room_type", "name"), [(t, n) for t, names in CJK_NAMES.items() for n in names])
def test_names_in_chinese_japanese_korean(room_type, name):
    assert room_type_of_name(name) == room_type
    assert room_type_of_name(f"{name} 12.5m²") == room_type  # what follows a name on a plan
    assert room_type_of_name(f"{name}1") == room_type


def test_cjk_head_noun_last_decides():
    # the master bedroom's bathroom, walk-in closet and balcony; the lobby in front of a bathroom
    assert room_type_of_name("主卧卫生间") == "bathroom"
    assert room_type_of_name("主卧衣帽间") == "closet"
    assert room_type_of_name("主卧阳台") == "balcony"
    assert room_type_of_name("卫生间前室") == "hall"
    # full-width forms are the same words (NFKC)
    assert room_type_of_name("ＬＤＫ") == "living"


@pytest.mark.parametrize("name", ["设备平台", "车库", "平面布置图", "比例 1:100", "一层"])
def test_no_type_for_other_cjk_words(name):
    assert room_type_of_name(name, fuzzy=True) is None
