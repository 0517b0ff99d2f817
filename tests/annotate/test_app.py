"""The annotation tool's HTTP API and CLI, through Flask's test client (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_code.annotate.app import configure_annotate, create_app, run_annotate
from model_code.cli import main
from model_code.io.images import write_png
from model_code.pipeline import Pipeline, PipelineOptions
from model_code.schema import validate_annotation
from tests.annotate.helpers import draw_plan, sample_annotation, tool_client


def _put(client, annotation, base_revision):
    return client.put(
        "/api/plans/plan_a/annotation", json={"annotation": annotation, "base_revision": base_revision}
    )


@pytest.fixture
def client(plan_folder: Path):
    return tool_client(create_app(plan_folder, backend="opencv"))


def test_list_page_and_api(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert b"plan_a.png" in page.data and b"plan_b.jpg" in page.data and b"plan_a_wall" not in page.data
    listing = client.get("/api/plans").get_json()
    assert [p["id"] for p in listing["plans"]] == ["plan_a", "plan_b"]
    assert {p["state"] for p in listing["plans"]} == {"not_started"}


def test_editor_page_serves_local_assets_only(client) -> None:
    page = client.get("/plan/plan_a")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/static/editor.js" in html and "/static/annotate.css" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert client.get("/static/editor.js").status_code == 200
    assert client.get("/plan/nope").status_code == 404


def test_editor_links_the_next_plan_to_do(client) -> None:
    assert 'href="/plan/plan_b"' in client.get("/plan/plan_a").get_data(as_text=True)
    assert 'href="/plan/plan_a"' in client.get("/plan/plan_b").get_data(as_text=True)  # wraps around
    _put(client, sample_annotation(), 0)
    client.post("/api/plans/plan_a/validate", json={"base_revision": 1})
    assert "next-plan" not in client.get("/plan/plan_b").get_data(as_text=True)  # plan_a is done


def test_get_plan_and_image(client, plan_folder: Path) -> None:
    plan = client.get("/api/plans/plan_a").get_json()
    assert (plan["width"], plan["height"], plan["state"], plan["revision"]) == (256, 192, "not_started", 0)
    assert plan["data"] is None and plan["problems"] == []
    image = client.get(plan["image_url"])
    assert image.status_code == 200 and image.data == (plan_folder / "plan_a.png").read_bytes()
    assert client.get("/api/plans/missing").status_code == 404
    assert client.get("/api/plans/missing").get_json()["error"] == {
        "code": "not_found",
        "message": f"no plan 'missing' in {plan_folder}",
    }


def test_save_reload_conflict_and_validate(client, plan_folder: Path) -> None:
    saved = client.put(
        "/api/plans/plan_a/annotation", json={"annotation": sample_annotation(), "base_revision": 0}
    )
    assert saved.status_code == 200
    assert (saved.get_json()["revision"], saved.get_json()["state"]) == (1, "edited")
    on_disk = json.loads((plan_folder / "plan_a.json").read_text())
    validate_annotation(on_disk)
    reloaded = client.get("/api/plans/plan_a").get_json()
    assert reloaded["data"] == on_disk and reloaded["revision"] == 1
    stale = client.put(
        "/api/plans/plan_a/annotation", json={"annotation": sample_annotation(), "base_revision": 0}
    )
    assert stale.status_code == 409 and stale.get_json()["current_revision"] == 1
    validated = client.post("/api/plans/plan_a/validate", json={"base_revision": 1})
    assert validated.status_code == 200 and validated.get_json()["state"] == "validated"
    listing = client.get("/api/plans").get_json()["plans"]
    assert listing[0]["state"] == "validated" and listing[0]["counts"]["walls"] == 3


def test_broken_json_is_refused_with_the_reason(client, plan_folder: Path) -> None:
    (plan_folder / "plan_a.json").write_text(
        '{"image_id": "plan_a", "walls": [{"start": [1, 2]}], "rooms": []}'
    )
    response = client.get("/api/plans/plan_a")
    assert response.status_code == 422
    assert "plan_a.json does not match the annotation schema" in response.get_json()["problems"][0]["message"]
    assert "plan_a.json does not match" in response.get_json()["error"]["message"]
    (plan_folder / "plan_a.json").write_text("{oops")
    not_json = client.get("/api/plans/plan_a")
    assert not_json.status_code == 422
    assert "not valid JSON" in not_json.get_json()["problems"][0]["message"]
    assert "plan_a.json is not valid JSON" in not_json.get_json()["error"]["message"]
    assert client.get("/").status_code == 200  # the list still opens


def test_awkward_file_names_work(plan_folder: Path) -> None:
    (plan_folder / "plan #1 é?.png").write_bytes((plan_folder / "plan_a.png").read_bytes())
    client = tool_client(create_app(plan_folder, backend="opencv"))
    assert "plan #1 é?" in [p["id"] for p in client.get("/api/plans").get_json()["plans"]]
    assert 'href="/plan/plan%20%231%20%C3%A9%3F"' in client.get("/").get_data(as_text=True)
    plan = client.get("/api/plans/plan%20%231%20%C3%A9%3F").get_json()
    assert plan["image_url"] == "/api/plans/plan%20%231%20%C3%A9%3F/image"
    assert client.get(plan["image_url"]).status_code == 200
    annotation = sample_annotation("plan #1 é?")
    saved = client.put("/api/plans/plan%20%231%20%C3%A9%3F/annotation", json={"annotation": annotation})
    assert saved.status_code == 409  # base_revision null is not revision 0
    saved = client.put(
        "/api/plans/plan%20%231%20%C3%A9%3F/annotation", json={"annotation": annotation, "base_revision": 0}
    )
    assert saved.status_code == 200
    assert (
        json.loads((plan_folder / "plan #1 é?.json").read_text(encoding="utf-8"))["image_id"] == "plan #1 é?"
    )


def test_exit_save_carries_a_client_token(client) -> None:
    """The tab's exit save (a keepalive fetch with the session token) records its client token."""
    body = {"annotation": sample_annotation(), "base_revision": 0, "client_token": "s:1"}
    response = client.put("/api/plans/plan_a/annotation", json=body)
    assert response.status_code == 200
    assert client.get("/api/plans/plan_a").get_json()["client_token"] == "s:1"


