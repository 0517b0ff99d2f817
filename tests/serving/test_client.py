"""``model_code.serving.client``: boto3 through a front-door stand-in, a local URL, and the detect CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config
from PIL import Image

from model_code.schema import validate_result
from model_code.serving.client import (
    DetectError,
    ModelInvocationError,
    RetryableError,
    detect,
    encode_custom_attributes,
    load_image_bytes,
    parse_error_body,
    render,
    with_retries,
)
from tests.serving.frontdoor import FrontDoor
from tests.serving.helpers import ROOT

ENDPOINT = "floorplan-test"


def runtime_client(url: str):
    """A real boto3 sagemaker-runtime client pointed at the stand-in (botocore retries off)."""
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


# --- fast unit tests -------------------------------------------------------------------------


def test_encode_custom_attributes():
    assert encode_custom_attributes({}) is None
    assert encode_custom_attributes({"threshold": 0.4, "backend": None, "x": True}) == "threshold=0.4,x=true"
    with pytest.raises(DetectError, match="cannot contain"):
        encode_custom_attributes({"backend": "a,b"})
    with pytest.raises(DetectError, match="1024"):
        encode_custom_attributes({"k": "v" * 1100})


def test_parse_error_body():
    assert parse_error_body(b'{"error": {"code": "invalid_image", "message": "bad"}}') == (
        "invalid_image",
        "bad",
    )
    assert parse_error_body("<html>oops</html>") == ("error", "<html>oops</html>")


def test_load_image_bytes(tmp_path, plan_png, plan_jpeg):
    assert load_image_bytes(plan_png)[1] == "image/png"
    assert load_image_bytes(plan_jpeg)[1] == "image/jpeg"
    assert load_image_bytes(b"GIF89a")[1] == "application/octet-stream"
    with pytest.raises(DetectError, match="not found"):
        load_image_bytes(tmp_path / "missing.png")
    with pytest.raises(DetectError, match="empty"):
        load_image_bytes(b"")


def test_with_retries_backs_off_then_gives_up():
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RetryableError("throttled")
        return "ok"

    assert with_retries(flaky, max_attempts=3, base_delay=0.001) == "ok"
    calls.clear()
    with pytest.raises(RetryableError):
        with_retries(flaky, max_attempts=2, base_delay=0.001)


def test_no_endpoint_is_a_clear_error(monkeypatch, plan_png):
    monkeypatch.delenv("SAGEMAKER_ENDPOINT_NAME", raising=False)
    with pytest.raises(DetectError, match="SAGEMAKER_ENDPOINT_NAME"):
        detect(plan_png)
    with pytest.raises(DetectError, match="not both"):
        detect(plan_png, "name", url="http://127.0.0.1:1")


def test_unreachable_url_is_a_clear_error(plan_png):
    with pytest.raises(DetectError, match="cannot reach"):
        detect(plan_png, url="http://127.0.0.1:9", max_attempts=1, timeout=5)


# --- end to end against the shared real server -------------------------------------------------


@pytest.mark.slow
def test_boto3_detect_through_the_front_door(server, plan_png):
    with FrontDoor({ENDPOINT: server.url}) as door:
        result = detect(plan_png, ENDPOINT, client=runtime_client(door.url), threshold=0.5)
        validate_result(result)
        assert result["image"] == {"width": 320, "height": 240}
        overlay = render(plan_png, ENDPOINT, client=runtime_client(door.url))
        assert Image.open(io.BytesIO(overlay)).size == (320, 240)
        assert door.calls == [f"/endpoints/{ENDPOINT}/invocations"] * 2


@pytest.mark.slow
def test_endpoint_name_from_environment_and_endpoint_url(server, plan_png, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with FrontDoor({ENDPOINT: server.url}) as door:
        result = detect(plan_png, endpoint_url=door.url, region="us-east-1")
    assert result["model"]["backend"] == "unet"


@pytest.mark.slow
def test_container_errors_arrive_as_model_invocation_error(server, plan_png):
    with FrontDoor({ENDPOINT: server.url}) as door:
        client = runtime_client(door.url)
        with pytest.raises(ModelInvocationError) as info:
            detect(plan_png, ENDPOINT, client=client, threshold=2)
        assert (info.value.status, info.value.code) == (400, "invalid_option")
        assert "threshold" in info.value.message
        with pytest.raises(ModelInvocationError) as info:
            detect(b"garbage bytes", ENDPOINT, client=client)
        assert (info.value.status, info.value.code) == (400, "invalid_image")
        with pytest.raises(DetectError, match="not found"):
            detect(plan_png, "no-such-endpoint", client=client)


@pytest.mark.slow
def test_throttling_is_retried_with_backoff(server, plan_png):
    with FrontDoor({ENDPOINT: server.url}, throttle_first=2) as door:
        result = detect(plan_png, ENDPOINT, client=runtime_client(door.url), retry_delay=0.01)
        assert result["image"]["width"] == 320
        assert len(door.calls) == 3
    with (
        FrontDoor({ENDPOINT: server.url}, throttle_first=5) as door,
        pytest.raises(RetryableError, match="ThrottlingException"),
    ):
        detect(plan_png, ENDPOINT, client=runtime_client(door.url), retry_delay=0.01, max_attempts=2)


@pytest.mark.slow
def test_local_url_has_the_same_interface(server, plan_jpeg):
    result = detect(plan_jpeg, url=server.url, backend="opencv")
    validate_result(result)
    assert result["model"]["backend"] == "opencv"
    mask = render(plan_jpeg, url=server.url, overlay=False)
    assert Image.open(io.BytesIO(mask)).mode == "L"
    with pytest.raises(ModelInvocationError) as info:
        detect(plan_jpeg, url=server.url, render="sideways")
    assert info.value.status == 400


@pytest.mark.slow
def test_detect_cli(server, plan_png, tmp_path):
    image = tmp_path / "plan.png"
    image.write_bytes(plan_png)
    out, overlay = tmp_path / "result.json", tmp_path / "overlay.png"
    command = [sys.executable, "-m", "model_code", "detect", str(image), "--url", server.url]
    done = subprocess.run(
        [*command, "--out", str(out), "--overlay", str(overlay), "--threshold", "0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    validate_result(json.loads(out.read_text()))
    assert Image.open(overlay).size == (320, 240)
    assert "walls" in done.stderr
    bad = subprocess.run(
        [*command, "--threshold", "7"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1
    assert "invalid_option" in bad.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "model_code", "detect", str(tmp_path / "nope.png"), "--url", server.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "not found" in missing.stderr


def test_detect_cli_runs_in_process_without_a_url(tiny_checkpoint, plan_png, tmp_path, capsys):
    from model_code.cli import main
    from model_code.pipeline import PipelineOptions

    image = tmp_path / "plan.png"
    image.write_bytes(plan_png)
    out, overlay = tmp_path / "result.json", tmp_path / "overlay.png"
    code = main(
        [
            "detect",
            str(image),
            "--model-dir",
            str(tiny_checkpoint),
            "--out",
            str(out),
            "--overlay",
            str(overlay),
        ]
    )
    assert code == 0, capsys.readouterr().err
    document = json.loads(out.read_text())
    validate_result(document)
    assert document["model"]["name"] == "tiny-test"
    assert Image.open(overlay).size == (320, 240)
    assert "walls" in capsys.readouterr().err
    from model_code import Pipeline  # the public in-process API gives the same document

    expected = Pipeline.load(tiny_checkpoint).analyze_file(image, PipelineOptions()).document.to_dict()
    assert {k: v for k, v in document.items() if k != "timing_ms"} == {
        k: v for k, v in expected.items() if k != "timing_ms"
    }


def test_detect_cli_in_process_errors(tiny_checkpoint, plan_png, tmp_path, capsys):
    from model_code.cli import main

    garbage, image = tmp_path / "garbage.png", tmp_path / "plan.png"
    garbage.write_bytes(b"not an image at all")
    image.write_bytes(plan_png)
    assert main(["detect", str(garbage), "--model-dir", str(tiny_checkpoint)]) == 1
    assert "invalid_image" in capsys.readouterr().err
    assert main(["detect", str(image), "--model-dir", str(tmp_path / "no_model")]) == 1
    assert "no model checkpoint" in capsys.readouterr().err
    assert main(["detect", str(image), "--model-dir", str(tiny_checkpoint), "--threshold", "7"]) == 1
    assert "invalid_option" in capsys.readouterr().err
    assert main(["detect", str(tmp_path / "missing.png")]) == 2
