"""Batch transform in-process: JSON Lines bodies, PDF and TIFF pages, limits (fast, OpenCV backend).

The app runs ``Pipeline(None)`` and every request asks for ``backend=opencv``, so no model is loaded.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from model_code.io.pages import decode_page, decode_pages, page_count
from model_code.pipeline import Pipeline, PipelineOptions, PlanResult
from model_code.schema import validate_result
from model_code.serving.app import create_app
from model_code.serving.config import ServingConfig
from tests.serving.helpers import encode, ping_once_loaded, plan_image

OPENCV = {"X-Amzn-SageMaker-Custom-Attributes": "backend=opencv"}
MULTI = ServingConfig(workers=1, batch=True, batch_strategy="MULTI_RECORD", max_payload_mb=2)
SIDE = 160


def client_for(config: ServingConfig, pipeline: Pipeline | None = None):
    client = create_app(config, loader=lambda: pipeline or Pipeline(None)).test_client()
    assert ping_once_loaded(client).status_code == 200
    return client


@pytest.fixture(scope="module")
def client():
    return client_for(MULTI)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def lines_of(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/jsonlines"
    text = response.get_data(as_text=True)
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def post_lines(client, body: bytes, headers: dict | None = None, content_type="application/jsonlines"):
    return client.post(
        "/invocations", data=body, content_type=content_type, headers={**OPENCV, **(headers or {})}
    )


def multipage_tiff(pages: list[np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    first, *rest = [Image.fromarray(page) for page in pages]
    first.save(buffer, format="TIFF", save_all=True, append_images=rest)
    return buffer.getvalue()


def two_page_pdf() -> bytes:
    buffer = io.BytesIO()
    first, second = Image.fromarray(plan_image(SIDE, SIDE, seed=1)), Image.fromarray(plan_image(200, 120, 2))
    first.save(buffer, format="PDF", save_all=True, append_images=[second], resolution=150)
    return buffer.getvalue()


def test_twenty_plans_as_json_lines_with_one_corrupt_record(client):
    """The issue's target: 20 lines in order, the corrupt record a clean error with its index."""
    sizes = [(SIDE + 8 * i, SIDE) for i in range(20)]
    images = [encode(plan_image(w, h, seed=100 + i)) for i, (w, h) in enumerate(sizes)]
    corrupt = 7
    images[corrupt] = images[corrupt][: len(images[corrupt]) // 3]  # a truncated PNG
    body = "\n".join(json.dumps({"image": b64(data), "options": {"min_wall_length": 10}}) for data in images)
    lines = lines_of(post_lines(client, body.encode() + b"\n"))
    assert len(lines) == 20
    assert set(lines[corrupt]) == {"error", "record"} and lines[corrupt]["record"] == corrupt
    assert lines[corrupt]["error"]["code"] == "invalid_image"
    assert "PNG" in lines[corrupt]["error"]["message"]
    for index, line in enumerate(lines):
        if index == corrupt:
            continue
        validate_result(line)
        assert (line["image"]["width"], line["image"]["height"]) == sizes[index]  # in order
        assert "page" not in line
        assert line["timing_ms"]["decode"] >= 0


def test_records_may_be_plain_base64_and_errors_stay_per_record(client):
    good = b64(encode(plan_image(SIDE, SIDE)))
    body = "\n".join(
        [
            good,
            json.dumps(good),
            "",  # blank lines are not records
            json.dumps({"image": good, "options": {"backend": "nope"}}),
            json.dumps({"image": "***"}),
            "{not json",
            json.dumps({"image": b64(b"%PDF-1.7 ...")}),
            json.dumps({"image": good, "extra": 1}),
        ]
    ).encode()
    lines = lines_of(post_lines(client, body.replace(b"\n", b"\r\n")))
    assert [line.get("record") for line in lines] == [None, None, 2, 3, 4, 5, 6]
    assert [line["error"]["code"] for line in lines[2:]] == [
        "invalid_option",
        "invalid_request",
        "invalid_request",
        "invalid_image",
        "invalid_request",
    ]
    for line in lines[:2]:
        validate_result(line)


def test_too_large_record_is_a_line_not_a_failed_batch():
    client = client_for(dataclasses.replace(MULTI, max_pixels=SIDE * SIDE))
    body = "\n".join(b64(encode(plan_image(w, SIDE))) for w in (SIDE, 2 * SIDE)).encode()
    lines = lines_of(post_lines(client, body, content_type="application/x-jsonlines"))
    validate_result(lines[0])
    assert lines[1]["error"]["code"] == "image_too_large" and lines[1]["record"] == 1


def test_x_jsonlines_is_answered_in_kind_and_json_accept_is_allowed(client):
    body = b64(encode(plan_image(SIDE, SIDE))).encode()
    answer = post_lines(client, body, {"Accept": "application/x-jsonlines"})
    assert answer.status_code == 200 and answer.mimetype == "application/x-jsonlines"
    assert lines_of(post_lines(client, body, {"Accept": "application/json"}))[0]["image"]["width"] == SIDE
    refused = post_lines(client, body, {"Accept": "image/png"})
    assert refused.status_code == 406 and refused.json["error"]["code"] == "not_acceptable"


def test_multipage_tiff_is_one_line_per_page(client):
    pages = [plan_image(SIDE, SIDE, seed=s) for s in (3, 4, 5)]
    data = multipage_tiff(pages)
    assert page_count(data) == 3
    assert [page.shape for page in decode_pages(data)] == [(SIDE, SIDE, 3)] * 3
    assert np.array_equal(decode_page(data, 2), pages[2])
    lines = lines_of(post_lines(client, data, content_type="image/tiff"))
    assert [line["page"] for line in lines] == [{"number": n, "count": 3} for n in (1, 2, 3)]
    for line in lines:
        validate_result(line)


def test_pdf_pages_are_rendered_one_line_each(client):
    data = two_page_pdf()
    assert page_count(data) == 2
    first, second = decode_pages(data)
    assert first.shape == (SIDE, SIDE, 3) and second.shape == (120, 200, 3)  # 150 dpi, as written
    assert first.mean() < 250  # drawn, not a blank page
    lines = lines_of(post_lines(client, data, content_type="application/octet-stream"))
    assert [line["page"] for line in lines] == [{"number": 1, "count": 2}, {"number": 2, "count": 2}]
    assert [(line["image"]["width"], line["image"]["height"]) for line in lines] == [(SIDE, SIDE), (200, 120)]
    for line in lines:
        validate_result(line)


def test_pdf_rendering_respects_the_pixel_budget():
    data = two_page_pdf()
    page = decode_page(data, 0, max_pixels=5000)
    assert page.shape[0] * page.shape[1] <= 5000
    assert page.shape[0] == pytest.approx(page.shape[1], abs=2)


def test_single_images_are_answered_as_before_with_batch_on(client):
    response = client.post(
        "/invocations", data=encode(plan_image(SIDE, SIDE)), content_type="image/png", headers=OPENCV
    )
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "page" not in response.json
    # a single-page TIFF too (its document names the page); a PDF is split into pages only in batch
    # mode or when JSON Lines is asked: elsewhere it is one page (the first, or the page option)
    tiff = client.post(
        "/invocations",
        data=multipage_tiff([plan_image(SIDE, SIDE)]),
        content_type="image/tiff",
        headers=OPENCV,
    )
    assert tiff.status_code == 200 and tiff.mimetype == "application/json"
    assert tiff.json["page"] == {"number": 1, "count": 1}
    plain = client_for(ServingConfig(workers=1))
    pdf = plain.post("/invocations", data=two_page_pdf(), content_type="application/pdf", headers=OPENCV)
    assert pdf.status_code == 200 and pdf.mimetype == "application/json"
    assert pdf.json["page"] == {"number": 1, "count": 2}
    asked = plain.post(
        "/invocations",
        data=two_page_pdf(),
        content_type="application/octet-stream",
        headers={"Accept": "application/jsonlines", **OPENCV},
    )
    assert len(lines_of(asked)) == 2


def test_unreadable_pdf_body_is_a_400_like_any_single_image(client):
    response = post_lines(client, b"%PDF-1.7 broken", content_type="application/octet-stream")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_image"


def test_single_record_strategy_refuses_many_records_but_takes_one():
    client = client_for(ServingConfig(workers=1, batch=True))
    record = b64(encode(plan_image(SIDE, SIDE)))
    one = lines_of(post_lines(client, f"{record}\n".encode()))
    validate_result(one[0])
    many = post_lines(client, f"{record}\n{record}\n".encode())
    assert many.status_code == 400 and many.json["error"]["code"] == "invalid_request"
    assert "MULTI_RECORD" in many.json["error"]["message"]
    empty = post_lines(client, b"\n\n")
    assert empty.status_code == 400 and empty.json["error"]["code"] == "invalid_request"


def test_payload_limit_applies_to_the_whole_body(client):
    record = json.dumps({"image": b64(encode(plan_image(SIDE, SIDE)))}).encode()
    body = b"\n".join([record] * (MULTI.max_payload_bytes // len(record) + 2))
    assert len(body) > MULTI.max_payload_bytes and len(record) < MULTI.max_payload_bytes
    response = post_lines(client, body)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_execution_parameters_report_the_batch_settings(client):
    config = dataclasses.replace(MULTI, max_concurrent_transforms=3, max_payload_mb=20)
    response = client_for(config).get("/execution-parameters")
    assert response.json == {
        "MaxConcurrentTransforms": 3,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 20,
    }


class SlowPipeline(Pipeline):
    """Each analysis takes 0.8 s more, so a 2 s request timeout reaches only the first records."""

    def analyze(self, image, options: PipelineOptions | None = None, between_stages=None) -> PlanResult:
        time.sleep(0.8)
        return super().analyze(image, options, between_stages)


def test_records_past_the_deadline_are_timeout_lines_and_finished_ones_kept():
    pipeline = SlowPipeline(None)
    # The first analysis imports the geometry stages (about 1 s), as the server's warm-up does.
    Pipeline.analyze(pipeline, plan_image(SIDE, SIDE), PipelineOptions(backend="opencv"))
    client = client_for(dataclasses.replace(MULTI, timeout_s=2), pipeline)
    body = "\n".join(b64(encode(plan_image(SIDE, SIDE, seed=s))) for s in range(6)).encode()
    lines = lines_of(post_lines(client, body))
    assert len(lines) == 6
    finished = [line for line in lines if "error" not in line]
    assert 1 <= len(finished) <= 3 and lines[: len(finished)] == finished
    for index, line in enumerate(lines[len(finished) :], start=len(finished)):
        assert line == {"error": {"code": "timeout", "message": line["error"]["message"]}, "record": index}


def test_server_default_views_apply_to_records_that_give_none(tiny_checkpoint):
    """A batch transform's records carry no options: MODEL_SERVER_VIEWS sets the endpoint's default."""
    client = client_for(ServingConfig(workers=1, batch=True, views=4), Pipeline.load(tiny_checkpoint))
    body = encode(plan_image(SIDE, SIDE))
    four = client.post("/invocations", data=body, content_type="image/png")
    assert four.status_code == 200 and four.json["inference"]["views"] == 4
    asked = {"X-Amzn-SageMaker-Custom-Attributes": "views=1"}
    one = client.post("/invocations", data=body, content_type="image/png", headers=asked)
    assert one.status_code == 200 and one.json["inference"]["views"] == 1
    bad = client.post(
        "/invocations",
        data=body,
        content_type="image/png",
        headers={"X-Amzn-SageMaker-Custom-Attributes": "views=3"},
    )
    assert bad.status_code == 400 and "views must be one of" in bad.json["error"]["message"]
    record = json.dumps({"image": b64(body), "options": {"views": 2, "backend": "unet"}})
    multi = client_for(dataclasses.replace(MULTI, views=4), Pipeline.load(tiny_checkpoint))
    (line,) = lines_of(post_lines(multi, f"{record}\n".encode()))
    assert line["inference"]["views"] == 2
