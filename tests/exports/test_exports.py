"""The SVG, GeoJSON and DXF exports, each read back with its own library (fast)."""

from __future__ import annotations

import io
import json
import math
import xml.etree.ElementTree as ET
from collections import Counter

import ezdxf
import numpy as np
import pytest
from shapely.geometry import Polygon, box, shape

from model_code.exports.dxf import to_dxf
from model_code.exports.formats import FORMATS, MEDIA_TYPES, export_document
from model_code.exports.geojson import feature_collection, to_geojson
from model_code.exports.svg import to_svg
from model_code.schema import ResultDocument
from model_code.serving.client import DETECT_FORMATS
from model_code.serving.config import RESPONSE_TYPES
from model_code.synth import generate_plan

SVG = "{http://www.w3.org/2000/svg}"
MPP = 0.02  # metres per pixel for the scaled exports


def kinds(document: ResultDocument) -> Counter:
    """How many of each thing the document holds, by the names the exports use."""
    counts = Counter(wall=len(document.walls), room=len(document.rooms))
    counts.update(opening.type for opening in document.openings)
    return counts


# --- DXF ---------------------------------------------------------------------------------------


def read_dxf(data: bytes):
    return ezdxf.read(io.StringIO(data.decode("utf-8")))


def by_layer(drawing) -> Counter:
    return Counter((entity.dxftype(), entity.dxf.layer) for entity in drawing.modelspace())


@pytest.mark.parametrize("name", ["small_document", "pipeline_document"])
def test_dxf_has_one_entity_per_record_on_its_layer(request, name):
    document = request.getfixturevalue(name)
    drawing = read_dxf(to_dxf(document))
    assert drawing.dxfversion == "AC1024"  # R2010
    layers = {layer.dxf.name: layer.color for layer in drawing.layers}
    assert {"WALLS": 1, "DOORS": 5, "WINDOWS": 4, "OPENINGS": 3, "ROOMS": 7}.items() <= layers.items()
    count, entities = kinds(document), by_layer(drawing)
    assert entities[("LWPOLYLINE", "WALLS")] == entities[("HATCH", "WALLS")] == count["wall"]
    for kind, layer in (("door", "DOORS"), ("window", "WINDOWS"), ("opening", "OPENINGS")):
        assert entities[("LWPOLYLINE", layer)] == entities[("HATCH", layer)] == count[kind]
    assert entities[("LWPOLYLINE", "ROOMS")] == entities[("MTEXT", "ROOMS")] == count["room"]
    assert sum(entities.values()) == 2 * (len(document.walls) + len(document.openings) + len(document.rooms))
    assert all(e.closed for e in drawing.modelspace().query("LWPOLYLINE"))
    assert not drawing.audit().has_errors


def test_dxf_flips_y_and_writes_units(small_document, tmp_path):
    path = tmp_path / "plan.dxf"
    path.write_bytes(to_dxf(small_document))
    drawing = ezdxf.readfile(path)
    assert drawing.header["$INSUNITS"] == 0  # unitless: pixels
    space = drawing.modelspace()
    ids = {e.get_xdata("FLOORPLAN")[0].value: e for e in space.query("LWPOLYLINE")}
    top_wall = [tuple(p) for p in ids["w1"].get_points("xy")]  # image y = 10, thickness 4
    assert sorted({round(y, 6) for _, y in top_wall}) == [88.0, 92.0]  # 100 - 10 +- 2
    assert sorted({round(x, 6) for x, _ in top_wall}) == [8.0, 192.0]  # square caps
    door = [tuple(p) for p in ids["o1"].get_points("xy")]  # no thickness anywhere: 2 px
    assert sorted({round(y, 6) for _, y in door}) == [40.0, 60.0]
    assert sorted({round(x, 6) for x, _ in door}) == [99.0, 101.0]
    box_room = Polygon([tuple(p) for p in ids["r2"].get_points("xy")])
    assert box_room.bounds == (102.0, 12.0, 188.0, 88.0)
    labels = {e.get_xdata("FLOORPLAN")[0].value: e for e in space.query("MTEXT")}
    text = labels["r1"].plain_text()
    assert "r1 Kitchen & <dining>" in text
    assert "6536 px²" in text
    x, y, _ = labels["r1"].dxf.insert
    assert 12 < x < 98 and 12 < y < 88
    assert Polygon([tuple(p) for p in ids["r1"].get_points("xy")]).contains(
        Polygon([(x - 1, y - 1), (x + 1, y - 1), (x + 1, y + 1), (x - 1, y + 1)])
    )


