"""Cross-site writes and DNS rebinding: what a foreign web page can and cannot make the tool do.

A page on another site can send "simple" requests (``text/plain`` bodies, no custom header)
to 127.0.0.1 without a CORS preflight, and a rebinding domain reaches the tool with a foreign
``Host``.  Each test below is such a request; none may change a file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from model_code.annotate.app import create_app
from model_code.annotate.store import AnnotationStore
from tests.annotate.helpers import sample_annotation

BASE = "http://127.0.0.1:8765"  # the test client's environ then says the server listens on 8765
EVIL = "http://evil.example"
TOKEN_HEADER = "X-Annotate-Token"


def _token(client) -> str:
    """The session token as the editor page delivers it (a meta tag)."""
    html = client.get("/plan/plan_a", base_url=BASE).get_data(as_text=True)
    found = re.search(r'<meta name="annotate-token" content="([^"]+)"', html)
    return found.group(1) if found else "no token in the page"


@pytest.fixture
def app(plan_folder: Path):
    return create_app(plan_folder, backend="opencv")


@pytest.fixture
def saved(plan_folder: Path) -> bytes:
    """plan_a has an annotation (revision 1, one room named 'kitchen'); its bytes on disk."""
    AnnotationStore(plan_folder).save("plan_a", sample_annotation(), base_revision=0)
    return (plan_folder / "plan_a.json").read_bytes()


def _forged(name: str = "pwned") -> dict:
    annotation = sample_annotation()
    annotation["rooms"][0]["name_hint"] = name
    return {"annotation": annotation, "base_revision": 0, "force": True}


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"]["code"] == code and body["error"]["message"], body


def test_cross_site_text_plain_post_is_refused(app, saved: bytes, plan_folder: Path) -> None:
    """The exact attack: a form/fetch from another site, text/plain, no token, "force": true."""
    client = app.test_client()
    response = client.post(
        "/api/plans/plan_a/annotation",
        base_url=BASE,
        data=json.dumps(_forged()),
        content_type="text/plain",
        headers={"Origin": EVIL},
    )
    assert response.status_code == 403
    assert (plan_folder / "plan_a.json").read_bytes() == saved


def test_text_plain_write_is_refused_even_with_the_token(app, saved: bytes, plan_folder: Path) -> None:
    client = app.test_client()
    token = _token(client)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None):
        response = client.post(
            "/api/plans/plan_a/annotation",
            base_url=BASE,
            data=json.dumps(_forged()),
            content_type=content_type,
            headers={TOKEN_HEADER: token},
        )
        _assert_error(response, 415, "unsupported_media_type")
    assert (plan_folder / "plan_a.json").read_bytes() == saved
    for path in ("/api/plans/plan_a/validate", "/api/plans/plan_a/preannotate"):
        response = client.post(
            path, base_url=BASE, data='{"base_revision": 1}', headers={TOKEN_HEADER: token}
        )
        _assert_error(response, 415, "unsupported_media_type")
    assert (plan_folder / "plan_a.json").read_bytes() == saved


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8765",
        "attacker.localhost.evil.example:8765",
        "127.0.0.1:9999",
        "10.0.0.5:8765",
    ],
)
def test_foreign_host_is_refused_on_every_route(app, saved: bytes, plan_folder: Path, host: str) -> None:
    """DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends Host: evil.example."""
    client = app.test_client()
    headers = {"Host": host}
    for path in ("/", "/plan/plan_a", "/api/plans", "/api/plans/plan_a", "/api/plans/plan_a/image"):
        _assert_error(client.get(path, base_url=BASE, headers=headers), 403, "forbidden_host")
    _assert_error(client.get("/static/editor.js", base_url=BASE, headers=headers), 403, "forbidden_host")
    token = _token(client)
    response = client.put(
        "/api/plans/plan_a/annotation",
        base_url=BASE,
        json=_forged(),
        headers={**headers, TOKEN_HEADER: token},
    )
    _assert_error(response, 403, "forbidden_host")
    assert (plan_folder / "plan_a.json").read_bytes() == saved


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "LOCALHOST:8765", "[::1]:8765"])
def test_loopback_hosts_are_served(app, host: str) -> None:
    client = app.test_client()
    assert client.get("/api/plans", base_url=BASE, headers={"Host": host}).status_code == 200


def test_the_configured_host_is_served(plan_folder: Path) -> None:
    client = create_app(plan_folder, backend="opencv", host="annotate.internal").test_client()
    base = "http://annotate.internal:8765"
    assert client.get("/api/plans", base_url=base).status_code == 200
    assert client.get("/api/plans", base_url=base, headers={"Host": "evil.example:8765"}).status_code == 403


@pytest.mark.parametrize(
    "origin", [EVIL, "http://evil.example:8765", "http://127.0.0.1:9999", "https://127.0.0.1:8765", "null"]
)
def test_foreign_origin_is_refused(app, saved: bytes, plan_folder: Path, origin: str) -> None:
    client = app.test_client()
    token = _token(client)
    headers = {"Origin": origin, TOKEN_HEADER: token}
    response = client.put("/api/plans/plan_a/annotation", base_url=BASE, json=_forged(), headers=headers)
    _assert_error(response, 403, "forbidden_origin")
    response = client.post(
        "/api/plans/plan_a/validate", base_url=BASE, json={"base_revision": 1}, headers=headers
    )
    _assert_error(response, 403, "forbidden_origin")
    assert (plan_folder / "plan_a.json").read_bytes() == saved
    assert AnnotationStore(plan_folder).info("plan_a").state == "edited"


@pytest.mark.parametrize("origin", [BASE, "http://localhost:8765", "http://[::1]:8765", None])
def test_own_origin_with_the_token_saves(app, saved: bytes, plan_folder: Path, origin: str | None) -> None:
    client = app.test_client()
    headers = {TOKEN_HEADER: _token(client)}
    if origin:
        headers["Origin"] = origin
    annotation = _forged("office")["annotation"]
    body = {"annotation": annotation, "base_revision": 1}
    response = client.put("/api/plans/plan_a/annotation", base_url=BASE, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert json.loads((plan_folder / "plan_a.json").read_text())["rooms"][0]["name_hint"] == "office"


@pytest.mark.parametrize("token", [None, "", "wrong", "x" * 43])
def test_missing_or_wrong_token_is_refused(app, saved: bytes, plan_folder: Path, token: str | None) -> None:
    client = app.test_client()
    headers = {} if token is None else {TOKEN_HEADER: token}
    requests = [
        ("PUT", "/api/plans/plan_a/annotation", _forged()),
        ("POST", "/api/plans/plan_a/annotation", _forged()),
        ("POST", "/api/plans/plan_a/validate", {"base_revision": 1}),
        ("POST", "/api/plans/plan_a/preannotate", {"backend": "opencv", "base_revision": 1}),
    ]
    for method, path, body in requests:
        response = client.open(path, method=method, base_url=BASE, json=body, headers=headers)
        _assert_error(response, 403, "bad_token")
    assert (plan_folder / "plan_a.json").read_bytes() == saved
    assert AnnotationStore(plan_folder).info("plan_a").state == "edited"


def test_force_overwrites_only_with_the_token(app, saved: bytes, plan_folder: Path) -> None:
    """``force`` stays (the UI's "Overwrite with mine"), but only a token-bearing request may use it."""
    client = app.test_client()
    refused = client.put("/api/plans/plan_a/annotation", base_url=BASE, json=_forged())
    assert refused.status_code == 403
    assert (plan_folder / "plan_a.json").read_bytes() == saved
    forced = client.put(
        "/api/plans/plan_a/annotation", base_url=BASE, json=_forged(), headers={TOKEN_HEADER: _token(client)}
    )
    assert forced.status_code == 200, forced.get_json()
    assert json.loads((plan_folder / "plan_a.json").read_text())["rooms"][0]["name_hint"] == "pwned"


def test_each_app_has_its_own_token(plan_folder: Path) -> None:
    first, second = (create_app(plan_folder, backend="opencv").test_client() for _ in range(2))
    token = _token(first)
    assert len(token) >= 32 and token != _token(second)
    assert token not in first.get("/api/plans", base_url=BASE).get_data(as_text=True)
    response = second.put(
        "/api/plans/plan_a/annotation",
        base_url=BASE,
        json={"annotation": sample_annotation(), "base_revision": 0},
        headers={TOKEN_HEADER: token},
    )
    assert response.status_code == 403


def test_pages_cannot_be_framed(app) -> None:
    """Clickjacking: another site must not frame the editor and click "Overwrite with mine"."""
    response = app.test_client().get("/plan/plan_a", base_url=BASE)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
