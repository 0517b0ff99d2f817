"""`IMAGE serve` as SageMaker runs it: /ping, /invocations (PNG, JPEG, overlay, PDF and TIFF pages, errors),
a non-root user on the image's ONNX cache, no network at run time, and SIGTERM with a request in flight.

Servers publish on 127.0.0.1 only. Each test prints how long its container took from `run` to /ping 200.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
import requests
from PIL import Image

from model_code.schema import validate_result
from tests.container.engine import NON_ROOT, Container, needs_image, processes_mapping
from tests.io.documents import multipage_tiff, vector_pdf
from tests.serving.helpers import encode, free_port, plan_image, request_in_flight

pytestmark = [pytest.mark.slow, needs_image]
EXIT_BUDGET_S = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[Container]:
    container = Container("serve", port=free_port())
    try:
        print(f"\nroot: run -> /ping 200 in {container.wait_for_ping():.1f} s")
        yield container
    finally:
        container.remove()


def test_ping_names_the_bundled_model(server):
    answer = requests.get(f"{server.url}/ping", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ready"
    assert answer.json()["model"]["name"] == "floorplan-unet"


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_invocations_answer_a_valid_result_document(server, fmt, content_type):
    body = encode(plan_image(640, 480, seed=21), fmt)
    answer = requests.post(
        f"{server.url}/invocations", data=body, headers={"Content-Type": content_type}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    document = answer.json()
    validate_result(document)
    assert document["image"] == {"width": 640, "height": 480}
    assert document["walls"] and document["rooms"]


def test_overlay_render_is_an_rgb_png_of_the_input_size(server):
    headers = {
        "Content-Type": "image/png",
        "Accept": "image/png",
        "X-Amzn-SageMaker-Custom-Attributes": "render=overlay",
    }
    answer = requests.post(
        f"{server.url}/invocations", data=encode(plan_image(400, 300)), headers=headers, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("image/png")
    picture = Image.open(io.BytesIO(answer.content))
    assert (picture.size, picture.mode) == ((400, 300), "RGB")


def test_exports_are_served_and_read_back(server):
    """SVG, GeoJSON and DXF from the image (ezdxf is installed in it), each read back with its own library."""
    import json
    import xml.etree.ElementTree as ElementTree

    import ezdxf
    from shapely.geometry import shape

    png = encode(plan_image(400, 300))
    bodies = {}
    for accept in ("application/json", "image/svg+xml", "application/geo+json", "application/dxf"):
        answer = requests.post(
            f"{server.url}/invocations",
            data=png,
            headers={"Content-Type": "image/png", "Accept": accept},
            timeout=60,
        )
        assert answer.status_code == 200, (accept, answer.text)
        assert answer.headers["Content-Type"].startswith(accept)
        bodies[accept] = answer.content
    document = json.loads(bodies["application/json"])
    svg = ElementTree.fromstring(bodies["image/svg+xml"])
    layers = {g.get("id") for g in svg.iter("{http://www.w3.org/2000/svg}g")}
    assert {"walls", "openings", "rooms"} <= layers
    features = json.loads(bodies["application/geo+json"])["features"]
    rooms = [f for f in features if f["properties"]["kind"] == "room"]
    assert len(rooms) == len(document["rooms"]) and all(shape(f["geometry"]).is_valid for f in rooms)
    drawing = ezdxf.read(io.StringIO(bodies["application/dxf"].decode()))
    walls = [e for e in drawing.modelspace().query("LWPOLYLINE") if e.dxf.layer == "WALLS"]
    assert len(walls) == len(document["walls"])


def test_pdf_and_tiff_pages_are_chosen_with_the_page_attribute(server):
    """A 2-page vector PDF answered for page=2, a 3-page TIFF for its default page 1 and page=3, a broken
    PDF and a missing page as clear 400s."""
    pdf = vector_pdf([(144, 72), (216, 144)])
    headers = {"Content-Type": "application/pdf", "X-Amzn-SageMaker-Custom-Attributes": "page=2"}
    answer = requests.post(f"{server.url}/invocations", data=pdf, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    validate_result(document)
    assert document["page"] == {"number": 2, "count": 2}
    assert document["image"] == {"width": 450, "height": 300}
    assert document["walls"]
    tiff = multipage_tiff([plan_image(320 + 32 * i, 240, seed=21 + i) for i in range(3)])
    for attributes, number, width in (("", 1, 320), ("page=3", 3, 384)):
        headers = {"Content-Type": "image/tiff", "X-Amzn-SageMaker-Custom-Attributes": attributes}
        answer = requests.post(f"{server.url}/invocations", data=tiff, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        validate_result(answer.json())
        assert answer.json()["page"] == {"number": number, "count": 3}
        assert answer.json()["image"] == {"width": width, "height": 240}
    headers = {"Content-Type": "application/pdf", "X-Amzn-SageMaker-Custom-Attributes": "page=3"}
    answer = requests.post(f"{server.url}/invocations", data=pdf, headers=headers, timeout=30)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_option"
    assert answer.json()["error"]["page_count"] == 2
    broken = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    headers = {"Content-Type": "application/octet-stream"}
    answer = requests.post(f"{server.url}/invocations", data=broken, headers=headers, timeout=30)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_image"
    assert "PDF" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"not an image", {"Content-Type": "image/png"}, 400, "invalid_image"),
        (b"hello", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"{", {"Content-Type": "application/json"}, 400, "invalid_request"),
        (
            b"x",
            {"Content-Type": "image/png", "X-Amzn-SageMaker-Custom-Attributes": "colour=red"},
            400,
            "invalid_option",
        ),
        (b"x", {"Content-Type": "image/png", "Accept": "text/html"}, 406, "not_acceptable"),
    ],
)
def test_errors_are_json_with_a_code(server, body, headers, status, code):
    answer = requests.post(f"{server.url}/invocations", data=body, headers=headers, timeout=30)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    missing = requests.get(f"{server.url}/nowhere", timeout=5)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def test_a_non_root_user_serves_from_the_image_cache_without_torch():
    """`--user 12345`: the baked ONNX export is readable, so no worker exports again or imports torch."""
    container = Container("serve", options=["--user", NON_ROOT], port=free_port())
    try:
        print(f"\nuser {NON_ROOT}: run -> /ping 200 in {container.wait_for_ping():.1f} s")
        assert processes_mapping(container, "libtorch") == []
        body = encode(plan_image(480, 360, seed=4))
        answer = requests.post(
            f"{container.url}/invocations", data=body, headers={"Content-Type": "image/png"}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        validate_result(answer.json())
        assert container.exec("id", "-u").stdout.strip() == NON_ROOT
        log = container.logs()
        assert "cannot cache" not in log and "exporting again" not in log, log
    finally:
        container.remove()


def test_serve_needs_no_network():
    """`--network none` (no published port: probed from inside the container)."""
    container = Container("serve", options=["--network", "none"])
    try:
        seconds = container.wait_for_ping_inside()
        print(f"\n--network none: run -> /ping 200 (probed inside) in {seconds:.1f} s")
        post = (
            "import json, urllib.request, cv2\n"
            "from model_code.synth import generate_plan\n"
            "ok, png = cv2.imencode('.png', generate_plan(8, size=400).image)\n"
            "request = urllib.request.Request('http://127.0.0.1:8080/invocations', data=png.tobytes(),\n"
            "    headers={'Content-Type': 'image/png'})\n"
            "print(len(json.load(urllib.request.urlopen(request, timeout=60))['walls']))\n"
        )
        assert int(container.exec("python", "-c", post).stdout.strip()) > 0
    finally:
        container.remove()


def test_sigterm_finishes_the_request_in_flight_then_exits():
    container = Container("serve", port=free_port())
    try:
        container.wait_for_ping()
        # A big plan traced at the input size keeps the request busy for a few seconds.
        body = encode(plan_image(2400, 2000, seed=5))
        headers = {"Content-Type": "image/png", "X-Amzn-SageMaker-Custom-Attributes": "resolution=input"}
        sender, outcome = request_in_flight(container.url, body, headers, container.logs, poll_s=0.1)
        assert sender.is_alive(), "the request finished before SIGTERM: make it bigger"
        sent_at = time.monotonic()
        container.kill("TERM")
        status = container.wait(timeout=EXIT_BUDGET_S + 30)
        exited_after = time.monotonic() - sent_at
        sender.join(timeout=10)
        assert "error" not in outcome, f"{outcome}\n{container.logs()}"
        response = outcome["response"]
        assert response.status_code == 200, response.text
        validate_result(response.json())
        assert status == 0, container.logs()
        assert exited_after < EXIT_BUDGET_S
        assert "invocation finished" in container.logs()
        print(f"\nexited {exited_after:.1f} s after SIGTERM, the request in flight answered 200")
    finally:
        container.remove()