def test_dxf_in_metres(small_document):
    drawing = read_dxf(to_dxf(small_document, metres_per_pixel=MPP))
    assert drawing.header["$INSUNITS"] == 6
    assert drawing.units == 6
    assert drawing.header["$MEASUREMENT"] == 1
    ids = {e.get_xdata("FLOORPLAN")[0].value: e for e in drawing.modelspace().query("LWPOLYLINE")}
    room = Polygon([tuple(p) for p in ids["r1"].get_points("xy")])
    assert room.area == pytest.approx(86 * 76 * MPP**2)
    assert room.bounds == pytest.approx((12 * MPP, 12 * MPP, 98 * MPP, 88 * MPP))
    label = next(e for e in drawing.modelspace().query("MTEXT") if "r1" in e.plain_text())
    assert f"{86 * 76 * MPP**2:.1f} m²" in label.plain_text()


# --- GeoJSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["small_document", "pipeline_document"])
def test_geojson_features_are_valid_polygons(request, name):
    document = request.getfixturevalue(name)
    collection = json.loads(to_geojson(document))
    assert collection["type"] == "FeatureCollection"
    assert collection["coordinate_system"]["units"] == "pixel"
    assert collection["bbox"] == [0.0, 0.0, float(document.width), float(document.height)]
    features = collection["features"]
    assert Counter(f["properties"]["kind"] for f in features) == kinds(document)
    extent = box(-10, -10, document.width + 10, document.height + 10)
    for feature in features:
        assert feature["type"] == "Feature"
        geometry = shape(feature["geometry"])
        assert geometry.geom_type == "Polygon"
        assert geometry.is_valid, feature["id"]
        assert geometry.area > 0
        assert geometry.exterior.is_ccw  # RFC 7946's right-hand rule
        assert extent.contains(geometry)
    rooms = {f["id"]: f for f in features if f["properties"]["kind"] == "room"}
    for room in document.rooms:
        polygon = shape(rooms[room.id]["geometry"])
        assert rooms[room.id]["properties"]["area_px"] == pytest.approx(room.area_px, abs=0.05)
        if room.polygon:
            assert polygon.area == pytest.approx(Polygon(room.polygon).area, rel=1e-3, abs=0.5)
        # a room's pixel count is its polygon through the pixel centres plus about half its outline
        # (and the polygon is simplified): within that band plus 10 %
        assert abs(room.area_px - polygon.area) <= polygon.length / 2 + 0.1 * room.area_px, room.id


def test_geojson_flips_y_and_keeps_the_properties(small_document):
    collection = feature_collection(small_document)
    features = {f["id"]: f for f in collection["features"]}
    assert collection["name"] == "small"
    wall = shape(features["w1"]["geometry"])
    assert wall.bounds == (8.0, 88.0, 192.0, 92.0)
    assert wall.area == pytest.approx(184 * 4)
    assert features["w1"]["properties"] == {
        "kind": "wall",
        "id": "w1",
        "thickness_px": 4.0,
        "length_px": 180.0,
        "is_load_bearing": True,
        "confidence": 1.0,
    }
    assert shape(features["o2"]["geometry"]).bounds == (40.0, 88.0, 70.0, 92.0)
    assert features["o3"]["properties"]["kind"] == "opening"
    assert features["o1"]["properties"]["wall_id"] == "w5"
    room = features["r1"]["properties"]
    assert room["name_hint"] == "Kitchen & <dining>"
    assert room["outline"] == "polygon"
    assert room["label"] == "r1 Kitchen & <dining>\n6536 px²"
    assert features["r2"]["properties"]["outline"] == "bounding_box"
    assert shape(features["r2"]["geometry"]).bounds == (102.0, 12.0, 188.0, 88.0)


def test_geojson_in_metres(small_document):
    collection = feature_collection(small_document, metres_per_pixel=MPP)
    system = collection["coordinate_system"]
    assert system["units"] == "metre"
    assert system["metres_per_pixel"] == MPP
    assert collection["bbox"] == pytest.approx([0, 0, 200 * MPP, 100 * MPP])
    features = {f["id"]: f for f in collection["features"]}
    room = features["r1"]
    assert shape(room["geometry"]).area == pytest.approx(86 * 76 * MPP**2)
    assert room["properties"]["area_m2"] == pytest.approx(86 * 76 * MPP**2)
    assert room["properties"]["area_px"] == 86 * 76
    wall = features["w1"]["properties"]
    assert wall["thickness_m"] == pytest.approx(4 * MPP)
    assert wall["length_m"] == pytest.approx(180 * MPP)
    assert shape(features["w1"]["geometry"]).bounds == pytest.approx((8 * MPP, 88 * MPP, 192 * MPP, 92 * MPP))


