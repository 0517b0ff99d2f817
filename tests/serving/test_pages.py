"""Any plan the customer has, in-process: PDF (vector and scanned) and multi-page TIFF pages chosen with
the ``page`` option, WebP and BMP by content type, the page errors, and ``floorplan detect --page``
(fast: the OpenCV backend, no model loaded)."""

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
from model_code.serving.client import load_image_bytes
from model_code.serving.config import ServingConfig
from tests.io.documents import multipage_tiff, scanned_pdf, vector_pdf
from tests.serving.helpers import encode, ping_once_loaded, plan_image

ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
VECTOR_PAGES = [(144, 72), (216, 144)]  # points: 300 x 150 and 450 x 300 pixels at 150 dpi


def client_for(config: ServingConfig):
    client = create_app(config, loader=lambda: Pipeline(None)).test_client()
    assert ping_once_loaded(client).status_code == 200
    return client


@pytest.fixture(scope="module")
def client():
    return client_for(ServingConfig(workers=1, max_payload_mb=2))


@pytest.fixture(scope="module")
def tiff_pages() -> list[np.ndarray]:
    return [plan_image(160 + 16 * i, 128, seed=30 + i) for i in range(3)]


def post(client, body: bytes, content_type: str, attributes: str = "", **headers: str):
    headers[ATTRIBUTES] = ",".join(filter(None, ["backend=opencv", attributes]))
    return client.post("/invocations", data=body, content_type=content_type, headers=headers)


def document_of(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    validate_result(response.json)
    return response.json


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["error"]["code"] == code
    return response.json["error"]


@pytest.mark.parametrize("content_type", ["application/pdf", "application/octet-stream"])
def test_a_vector_pdf_page_is_chosen_with_the_page_attribute(client, content_type):
    data = vector_pdf(VECTOR_PAGES)
    first = document_of(post(client, data, content_type))
    assert first["image"] == {"width": 300, "height": 150}
    assert first["page"] == {"number": 1, "count": 2}
    second = document_of(post(client, data, content_type, "page=2"))
    assert second["image"] == {"width": 450, "height": 300}
    assert second["page"] == {"number": 2, "count": 2}
    assert second["walls"]  # the drawing's strokes are walls


def test_a_scanned_pdf_and_the_json_body_form(client, tiff_pages):
    data = scanned_pdf(tiff_pages[:2])
    body = {"image": base64.b64encode(data).decode(), "options": {"page": 2}}
    document = document_of(post(client, json.dumps(body).encode(), "application/json"))
    assert document["image"] == {"width": 176, "height": 128}
    assert document["page"] == {"number": 2, "count": 2}
    # the body's option wins over the header's
    document = document_of(post(client, json.dumps(body).encode(), "application/json", "page=1"))
    assert document["page"]["number"] == 2


def test_multipage_tiff_pages_by_number(client, tiff_pages):
    data = multipage_tiff(tiff_pages)
    for number, page in enumerate(tiff_pages, 1):
        document = document_of(post(client, data, "image/tiff", f"page={number}"))
        assert document["page"] == {"number": number, "count": 3}
        assert document["image"] == {"width": page.shape[1], "height": page.shape[0]}
    assert document_of(post(client, data, "image/tiff"))["page"] == {"number": 1, "count": 3}


def test_the_overlay_shows_the_chosen_page(client):
    response = post(
        client, vector_pdf(VECTOR_PAGES), "application/pdf", "page=2,render=overlay", Accept="image/png"
    )
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert Image.open(io.BytesIO(response.data)).size == (450, 300)


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("WEBP", "image/webp"), ("BMP", "image/bmp"), ("BMP", "image/x-ms-bmp")]
)
def test_webp_and_bmp_by_their_content_types(client, fmt, content_type):
    params = {"lossless": True} if fmt == "WEBP" else {}
    document = document_of(post(client, encode(plan_image(200, 120), fmt, **params), content_type))
    assert document["image"] == {"width": 200, "height": 120}
    assert "page" not in document  # single images carry no page


@pytest.mark.parametrize(
    ("body", "attributes", "count", "message"),
    [
        ("pdf", "page=3", 2, "page 3 does not exist: the PDF has 2 pages"),
        ("tiff", "page=9", 3, "page 9 does not exist: the TIFF has 3 pages"),
        ("png", "page=2", 1, "page 2 does not exist: the image has one page"),
    ],
)
def test_a_page_that_does_not_exist_is_a_400_naming_the_count(
    client, tiff_pages, body, attributes, count, message
):
    data = {
        "pdf": vector_pdf(VECTOR_PAGES),
        "tiff": multipage_tiff(tiff_pages),
        "png": encode(plan_image(64, 48)),
    }[body]
    error = error_of(post(client, data, "application/octet-stream", attributes), 400, "invalid_option")
    assert error["message"] == message and error["page_count"] == count


