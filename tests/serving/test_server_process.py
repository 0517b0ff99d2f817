"""The SageMaker inference contract against a real ``container/serve`` process on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from model_code.model.checkpoint import METADATA_FILE
from model_code.schema import validate_result
from tests.io.documents import multipage_tiff, vector_pdf
from tests.serving.conftest import SERVER_MAX_PIXELS
from tests.serving.helpers import ENTRYPOINT, ServerProcess, encode, plan_image

pytestmark = pytest.mark.slow
TIMEOUT = 60
MIB = 1024 * 1024
ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"


def post(server: ServerProcess, body, content_type: str | None = "image/png", **headers: str):
    """POST /invocations with the given body and headers."""
    if content_type is not None:
        headers["Content-Type"] = content_type
    return requests.post(f"{server.url}/invocations", data=body, headers=headers, timeout=TIMEOUT)


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    """The response is a JSON error with this status and code, and no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in response.text
    return error


def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_ping_goes_from_503_to_200(server):
    assert 503 in server.ping_statuses, server.ping_statuses
    assert server.ping_statuses[-1] == 200
    assert server.ready_after_s is not None
    for method in (requests.get, requests.post):
        response = method(f"{server.url}/ping", timeout=2)
        assert response.status_code == 200
        assert response.json()["status"] == "ready"


def test_png_returns_a_valid_result_document(server, plan_png):
    response = post(server, plan_png, "image/png")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    validate_result(document)
    assert document["image"] == {"width": 320, "height": 240}
    assert document["model"] == {
        "name": "tiny-test",
        "version": "0.0.1",
        "backend": "unet",
        "runtime": "openvino_int8",
    }
    assert {"decode", "forward", "total"} <= set(document["timing_ms"])


def test_jpeg_with_charset_parameter_and_upper_case_type(server, plan_jpeg):
    response = post(server, plan_jpeg, "IMAGE/JPEG; charset=utf-8")
    assert response.status_code == 200, response.text
    assert response.json()["image"] == {"width": 300, "height": 200}


@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/x-image"])
def test_generic_types_sniff_magic_bytes(server, plan_png, plan_jpeg, content_type):
    for body, size in ((plan_png, (320, 240)), (plan_jpeg, (300, 200))):
        response = post(server, body, content_type)
        assert response.status_code == 200, response.text
        assert (response.json()["image"]["width"], response.json()["image"]["height"]) == size


def test_json_body_with_base64_image_and_options(server, plan_png):
    body = {"image": base64.b64encode(plan_png).decode(), "options": {"backend": "opencv", "threshold": 0.4}}
    response = post(server, json.dumps(body).encode(), "application/json; charset=utf-8")
    assert response.status_code == 200, response.text
    document = response.json()
    validate_result(document)
    assert document["model"]["backend"] == "opencv"


def test_exif_orientation_and_rgba_and_16bit_inputs(server):
    plan = plan_image(200, 120)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    buffer = io.BytesIO()
    Image.fromarray(plan).save(buffer, format="JPEG", exif=exif.tobytes())
    rotated = post(server, buffer.getvalue(), "image/jpeg").json()
    assert rotated["image"] == {"width": 120, "height": 200}
    rgba = np.dstack([plan, np.full(plan.shape[:2], 128, np.uint8)])
    assert post(server, encode(rgba), "image/png").status_code == 200
    grey16 = Image.fromarray(plan[:, :, 0].astype(np.uint16) * 257)
    buffer = io.BytesIO()
    grey16.save(buffer, format="PNG")
    assert post(server, buffer.getvalue(), "image/png").json()["image"] == {"width": 200, "height": 120}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("image/png", "image/png"),
        ("image/*", "image/png"),
        ("text/html;q=0.9, image/png;q=0.8, application/json;q=0.5", "image/png"),
        ("application/json;q=0.2, image/png", "image/png"),
        ("image/png;q=0, */*;q=0.1", "application/json"),
    ],
)
def test_accept_negotiation(server, plan_png, accept, expected):
    headers = {} if accept is None else {"Accept": accept}
    response = post(server, plan_png, "image/png", **headers)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith(expected)


def test_png_mask_is_binary_at_input_size(server, plan_png):
    response = post(server, plan_png, "image/png", Accept="image/png")
    mask = np.asarray(Image.open(io.BytesIO(response.content)))
    assert mask.shape == (240, 320)
    assert set(np.unique(mask)) <= {0, 255}