def test_bad_requests_get_clear_errors(client) -> None:
    not_json = client.put("/api/plans/plan_a/annotation", data="nope", content_type="application/json")
    assert not_json.status_code == 400 and not_json.get_json()["error"]["code"] == "bad_request"
    missing = client.put("/api/plans/plan_a/annotation", json={"base_revision": 0})
    assert missing.status_code == 400 and "annotation" in missing.get_json()["error"]["message"]
    wrong_revision = client.put("/api/plans/plan_a/annotation", json={"annotation": {}, "base_revision": "x"})
    assert wrong_revision.status_code == 400
    invalid = client.put(
        "/api/plans/plan_a/annotation", json={"annotation": {"walls": 3}, "base_revision": 0}
    )
    assert invalid.status_code == 422
    assert any(p["path"] == "walls" for p in invalid.get_json()["problems"])
    nothing = client.post("/api/plans/plan_a/validate", json={"base_revision": 0})
    assert nothing.status_code == 400 and "no annotation" in nothing.get_json()["error"]["message"]
    unknown = client.post("/api/plans/plan_a/preannotate", json={"backend": "magic", "base_revision": 0})
    assert unknown.status_code == 400 and "backend must be one of" in unknown.get_json()["error"]["message"]


def test_validation_problems_are_returned_for_the_plan(client) -> None:
    data = sample_annotation()
    data["walls"][0]["end"] = [500, 20]
    saved = client.put(
        "/api/plans/plan_a/annotation", json={"annotation": data, "base_revision": 0}
    ).get_json()
    assert [p["path"] for p in saved["problems"]] == ["walls/0"]
    assert saved["problems"][0]["point"] == [500.0, 20.0]
    refused = client.post("/api/plans/plan_a/validate", json={"base_revision": 1})
    assert refused.status_code == 422 and refused.get_json()["problems"][0]["path"] == "walls/0"


def test_a_failing_backend_is_reported_as_json(client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args, **_kwargs):
        raise ValueError("mask has the wrong shape")

    monkeypatch.setattr(Pipeline, "analyze", broken)
    response = client.post("/api/plans/plan_a/preannotate", json={"backend": "opencv", "base_revision": 0})
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "ValueError: mask has the wrong shape" in response.get_json()["error"]["message"]


def test_unet_without_a_checkpoint_is_a_clear_503(plan_folder: Path, tmp_path: Path) -> None:
    client = tool_client(create_app(plan_folder, backend="unet", model_dir=str(tmp_path / "no_model")))
    response = client.post("/api/plans/plan_a/preannotate", json={"backend": "unet", "base_revision": 0})
    assert response.status_code == 503
    message = response.get_json()["error"]["message"]
    assert "no model checkpoint" in message and "opencv" in message
    assert not (plan_folder / "plan_a.json").exists()


