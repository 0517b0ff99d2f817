"""A generated plan that prints its labels, through the Flask test client with text=on (OCR real)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from model_code.pipeline import Pipeline
from model_code.schema import validate_result
from model_code.serving.app import create_app
from model_code.serving.config import ServingConfig
from model_code.synth import generate_plan
from model_code.text import shared_reader
from tests.serving.helpers import ping_once_loaded
from tests.text.helpers import needs_engine

ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"


@pytest.fixture(scope="module")
def client():
    client = create_app(ServingConfig(workers=1), loader=lambda: Pipeline(None)).test_client()
    assert ping_once_loaded(client).status_code == 200
    return client


def png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("text=maybe", "text must be one of"),
        ("pixels_per_meter=0", "pixels_per_meter must be a finite number > 0"),
        ("pixels_per_meter=abc", "non-numeric"),
        ("pixels_per_meter=inf", "pixels_per_meter must be a finite number > 0"),
    ],
)
def test_bad_text_options_are_400(client, attributes, message):
    response = client.post(
        "/invocations",
        data=png(generate_plan(3, size=256).image),
        content_type="image/png",
        headers={ATTRIBUTES: f"backend=opencv,{attributes}"},
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert message in response.get_data(as_text=True)


def test_pixels_per_meter_gives_metres_without_reading(client):
    plan = generate_plan(3, size=256)
    body = {
        "image": base64.b64encode(png(plan.image)).decode(),
        "options": {"backend": "opencv", "pixels_per_meter": 40},
    }
    response = client.post("/invocations", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.json
    validate_result(document)
    assert document["scale"]["source"] == "option" and document["scale"]["pixels_per_meter"] == 40
    assert "texts" not in document
    for room in document["rooms"]:
        xs, ys = np.asarray(room["polygon"]).T
        area_px = 0.5 * abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1)))
        assert room["area_m2"] == pytest.approx(area_px / 40**2, rel=0.01)
    assert all("length_m" in wall for wall in document["walls"]), document["walls"][:3]


@needs_engine
def test_a_printed_plan_is_read_end_to_end(client):
    shared_reader(threads=2)  # loaded once, as a worker does
    plan = generate_plan(1001, size=768, print_text=True)
    response = client.post(
        "/invocations",
        data=png(plan.image),
        content_type="image/png",
        headers={ATTRIBUTES: "backend=opencv,text=on"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.json
    validate_result(document)
    read = {t["text"].lower().replace(" ", "") for t in document["texts"]}
    names = [p.text for p in plan.printed if p.kind == "name"]
    assert names
    found = sum(name.lower().replace(" ", "") in read for name in names)
    assert found >= 0.7 * len(names), (names, read)
    named = {room["name_hint"] for room in document["rooms"]}
    assert named & set(names)
    if document.get("scale"):
        assert document["scale"]["pixels_per_meter"] == pytest.approx(plan.ppm, rel=0.1)
        assert any("area_m2" in room for room in document["rooms"])


@needs_engine
def test_a_worker_loads_the_reader_on_the_first_text_request_unless_preloaded():
    from model_code.pipeline import PipelineOptions
    from model_code.serving.app import load_text_reader

    assert load_text_reader(ServingConfig(workers=1, torch_threads=1)) is None  # default: not at start
    preloaded = load_text_reader(ServingConfig(workers=1, torch_threads=1, text_preload=True))
    assert preloaded is shared_reader(threads=1)
    pipeline = Pipeline(None, text_threads=1)
    assert pipeline.text_reader is None
    texts = pipeline.read_text(
        generate_plan(1001, size=512, print_text=True).image, PipelineOptions(text="on"), {}
    )
    assert texts  # read on the first text=on request, with the worker's thread count
    assert pipeline.text_reader is shared_reader(threads=1)


@needs_engine
def test_a_label_crossed_by_a_dashed_grid_line_is_read_without_hyphens():
    from tests.text.test_engine_lines import dashed_label

    reader = shared_reader(threads=2)
    texts = [t.text for t in reader.read(np.ascontiguousarray(dashed_label()[:, :, ::-1]))]
    assert texts == ["SALA DE ESTAR"], texts


def test_detect_cli_passes_the_scale_option(tmp_path, capsys):
    from model_code.cli import main

    path = tmp_path / "plan.png"
    path.write_bytes(png(generate_plan(3, size=256).image))
    out = tmp_path / "plan.json"
    assert (
        main(["detect", str(path), "--backend", "opencv", "--pixels-per-meter", "40", "--out", str(out)]) == 0
    )
    document = json.loads(out.read_text())
    assert document["scale"]["source"] == "option" and document["scale"]["pixels_per_meter"] == 40
    assert "texts" not in document and all("length_m" in wall for wall in document["walls"])
    assert main(["detect", str(path), "--backend", "opencv", "--pixels-per-meter", "-1"]) != 0
    assert "pixels_per_meter" in capsys.readouterr().err


@needs_engine
def test_detect_cli_reads_the_plans_text(tmp_path):
    from model_code.cli import main

    plan = generate_plan(1013, size=900, print_text=True)
    path = tmp_path / "plan.png"
    path.write_bytes(png(plan.image))
    out = tmp_path / "plan.json"
    assert main(["detect", str(path), "--backend", "opencv", "--text", "on", "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    validate_result(document)
    printed = {p.text.lower() for p in plan.printed if p.kind == "name"}
    named = {(room.get("name_hint") or "").lower() for room in document["rooms"]}
    assert len(document["texts"]) >= len(printed) and len(named & printed) >= len(printed) // 2