def test_overlay_picture(server, plan_png):
    response = post(server, plan_png, "image/png", Accept="image/png", **{ATTRIBUTES: "render=overlay"})
    assert response.status_code == 200, response.text
    picture = Image.open(io.BytesIO(response.content))
    assert picture.size == (320, 240)
    assert picture.mode == "RGB"


def test_custom_attributes_are_applied_and_echoed(server, plan_png):
    value = "threshold=0.9, min_wall_length=12"
    response = post(server, plan_png, "image/png", **{ATTRIBUTES: value})
    assert response.status_code == 200, response.text
    assert response.headers[ATTRIBUTES] == value
    bad = post(server, plan_png, "image/png", **{ATTRIBUTES: "colour=red"})
    assert_error(bad, 400, "invalid_option")
    assert bad.headers[ATTRIBUTES] == "colour=red"
    assert_error(post(server, plan_png, "image/png", **{ATTRIBUTES: "threshold=2"}), 400, "invalid_option")
    assert_error(post(server, plan_png, "image/png", **{ATTRIBUTES: "a=1," * 300}), 400, "invalid_option")


def test_payload_just_under_and_just_over_the_limit(server, plan_png):
    limit = 6 * MIB  # the default SAGEMAKER_MAX_PAYLOAD_IN_MB
    # Bytes after the PNG end chunk are ignored by decoders: a valid plan of any size.
    under = plan_png + b"\0" * (limit - len(plan_png) - 1024)
    assert post(server, under, "image/png").status_code == 200
    over = plan_png + b"\0" * (limit - len(plan_png) + 1024)
    assert_error(post(server, over, "image/png"), 413, "payload_too_large")
    # Chunked uploads carry no Content-Length: the limit still holds (and is not a silent truncation).
    assert post(server, chunks(under), "image/png").status_code == 200
    assert_error(post(server, chunks(over), "image/png"), 413, "payload_too_large")


