"""The Flask app in-process: readiness states, error mapping and the request parsers (fast)."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from model_code.pipeline import OptionsError, Pipeline, PipelineOptions, PlanResult
from model_code.serving import readiness
from model_code.serving.app import (
    ApiError,
    create_app,
    negotiate,
    parse_custom_attributes,
    read_request_body,
)
from model_code.serving.config import ServingConfig
from tests.serving.helpers import encode, plan_image

CONFIG = ServingConfig(workers=1, max_payload_mb=1)


class ExplodingPipeline(Pipeline):
    """A pipeline whose analysis fails unexpectedly, to exercise the 500 path."""

    def analyze(
        self, image: np.ndarray, options: PipelineOptions | None = None, between_stages=None
    ) -> PlanResult:
        raise RuntimeError("secret internal detail")


def wait_until(predicate, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def post_png(client, png: bytes, attributes: str):
    """POST a PNG to ``/invocations`` with ``attributes`` as the SageMaker custom attributes."""
    return client.post(
        "/invocations",
        data=png,
        content_type="image/png",
        headers={"X-Amzn-SageMaker-Custom-Attributes": attributes},
    )


def test_ping_is_503_while_loading_then_200():
    release = threading.Event()

    def slow_loader() -> Pipeline:
        release.wait(10)
        return Pipeline(None)

    client = create_app(CONFIG, loader=slow_loader).test_client()
    loading = client.get("/ping")
    assert loading.status_code == 503
    assert loading.json["status"] == "loading"
    response = client.post("/invocations", data=encode(plan_image()), content_type="image/png")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "model_not_ready"
    release.set()
    wait_until(lambda: client.get("/ping").status_code == 200)
    assert client.post("/ping").status_code == 200


def test_failed_load_stays_503_and_logs_the_reason(caplog):
    def broken_loader() -> Pipeline:
        raise OSError("disk on fire")

    with caplog.at_level(logging.ERROR, logger="model_code.serving.app"):
        client = create_app(CONFIG, loader=broken_loader).test_client()
        wait_until(lambda: client.get("/ping").json["status"] == "failed")
    response = client.get("/ping")
    assert response.status_code == 503
    assert "disk on fire" in response.json["reason"]
    assert "disk on fire" in caplog.text


def test_internal_error_is_500_with_request_id_and_no_traceback(caplog):
    client = create_app(CONFIG, loader=lambda: ExplodingPipeline(None)).test_client()
    wait_until(lambda: client.get("/ping").status_code == 200)
    with caplog.at_level(logging.ERROR, logger="model_code.serving.app"):
        response = client.post(
            "/invocations",
            data=encode(plan_image()),
            content_type="image/png",
            headers={"X-Amzn-SageMaker-Inference-Id": "abc-123"},
        )
    assert response.status_code == 500
    error = response.json["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] in error["message"]
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert error["request_id"] in caplog.text
    assert "abc-123" in caplog.text
    assert "secret internal detail" in caplog.text  # the traceback goes to the log only


def test_payload_limit_applies_to_the_body():
    client = create_app(CONFIG, loader=lambda: ExplodingPipeline(None)).test_client()
    wait_until(lambda: client.get("/ping").status_code == 200)
    response = client.post("/invocations", data=b"\0" * (1024 * 1024 + 1), content_type="image/png")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


class BlockingPipeline(Pipeline):
    """Waits for ``release`` in its first stage, then checks ``between_stages``."""

    def __init__(self) -> None:
        super().__init__(None)
        self.release = threading.Event()
        self.started = threading.Event()
        self.stopped = threading.Event()

    def analyze(self, image, options=None, between_stages=None) -> PlanResult:
        self.started.set()
        self.release.wait(10)
        try:
            if between_stages is not None:
                between_stages()
        except BaseException:
            self.stopped.set()
            raise
        return super().analyze(image, PipelineOptions(backend="opencv"))


def post_plan(client):
    return client.post("/invocations", data=encode(plan_image(64, 48)), content_type="image/png")


def test_requests_beyond_the_admission_limit_are_503_with_retry_after():
    pipeline = BlockingPipeline()
    config = ServingConfig(workers=1, threads=3, max_queue=1)
    client = create_app(config, loader=lambda: pipeline).test_client()
    wait_until(lambda: client.get("/ping").status_code == 200)
    first = ThreadPoolExecutor(1).submit(post_plan, client.application.test_client())
    assert pipeline.started.wait(10)
    refused = post_plan(client)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.json["error"]["code"] == "overloaded"
    assert client.get("/ping").status_code == 200
    pipeline.release.set()
    assert first.result(10).status_code == 200
    assert post_plan(client).status_code == 200


def test_timeout_answers_504_and_stops_the_analysis_at_the_next_stage():
    pipeline = BlockingPipeline()
    client = create_app(ServingConfig(workers=1, timeout_s=1), loader=lambda: pipeline).test_client()
    wait_until(lambda: client.get("/ping").status_code == 200)
    start = time.monotonic()
    response = post_plan(client)
    assert response.status_code == 504
    assert response.json["error"]["code"] == "timeout"
    assert time.monotonic() - start < 3
    busy = post_plan(client)  # the abandoned analysis still holds the model
    assert busy.status_code == 503
    assert "timed out" in busy.json["error"]["message"]
    pipeline.release.set()
    assert pipeline.stopped.wait(10)
    wait_until(lambda: post_plan(client).status_code == 200)


def test_ping_waits_for_every_worker(tmp_path):
    config = ServingConfig(workers=2, run_dir=str(tmp_path))
    client = create_app(config, loader=lambda: Pipeline(None)).test_client()
    wait_until(lambda: readiness.workers(tmp_path) == {os.getpid(): "ready"})
    response = client.get("/ping")
    assert response.status_code == 503
    assert response.json == {"status": "loading", "reason": "1 of 2 workers ready"}
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        readiness.publish(tmp_path, sibling.pid, "loading")
        assert client.get("/ping").status_code == 503
        readiness.publish(tmp_path, sibling.pid, "ready")
        assert client.get("/ping").status_code == 200
        readiness.publish(tmp_path, sibling.pid, "failed", "model load failed: OSError")
        assert client.get("/ping").json["status"] == "failed"
        readiness.publish(tmp_path, sibling.pid, "ready")
    finally:
        sibling.kill()
        sibling.wait()
    assert client.get("/ping").status_code == 503  # a dead worker's file does not count


def test_parse_custom_attributes():
    assert parse_custom_attributes(None) == {}
    assert parse_custom_attributes("threshold=0.4, render=overlay,") == {
        "threshold": "0.4",
        "render": "overlay",
    }
    assert parse_custom_attributes("min_wall_length=") == {"min_wall_length": ""}
    with pytest.raises(OptionsError, match="key=value"):
        parse_custom_attributes("threshold")
    with pytest.raises(OptionsError, match="1024"):
        parse_custom_attributes("a=" + "1" * 1100)


@pytest.mark.parametrize(
    ("accept", "default", "expected"),
    [
        (None, "application/json", "application/json"),
        ("", "image/png", "image/png"),
        ("*/*", "image/png", "image/png"),
        ("application/*", "image/png", "application/json"),
        ("image/png;q=0.5, application/json;q=0.6", "image/png", "application/json"),
        ("text/csv", "application/json", None),
    ],
)
def test_negotiate(accept, default, expected):
    assert negotiate(accept, default) == expected


def test_read_request_body_by_content_type():
    png = encode(plan_image(64, 48))
    data, options = read_request_body("image/png", png)
    assert data == png
    assert options == {}
    body = json.dumps({"image": base64.b64encode(png).decode(), "options": {"page": 1}}).encode()
    assert read_request_body("application/json", body) == (png, {"page": 1})
    with pytest.raises(ApiError) as info:
        read_request_body("text/plain", png)
    assert info.value.status == 415
    with pytest.raises(ApiError) as info:
        read_request_body("application/json", b'{"image": "AAAA", "options": [1]}')
    assert info.value.status == 400


class CountingPipeline(Pipeline):
    """A pipeline that counts its analyses (to prove a request was refused before inference)."""

    calls = 0

    def analyze(self, image: np.ndarray, options: PipelineOptions | None = None) -> PlanResult:
        CountingPipeline.calls += 1
        return super().analyze(image, options)


@pytest.fixture()
def counting_client():
    CountingPipeline.calls = 0
    client = create_app(CONFIG, loader=lambda: CountingPipeline(None)).test_client()
    wait_until(lambda: client.get("/ping").status_code == 200)
    return client


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e309", "NaN"])
def test_non_finite_options_are_400_before_inference(counting_client, value):
    png = encode(plan_image(64, 48))
    for name in ("min_wall_length", "threshold"):
        response = post_png(counting_client, png, f"backend=opencv,{name}={value}")
        assert response.status_code == 400, (name, value, response.json)
        assert response.json["error"]["code"] == "invalid_option"
    literal = {"nan": "NaN", "NaN": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(value, value)
    image = base64.b64encode(png).decode()
    body = f'{{"image": "{image}", "options": {{"backend": "opencv", "min_wall_length": {literal}}}}}'
    response = counting_client.post("/invocations", data=body, content_type="application/json")
    assert response.status_code == 400, response.json
    assert CountingPipeline.calls == 0


def test_deeply_nested_json_is_400(counting_client):
    depth = 100_000
    body = '{"image": ' + "[" * depth + "]" * depth + "}"
    response = counting_client.post("/invocations", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_request"
    assert "nested too deeply" in response.json["error"]["message"]
    png = base64.b64encode(encode(plan_image(64, 48))).decode()
    nested = json.dumps({"image": png, "options": {"threshold": {"a": [1]}}})
    response = counting_client.post("/invocations", data=nested, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_option"
    assert CountingPipeline.calls == 0


def test_unknown_option_error_stays_short(counting_client):
    png = base64.b64encode(encode(plan_image(64, 48))).decode()
    options = {f"key{i:06d}": 1 for i in range(50_000)}
    body = json.dumps({"image": png, "options": options})
    response = counting_client.post("/invocations", data=body, content_type="application/json")
    assert response.status_code == 400
    message = response.json["error"]["message"]
    assert len(message) < 1000
    assert "'key000000'" in message and "and 49990 more" in message


def test_garbage_content_type_is_quoted_in_the_error(counting_client):
    response = counting_client.post(
        "/invocations", data=encode(plan_image(64, 48)), headers={"Content-Type": ";garbage=("}
    )
    assert response.status_code == 415
    assert "';garbage=('" in response.json["error"]["message"]
    assert "(none)" not in response.json["error"]["message"]


def test_wall_edges_option_through_invocations():
    """``wall_edges`` from the custom attributes reaches the U-Net pipeline: both values answer, the
    walls' thicknesses follow the edges, the rooms do not; a bad value is a 400 before inference."""
    from model_code.synth import generate_plan

    pipeline = Pipeline.load()
    client = create_app(ServingConfig(workers=1, max_payload_mb=8), loader=lambda: pipeline).test_client()
    wait_until(lambda: client.get("/ping").status_code == 200)
    png = encode(generate_plan(7, size=1024, styles=["solid"]).image)
    documents = {}
    for value in ("drawing", "network"):
        response = post_png(client, png, f"wall_edges={value}")
        assert response.status_code == 200, response.json
        documents[value] = response.json
    thickness = {k: sorted(w["thickness"] for w in d["walls"]) for k, d in documents.items()}
    assert thickness["drawing"] != thickness["network"]
    assert [r["polygon"] for r in documents["drawing"]["rooms"]] == [
        r["polygon"] for r in documents["network"]["rooms"]
    ]
    response = post_png(client, png, "wall_edges=ink")
    assert response.status_code == 400
    assert (
        response.json["error"]["code"] == "invalid_option"
        and "wall_edges" in response.json["error"]["message"]
    )