def test_preannotate_with_opencv_saves_the_pipeline_result(tmp_path: Path) -> None:
    from model_code.synth import generate_plan

    plan = generate_plan(2, 320)
    write_png(tmp_path / "synth_a.png", plan.image)
    client = tool_client(create_app(tmp_path, backend="opencv"))
    response = client.post("/api/plans/synth_a/preannotate", json={"backend": "opencv", "base_revision": 0})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["state"] == "pre_annotated" and body["revision"] == 1
    assert body["model"]["backend"] == "opencv"
    expected = Pipeline(None).analyze(plan.image, PipelineOptions(backend="opencv")).document
    on_disk = json.loads((tmp_path / "synth_a.json").read_text())
    validate_annotation(on_disk)
    assert len(on_disk["walls"]) == len(expected.walls) >= 4
    assert len(on_disk["openings"]) == len(expected.openings)
    assert len(on_disk["rooms"]) == len(expected.rooms)
    assert all(w["id"] for w in on_disk["walls"])
    height, width = plan.image.shape[:2]
    points = [w[end] for w in on_disk["walls"] + on_disk["openings"] for end in ("start", "end")]
    assert all(0 <= x <= width and 0 <= y <= height for x, y in points)
    stale = client.post("/api/plans/synth_a/preannotate", json={"backend": "opencv", "base_revision": 0})
    assert stale.status_code == 409


def test_preannotate_with_a_unet_checkpoint(tmp_path: Path, tiny_checkpoint: Path) -> None:
    write_png(tmp_path / "plan.png", draw_plan(128, 96))
    client = tool_client(create_app(tmp_path, backend="unet", model_dir=str(tiny_checkpoint)))
    response = client.post("/api/plans/plan/preannotate", json={"base_revision": 0})  # default backend
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["model"] == {
        "name": "tiny-test",
        "version": "0.0.1",
        "backend": "unet",
        "runtime": "openvino_int8",
    }
    validate_annotation(json.loads((tmp_path / "plan.json").read_text()))


def test_preannotations_average_the_views_the_tool_was_started_with(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    from model_code.annotate.app import Preannotator
    from model_code.pipeline import OptionsError

    write_png(tmp_path / "plan.png", draw_plan(128, 96))
    assert Preannotator(str(tiny_checkpoint)).analyze(tmp_path / "plan.png", "unet").inference["views"] == 1
    four = Preannotator(str(tiny_checkpoint), views=4).analyze(tmp_path / "plan.png", "unet")
    assert four.inference["views"] == 4 and four.inference["tiles"] >= 4
    client = tool_client(create_app(tmp_path, backend="unet", model_dir=str(tiny_checkpoint), views=4))
    assert client.post("/api/plans/plan/preannotate", json={"base_revision": 0}).status_code == 200
    with pytest.raises(OptionsError, match="views must be one of"):
        create_app(tmp_path, views=3)


def test_cli_help_and_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["annotate", "--help"])
    assert caught.value.code == 0
    assert "--backend" in capsys.readouterr().out
    assert main(["annotate", str(tmp_path / "missing"), "--port", "0"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_refuses_a_bad_port(plan_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    configure_annotate(parser)
    assert run_annotate(parser.parse_args([str(plan_folder), "--port", "70000"])) == 2
    assert "--port" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_serves_the_folder_until_interrupted(plan_folder: Path) -> None:
    import re
    import signal
    import subprocess
    import sys
    import urllib.request

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "model_code",
            "annotate",
            str(plan_folder),
            "--port",
            "0",
            "--backend",
            "opencv",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # a test run started in the background of a shell inherits SIGINT ignored, and Python then
        # installs no KeyboardInterrupt handler: give the tool the Ctrl+C a terminal would give it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", lines[1])
        assert match, lines
        assert "2 plan(s)" in lines[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/api/plans", timeout=10) as response:
            assert [p["id"] for p in json.load(response)["plans"]] == ["plan_a", "plan_b"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_one_broken_annotation_does_not_break_the_list(client, plan_folder: Path) -> None:
    """`"walls": 5` in one JSON: the list answers, flags that plan, and opening it says what is wrong."""
    (plan_folder / "plan_a.json").write_text('{"image_id": "plan_a", "walls": 5, "rooms": []}')
    listing = client.get("/api/plans")
    assert listing.status_code == 200
    plans = {p["id"]: p for p in listing.get_json()["plans"]}
    assert set(plans) == {"plan_a", "plan_b"}
    assert "walls: 5 is not of type 'array'" in plans["plan_a"]["annotation_error"]
    assert plans["plan_b"]["annotation_error"] is None
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "plan_b.jpg" in html and "invalid annotation" in html
    assert "walls: 5 is not of type &#39;array&#39;" in html
    assert client.get("/plan/plan_b").status_code == 200
    assert client.get("/plan/plan_a").status_code == 200  # the editor page opens and shows the reason
    opened = client.get("/api/plans/plan_a")
    assert opened.status_code == 422
    body = opened.get_json()
    assert body["error"]["code"] == "invalid_annotation"
    assert "plan_a.json" in body["error"]["message"] and "walls: 5" in body["error"]["message"]
    assert any("walls: 5 is not of type 'array'" in p["message"] for p in body["problems"])
    refused = client.post("/api/plans/plan_a/validate", json={"base_revision": plans["plan_a"]["revision"]})
    assert refused.status_code == 422
