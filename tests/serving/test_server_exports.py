"""The exports served by ``/invocations`` (Accept) and written by ``floorplan detect --format`` (fast).

The server runs in process (Flask's test client, or werkzeug on loopback for the CLI's ``--url``)
with ``Pipeline(None)`` and ``backend=opencv``, so no model is loaded.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import ezdxf
import pytest
from PIL import Image
from shapely.geometry import shape

from model_code.cli import main
from model_code.pipeline import Pipeline
from model_code.serving.app import create_app, negotiate
from model_code.serving.client import DetectError, detect_export
from model_code.serving.config import RESPONSE_TYPES, ServingConfig
from tests.browser import served
from tests.serving.helpers import ping_once_loaded

CONFIG = ServingConfig(workers=1, max_payload_mb=1)
OPENCV = {"X-Amzn-SageMaker-Custom-Attributes": "backend=opencv"}
SVG = "{http://www.w3.org/2000/svg}"


def counts_of(document: dict) -> Counter:
    """Walls, rooms and openings by type in a result document (dict)."""
    counts = Counter(wall=len(document["walls"]), room=len(document["rooms"]))
    counts.update(opening["type"] for opening in document["openings"])
    return counts


def read_back(fmt: str, body: bytes) -> Counter:
    """What an export holds, counted with the format's own reader, in the names of :func:`counts_of`."""
    if fmt == "svg":
        root = ET.fromstring(body)
        layers = {g.get("id"): g for g in root.findall(f"{SVG}g")}
        counts = Counter(
            wall=len(layers["walls"].findall(f"{SVG}line")),
            room=len(layers["rooms"].findall(f"{SVG}polygon")),
        )
        counts.update(line.get("class") for line in layers["openings"].findall(f"{SVG}line"))
        assert len(layers["labels"].findall(f"{SVG}text")) == counts["room"]
        return counts
    if fmt == "geojson":
        collection = json.loads(body)
        assert collection["type"] == "FeatureCollection"
        assert all(shape(f["geometry"]).is_valid for f in collection["features"])
        return Counter(f["properties"]["kind"] for f in collection["features"])
    drawing = ezdxf.read(io.StringIO(body.decode("utf-8")))
    assert drawing.header["$INSUNITS"] == 0
    layers = Counter(e.dxf.layer for e in drawing.modelspace().query("LWPOLYLINE"))
    names = {"WALLS": "wall", "ROOMS": "room", "DOORS": "door", "WINDOWS": "window", "OPENINGS": "opening"}
    return Counter({names[layer]: n for layer, n in layers.items()})


@pytest.fixture(scope="module")
def client():
    client = create_app(CONFIG, loader=lambda: Pipeline(None)).test_client()
    assert ping_once_loaded(client).status_code == 200
    return client


@pytest.fixture(scope="module")
def expected(client, plan_png) -> Counter:
    """The JSON answer's counts for the same plan and options."""
    response = client.post("/invocations", data=plan_png, content_type="image/png", headers=OPENCV)
    assert response.status_code == 200
    counts = counts_of(response.json)
    assert counts["wall"] and counts["room"] and counts["door"] + counts["window"] + counts["opening"]
    return counts


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("image/svg+xml", "svg"),
        ("application/geo+json", "geojson"),
        ("application/vnd.geo+json", "geojson"),
        ("application/dxf", "dxf"),
        ("image/vnd.dxf", "dxf"),
    ],
)
def test_each_export_type_is_served(client, plan_png, expected, accept, fmt):
    response = client.post(
        "/invocations", data=plan_png, content_type="image/png", headers={"Accept": accept, **OPENCV}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == accept  # an alias is answered with the type asked for
    assert read_back(fmt, response.get_data()) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/geo+json;q=0.9, image/svg+xml;q=0.5", "application/geo+json"),
        ("image/*", "image/png"),  # wildcards keep their earlier answers
        ("application/*", "application/json"),
        ("image/vnd.dxf", "image/vnd.dxf"),
        ("application/dxf, application/json;q=0.1", "application/dxf"),
        ("text/csv", None),
    ],
)
def test_negotiate_the_exports(accept, expected):
    assert negotiate(accept, "application/json") == expected