def chunks(body: bytes, size: int = 256 * 1024):
    """A generator body: requests sends it with Transfer-Encoding: chunked."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_pixel_budget_rejects_decompression_bombs(server):
    side = int(SERVER_MAX_PIXELS**0.5) + 10
    bomb = encode(np.full((side, side, 3), 255, np.uint8))
    assert len(bomb) < 200_000  # tiny file, huge image
    assert_error(post(server, bomb, "image/png"), 413, "image_too_large")


def test_bad_bodies_are_400(server, plan_png):
    assert_error(post(server, b"", "image/png"), 400, "invalid_image")
    assert_error(post(server, b"this is not an image", "application/octet-stream"), 400, "invalid_image")
    assert_error(post(server, plan_png[: len(plan_png) // 2], "image/png"), 400, "invalid_image")
    assert_error(post(server, b"%PDF-1.7 ...", "application/octet-stream"), 400, "invalid_image")
    assert_error(post(server, b"{not json", "application/json"), 400, "invalid_request")
    assert_error(post(server, b'{"image": "***"}', "application/json"), 400, "invalid_request")
    assert_error(post(server, b'{"picture": "AAAA"}', "application/json"), 400, "invalid_request")


def test_unsupported_content_type_is_415(server, plan_png):
    assert_error(post(server, plan_png, "text/plain"), 415, "unsupported_media_type")
    assert_error(post(server, plan_png, None), 415, "unsupported_media_type")


def test_unsatisfiable_accept_is_406(server, plan_png):
    assert_error(post(server, plan_png, "image/png", Accept="text/html"), 406, "not_acceptable")
    assert_error(post(server, plan_png, "image/png", Accept="image/png;q=0"), 406, "not_acceptable")


def test_unknown_routes_and_methods_are_json(server):
    assert_error(requests.get(f"{server.url}/nope", timeout=TIMEOUT), 404, "not_found")
    assert_error(requests.get(f"{server.url}/invocations", timeout=TIMEOUT), 405, "method_not_allowed")


def test_execution_parameters_honour_batch_variables(server):
    response = requests.get(f"{server.url}/execution-parameters", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {
        "MaxConcurrentTransforms": 2,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 6,
    }


def test_batch_pages_and_json_lines_record_through_the_server(server):
    """SAGEMAKER_BATCH=true: a 2-page TIFF is two JSON Lines, a one-record JSON Lines body one line."""
    buffer = io.BytesIO()
    first, second = (Image.fromarray(plan_image(192, 160, seed=s)) for s in (5, 6))
    first.save(buffer, format="TIFF", save_all=True, append_images=[second])
    pages = post(server, buffer.getvalue(), "image/tiff")
    assert pages.status_code == 200 and pages.headers["Content-Type"] == "application/jsonlines"
    lines = [json.loads(line) for line in pages.text.splitlines()]
    assert [line["page"] for line in lines] == [{"number": 1, "count": 2}, {"number": 2, "count": 2}]
    for line in lines:
        validate_result(line)
    record = base64.b64encode(encode(plan_image(160, 160))).decode()
    single = post(server, f"{record}\n".encode(), "application/jsonlines")
    assert single.status_code == 200 and len(single.text.splitlines()) == 1
    validate_result(json.loads(single.text))


def test_pdf_and_tiff_pages_through_the_server(server):
    """A 2-page vector PDF with page=2 and a 3-page TIFF with page=3 are single JSON documents (the
    server runs with SAGEMAKER_BATCH=true: a chosen page is not split); a missing page is a 400."""
    pdf = vector_pdf([(144, 72), (216, 144)])
    second = post(server, pdf, "application/pdf", **{ATTRIBUTES: "page=2"})
    assert second.status_code == 200, second.text
    assert second.headers["Content-Type"].startswith("application/json")
    document = second.json()
    validate_result(document)
    assert document["page"] == {"number": 2, "count": 2}
    assert document["image"] == {"width": 450, "height": 300}
    pages = [plan_image(160 + 32 * i, 128, seed=40 + i) for i in range(3)]
    third = post(server, multipage_tiff(pages), "image/tiff", **{ATTRIBUTES: "page=3"})
    assert third.status_code == 200, third.text
    assert third.json()["page"] == {"number": 3, "count": 3}
    assert third.json()["image"] == {"width": 224, "height": 128}
    error = assert_error(
        post(server, pdf, "application/pdf", **{ATTRIBUTES: "page=5"}), 400, "invalid_option"
    )
    assert error["page_count"] == 2 and "2 pages" in error["message"]
    webp = post(server, encode(plan_image(200, 120), "WEBP", lossless=True), "image/webp")
    assert webp.status_code == 200 and webp.json()["image"] == {"width": 200, "height": 120}


def test_inference_id_is_logged_and_model_loaded_once(server, plan_png):
    response = post(server, plan_png, "image/png", **{"X-Amzn-SageMaker-Inference-Id": "inference-4711"})
    assert response.status_code == 200
    log = server.log()
    assert "inference_id=inference-4711" in log
    assert log.count("loaded model from") == 1
    assert "runtime openvino_int8" in log
    assert "warm-up inference passed" in log


def test_cpu_workers_serve_without_torch(server, plan_png):
    """container/serve exported the model before the fork: no worker maps libtorch."""
    assert post(server, plan_png, "image/png").status_code == 200
    workers = [
        int(p)
        for p in Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    ]
    assert workers, "gunicorn has no worker processes"
    for pid in workers:
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "libopenvino" in maps
        assert "libtorch" not in maps, f"worker {pid} imported torch"


def test_failed_model_load_keeps_ping_503_with_a_logged_reason(tmp_path, tiny_checkpoint: Path):
    base = tmp_path / "base"
    shutil.copytree(tiny_checkpoint, base / "model")
    (base / "model" / METADATA_FILE).write_text("{not json")
    # Started the way the image starts it: the entrypoint dispatching `serve`.
    process = ServerProcess.serve(base, tmp_path / "serve.log", command=(str(ENTRYPOINT), "serve"))
    try:
        process.wait_for(503)
        deadline = time.monotonic() + 120
        while process.ping_json()["status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.5)
        response = requests.get(f"{process.url}/ping", timeout=2)
        assert response.status_code == 503
        assert response.json()["status"] == "failed"
        assert "model.json" in response.json()["reason"]
        assert "model load failed" in process.log()
        assert_error(post(process, b"x", "image/png"), 503, "model_not_ready")
    finally:
        assert process.stop() == 0
