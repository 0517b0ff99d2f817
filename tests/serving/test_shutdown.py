"""``serve_local.py`` runs the serve stack; SIGTERM lets the request in flight finish and exits in time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from model_code.schema import validate_result
from tests.serving.helpers import (
    SERVE_LOCAL,
    ServerProcess,
    encode,
    free_port,
    plan_image,
    request_in_flight,
    serving_env,
)

pytestmark = pytest.mark.slow
EXIT_BUDGET_S = 30.0


def test_serve_local_rejects_a_directory_without_a_model(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SERVE_LOCAL), "--model-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "no model checkpoint" in done.stderr


def test_sigterm_finishes_the_request_in_flight_then_exits(tmp_path, tiny_checkpoint: Path):
    port = free_port()
    env = serving_env(tmp_path / "empty_base", port, {})
    command = [sys.executable, str(SERVE_LOCAL), "--model-dir", str(tiny_checkpoint), "--port", str(port)]
    server = ServerProcess(command, env, port, tmp_path / "serve_local.log")
    try:
        server.wait_for(200)
        log = server.log()
        assert f"http://127.0.0.1:{port}" in log
        assert "curl" in log and "/invocations" in log
        # A big plan keeps the request busy for seconds: its 1280 px masks are traced at the input size
        # (the tiny model's noisy masks, at its 128 px working size, would be done at once).
        body = encode(plan_image(1280, 1200, seed=5))
        headers = {"Content-Type": "image/png", "X-Amzn-SageMaker-Custom-Attributes": "resolution=input"}
        sender, outcome = request_in_flight(server.url, body, headers, server.log, poll_s=0.05)
        # /ping stays responsive while this worker is busy with an inference.
        assert requests.get(f"{server.url}/ping", timeout=2).status_code == 200
        assert sender.is_alive(), "the request finished before SIGTERM: make it bigger"
        sent_at = time.monotonic()
        server.process.terminate()
        time.sleep(1.0)  # let gunicorn handle the signal before probing
        # No new request is served any more (it is refused, or reset when the worker exits).
        with pytest.raises(requests.RequestException):
            requests.get(f"{server.url}/ping", timeout=EXIT_BUDGET_S)
        server.process.wait(timeout=EXIT_BUDGET_S)
        exited_after = time.monotonic() - sent_at
        sender.join(timeout=10)
        assert "error" not in outcome, outcome
        response = outcome["response"]
        assert response.status_code == 200, response.text
        validate_result(response.json())
        assert server.process.returncode == 0
        assert exited_after < EXIT_BUDGET_S
        print(f"exited {exited_after:.1f} s after SIGTERM")
        assert "invocation finished" in server.log()
    finally:
        server.stop()