def test_an_export_can_be_the_default_answer(plan_png):
    config = ServingConfig.from_env(
        {"MODEL_SERVER_WORKERS": "1", "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "image/svg+xml"}
    )
    client = create_app(config, loader=lambda: Pipeline(None)).test_client()
    assert ping_once_loaded(client).status_code == 200
    response = client.post(
        "/invocations", data=plan_png, content_type="image/png", headers={"Accept": "*/*", **OPENCV}
    )
    assert response.mimetype == "image/svg+xml"
    assert ET.fromstring(response.get_data()).tag == f"{SVG}svg"


def test_not_acceptable_lists_the_exports(client, plan_png):
    response = client.post(
        "/invocations", data=plan_png, content_type="image/png", headers={"Accept": "text/csv", **OPENCV}
    )
    assert response.status_code == 406
    assert all(media_type in response.json["error"]["message"] for media_type in RESPONSE_TYPES)


# --- floorplan detect --format ------------------------------------------------------------------


@pytest.fixture
def plan_file(plan_png, tmp_path) -> Path:
    path = tmp_path / "plan.png"
    path.write_bytes(plan_png)
    return path


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    """The app on a loopback port (werkzeug in a thread), for ``--url``."""
    app = create_app(CONFIG, loader=lambda: Pipeline(None))
    assert ping_once_loaded(app.test_client()).status_code == 200
    with served(app) as url:
        yield url


@pytest.mark.parametrize("fmt", ["svg", "geojson", "dxf"])
@pytest.mark.parametrize("where", ["in-process", "url"])
def test_detect_cli_writes_each_format(plan_file, tmp_path, capsys, expected, live_url, fmt, where):
    out = tmp_path / f"plan.{fmt}"
    target = ["--url", live_url] if where == "url" else []
    code = main(
        ["detect", str(plan_file), *target, "--backend", "opencv", "--format", fmt, "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert read_back(fmt, out.read_bytes()) == expected
    assert f"wrote the {fmt} export" in err
    if where == "in-process":
        assert "walls" in err  # the summary line too


def test_detect_cli_writes_text_exports_to_standard_output(plan_file, capsysbinary, expected):
    assert main(["detect", str(plan_file), "--backend", "opencv", "--format", "svg"]) == 0
    assert read_back("svg", capsysbinary.readouterr().out) == expected
    assert main(["detect", str(plan_file), "--backend", "opencv", "--format", "dxf"]) == 0
    assert read_back("dxf", capsysbinary.readouterr().out) == expected


def test_detect_cli_keeps_json_and_overlay(plan_file, tmp_path, capsys, expected):
    out, overlay = tmp_path / "result.json", tmp_path / "overlay.png"
    code = main(
        ["detect", str(plan_file), "--backend", "opencv", "--out", str(out), "--overlay", str(overlay)]
    )
    assert code == 0, capsys.readouterr().err
    assert counts_of(json.loads(out.read_text())) == expected
    assert Image.open(overlay).size == (320, 240)
    overlay.unlink()
    geojson = ["--format", "geojson", "--out", str(out), "--overlay", str(overlay)]
    assert main(["detect", str(plan_file), "--backend", "opencv", *geojson]) == 0
    assert Image.open(overlay).size == (320, 240)
    assert read_back("geojson", out.read_bytes()) == expected


def test_detect_export_checks_the_answer(plan_file, live_url):
    body = detect_export(plan_file, "geojson", url=live_url, backend="opencv")
    assert json.loads(body)["type"] == "FeatureCollection"
    with pytest.raises(DetectError, match="unknown export format"):
        detect_export(plan_file, "pdf", url=live_url)