@pytest.mark.parametrize("value", ["0", "abc", "-2", "1.5"])
def test_impossible_page_values_are_400_before_the_body_is_read(client, value):
    error = error_of(post(client, b"", "application/pdf", f"page={value}"), 400, "invalid_option")
    assert "page must be a whole number >= 1" in error["message"]
    body = {"image": base64.b64encode(vector_pdf(VECTOR_PAGES)).decode(), "options": {"page": 0}}
    error_of(post(client, json.dumps(body).encode(), "application/json"), 400, "invalid_option")


def test_broken_pdfs_and_other_bodies_are_invalid_images(client):
    error = error_of(post(client, b"%PDF-1.7 broken", "application/pdf"), 400, "invalid_image")
    assert "PDF" in error["message"]
    error = error_of(post(client, b"GIF89a....", "image/png"), 400, "invalid_image")
    assert "PDF" in error["message"]  # the message lists what we read


def test_the_pixel_budget_lowers_a_pdf_page_but_refuses_a_tiff_page(tiff_pages):
    small = client_for(ServingConfig(workers=1, max_pixels=20_000))
    document = document_of(post(small, vector_pdf(VECTOR_PAGES), "application/pdf", "page=2"))
    assert document["image"]["width"] * document["image"]["height"] <= 20_000
    error_of(post(small, multipage_tiff(tiff_pages), "image/tiff", "page=2"), 413, "image_too_large")


def test_batch_mode_splits_a_pdf_unless_a_page_is_chosen(tiff_pages):
    batch = client_for(ServingConfig(workers=1, batch=True, batch_strategy="MULTI_RECORD"))
    data = vector_pdf(VECTOR_PAGES)
    every = post(batch, data, "application/pdf")
    assert every.mimetype == "application/jsonlines"
    lines = [json.loads(line) for line in every.get_data(as_text=True).splitlines()]
    assert [line["page"] for line in lines] == [{"number": 1, "count": 2}, {"number": 2, "count": 2}]
    one = document_of(post(batch, data, "application/pdf", "page=2"))
    assert one["page"] == {"number": 2, "count": 2} and one["image"] == lines[1]["image"]
    # a JSON Lines record may be a PDF or TIFF too; its options choose the page
    records = [
        json.dumps({"image": base64.b64encode(data).decode(), "options": {"page": 2}}),
        json.dumps({"image": base64.b64encode(multipage_tiff(tiff_pages)).decode(), "options": {"page": 5}}),
        base64.b64encode(encode(plan_image(64, 48))).decode(),
    ]
    answer = post(batch, "\n".join(records).encode(), "application/jsonlines")
    lines = [json.loads(line) for line in answer.get_data(as_text=True).splitlines()]
    assert lines[0]["page"] == {"number": 2, "count": 2}
    assert lines[1]["error"]["code"] == "invalid_option" and lines[1]["error"]["page_count"] == 3
    assert "page" not in lines[2] and lines[2]["image"] == {"width": 64, "height": 48}


def test_the_client_names_each_format_by_its_content_type(tiff_pages):
    bodies = {
        "application/pdf": vector_pdf(VECTOR_PAGES),
        "image/tiff": multipage_tiff(tiff_pages),
        "image/webp": encode(plan_image(64, 48), "WEBP"),
        "image/bmp": encode(plan_image(64, 48), "BMP"),
        "image/png": encode(plan_image(64, 48)),
        "application/octet-stream": b"something else",
    }
    for content_type, body in bodies.items():
        assert load_image_bytes(body) == (body, content_type)


def test_detect_cli_reads_a_pdf_page_in_process(tmp_path, capsys):
    from model_code.cli import main

    path = tmp_path / "plan.pdf"
    path.write_bytes(vector_pdf(VECTOR_PAGES))
    out, overlay = tmp_path / "result.json", tmp_path / "overlay.png"
    command = [
        "detect",
        str(path),
        "--backend",
        "opencv",
        "--page",
        "2",
        "--out",
        str(out),
        "--overlay",
        str(overlay),
    ]
    assert main(command) == 0, capsys.readouterr().err
    document = json.loads(out.read_text())
    validate_result(document)
    assert document["page"] == {"number": 2, "count": 2}
    assert document["image"] == {"width": 450, "height": 300}
    assert Image.open(overlay).size == (450, 300)
    assert main(["detect", str(path), "--backend", "opencv", "--page", "3"]) == 1
    assert "invalid_option: page 3 does not exist: the PDF has 2 pages" in capsys.readouterr().err
    assert main(["detect", str(path), "--backend", "opencv", "--page", "0"]) == 1
    assert "page must be a whole number" in capsys.readouterr().err