# --- SVG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["small_document", "pipeline_document"])
def test_svg_layers_and_counts(request, name):
    document = request.getfixturevalue(name)
    root = ET.fromstring(to_svg(document).encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {document.width} {document.height}"
    layers = {g.get("id"): g for g in root.findall(f"{SVG}g")}
    assert list(layers) == ["rooms", "walls", "openings", "labels"]
    assert len(layers["rooms"].findall(f"{SVG}polygon")) == len(document.rooms)
    walls = layers["walls"].findall(f"{SVG}line")
    assert len(walls) == len(document.walls)
    for wall, line in zip(document.walls, walls, strict=True):
        assert line.get("id") == wall.id
        assert float(line.get("x1")) == pytest.approx(wall.start[0], abs=0.01)
        assert float(line.get("y2")) == pytest.approx(wall.end[1], abs=0.01)  # y down, as in the image
        assert float(line.get("stroke-width")) == pytest.approx(wall.thickness or 2.0, abs=0.01)
    openings = Counter(line.get("class") for line in layers["openings"].findall(f"{SVG}line"))
    count = kinds(document)
    assert openings == Counter({k: count[k] for k in ("door", "window", "opening") if count[k]})
    labels = {
        t.get("data-room"): "\n".join(s.text for s in t) for t in layers["labels"].findall(f"{SVG}text")
    }
    assert set(labels) == {room.id for room in document.rooms}
    for room in document.rooms:
        assert labels[room.id].startswith(room.id)


def test_svg_escapes_names_and_labels_areas(small_document):
    root = ET.fromstring(to_svg(small_document))
    assert root.find(f"{SVG}title").text == "small"
    room = root.find(f".//{SVG}polygon[@id='r1']")
    assert room.get("data-name-hint") == "Kitchen & <dining>"
    assert room.get("data-area-px") == "6536"
    label = root.find(f".//{SVG}text[@data-room='r1']")
    assert [s.text for s in label] == ["r1 Kitchen & <dining>", "6536 px²"]
    box = root.find(f".//{SVG}polygon[@id='r2']")
    assert box.get("points") == "102,12 188,12 188,88 102,88"
    door = root.find(f".//{SVG}line[@id='o1']")
    assert door.get("class") == "door"
    assert door.get("stroke-width") == "2"  # neither the door nor its wall has a thickness
    scaled = ET.fromstring(to_svg(small_document, metres_per_pixel=MPP))
    assert scaled.get("data-metres-per-pixel") == str(MPP)
    assert scaled.get("viewBox") == "0 0 200 100"  # the geometry stays on the image
    label = scaled.find(f".//{SVG}text[@data-room='r1']")
    assert [s.text for s in label][1] == f"{86 * 76 * MPP**2:.1f} m²"


# --- the format table --------------------------------------------------------------------------


def test_formats_agree_with_the_server_and_the_cli():
    assert set(DETECT_FORMATS) == {"json", *FORMATS}
    assert set(MEDIA_TYPES) <= set(RESPONSE_TYPES)
    assert set(RESPONSE_TYPES) - set(MEDIA_TYPES) == {"application/json", "image/png"}
    assert MEDIA_TYPES["application/vnd.geo+json"] == "geojson"
    assert MEDIA_TYPES["image/vnd.dxf"] == "dxf"


def test_export_document_by_name_or_media_type(small_document):
    assert export_document(small_document, "svg").startswith(b"<?xml")
    assert (
        json.loads(export_document(small_document, "application/vnd.geo+json"))["type"] == "FeatureCollection"
    )
    assert read_dxf(export_document(small_document, "image/vnd.dxf", MPP)).units == 6
    with pytest.raises(ValueError, match="unknown export format"):
        export_document(small_document, "pdf")


def test_a_numpy_scale_is_a_number(small_document):
    scale = np.float32(MPP)
    assert to_svg(small_document, scale) == to_svg(small_document, float(scale))
    collection = feature_collection(small_document, scale)
    assert collection == feature_collection(small_document, float(scale))
    assert type(collection["coordinate_system"]["metres_per_pixel"]) is float
    json.dumps(collection)
    assert read_dxf(to_dxf(small_document, scale)).units == 6


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, True, "0.01"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_bad_scales_are_refused(small_document, fmt, bad):
    with pytest.raises(ValueError, match="metres_per_pixel"):
        export_document(small_document, fmt, bad)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_document_without_a_size_is_refused(small_document, fmt):
    small_document.width = 0
    with pytest.raises(ValueError, match="width and height"):
        export_document(small_document, fmt)


def test_a_ground_truth_annotation_exports_too():
    annotation = generate_plan(3, 256).annotation
    names = {room.name_hint for room in annotation.rooms if room.name_hint}
    assert names
    root = ET.fromstring(export_document(annotation, "svg"))
    label_text = " ".join(s.text for s in root.iter(f"{SVG}tspan"))
    assert all(name in label_text for name in names)
    collection = json.loads(export_document(annotation, "geojson"))
    assert Counter(f["properties"]["kind"] for f in collection["features"]) == kinds(annotation)
    assert by_layer(read_dxf(export_document(annotation, "dxf")))[("MTEXT", "ROOMS")] == len(annotation.rooms)
