"""The browser annotation tool: a local Flask app over a folder of plans.

``floorplan annotate DIR`` serves, on 127.0.0.1 only:

* ``/`` - the list of plans with their state (not started, pre-annotated, edited, validated);
* ``/plan/<id>`` - the editor (plain JavaScript + SVG, every asset served from this package);
* ``/api/...`` - the JSON API the editor uses (load, save, pre-annotate, validate).

Pre-annotation runs :class:`model_code.pipeline.Pipeline` with the chosen backend; a backend
that cannot run (no checkpoint, module missing) answers 503 with the reason, shown in the UI.

Any web page the annotator visits can send requests to 127.0.0.1, so every request is checked
(:func:`_guard`): the ``Host`` must be a loopback name or the configured host on the bound port
(DNS rebinding), and a state-changing request must carry no foreign ``Origin``, the per-session
token of :data:`TOKEN_HEADER` (random at start, delivered in the editor page) and a
``Content-Type: application/json`` body (a cross-site form or ``text/plain`` fetch has neither).
Errors are JSON ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import argparse
import hmac
import re
import secrets
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, render_template, request, send_file, url_for
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.serving import make_server

from model_code.annotate.checks import Problem
from model_code.annotate.store import (
    STATES,
    VALIDATED,
    AnnotationStore,
    InvalidAnnotation,
    PlanInfo,
    PlanNotFound,
    RevisionConflict,
    StoreError,
)
from model_code.io.images import read_image
from model_code.pipeline import BACKENDS, Pipeline, PipelineOptions
from model_code.schema import Annotation, ResultDocument, schema_problems

DEFAULT_PORT = 8765
HOST = "127.0.0.1"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
TOKEN_HEADER = "X-Annotate-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]{1,5}))?$")
MAX_REQUEST_BYTES = 64 * 1024 * 1024
STATE_LABELS = {
    "not_started": "not started",
    "pre_annotated": "pre-annotated",
    "edited": "edited",
    "validated": "validated",
}


class BackendUnavailable(RuntimeError):
    """The chosen pre-annotation backend cannot run here (the reason is user-facing)."""


class BadRequest(ValueError):
    """The request body is missing a field or has a wrong type."""


class Refused(Exception):
    """A request the tool will not serve (foreign Host or Origin, no token, not JSON)."""

    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


@dataclass
class Preannotator:
    """Runs the pipeline for pre-annotation; loads each backend once, one analysis at a time.

    ``views`` is the pipeline's ``views`` option for the U-Net (mirrored views averaged).
    """

    model_dir: str | None = None
    views: int = 1
    _pipelines: dict[str, Pipeline] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _pipeline(self, backend: str) -> Pipeline:
        if backend not in BACKENDS:
            raise BadRequest(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
        if backend not in self._pipelines:
            if backend == "opencv":
                self._pipelines[backend] = Pipeline(None)
            else:
                try:
                    self._pipelines[backend] = Pipeline.load(self.model_dir)
                except (OSError, RuntimeError, ValueError, ImportError) as exc:
                    where = self.model_dir or "the bundled default model"
                    raise BackendUnavailable(
                        f"the U-Net backend cannot load {where}: {exc}. "
                        "Choose backend 'opencv' or start the tool with --model-dir."
                    ) from exc
        return self._pipelines[backend]

    def analyze(self, image_path: Path, backend: str) -> ResultDocument:
        """Walls, openings and rooms of one plan from ``backend``."""
        with self._lock:
            pipeline = self._pipeline(backend)
            image = read_image(image_path)
            try:
                return pipeline.analyze(image, PipelineOptions(backend=backend, views=self.views)).document
            except ImportError as exc:
                raise BackendUnavailable(f"the {backend} backend is not available: {exc}") from exc


def _clamp(point: tuple[float, float], width: int, height: int) -> tuple[float, float]:
    return (min(max(float(point[0]), 0.0), float(width)), min(max(float(point[1]), 0.0), float(height)))


def document_to_annotation(plan_id: str, document: ResultDocument) -> dict[str, Any]:
    """A pipeline result as an annotation body: stable ids, coordinates clamped into the image.

    (Vectorized segments may overshoot the border by a fraction of a pixel; a pre-annotation
    must not start its life with "outside the image" problems the annotator did not make.)
    """
    width, height = document.width, document.height
    for prefix, items in (("w", document.walls), ("o", document.openings)):
        for number, item in enumerate(items, start=1):
            if item.id is None:
                item.id = f"{prefix}{number}"
            item.start, item.end = _clamp(item.start, width, height), _clamp(item.end, width, height)
    for room in document.rooms:
        if room.polygon:
            room.polygon = [_clamp(p, width, height) for p in room.polygon]
        x0, y0 = _clamp(room.bounding_box[:2], width, height)
        x1, y1 = _clamp(room.bounding_box[2:], width, height)
        room.bounding_box = [x0, y0, x1, y1]
    annotation = Annotation(
        image_id=plan_id,
        walls=document.walls,
        rooms=document.rooms,
        openings=document.openings,
        width=document.width,
        height=document.height,
    )
    return annotation.to_dict()


def next_plan(store: AnnotationStore, plan_id: str) -> str | None:
    """The next plan after ``plan_id`` (in list order, wrapping) that is not validated yet."""
    plans = store.plans()
    ids = [p.id for p in plans]
    start = ids.index(plan_id) if plan_id in ids else -1
    for offset in range(1, len(plans)):
        candidate = plans[(start + offset) % len(plans)]
        if candidate.state != VALIDATED:
            return candidate.id
    return None


@dataclass
class ToolContext:
    """What one running tool holds: the folder, the pre-annotator and the default backend."""

    store: AnnotationStore
    preannotator: Preannotator
    default_backend: str


def _context(app: Flask) -> ToolContext:
    return app.extensions["annotate"]


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)  # the guard already required Content-Type: application/json
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def _split_host(value: str, scheme: str) -> tuple[str, int] | None:
    """``(lower-case host name without brackets, port)`` of a ``Host`` value, ``None`` if malformed."""
    match = _HOST_PORT.match(value.strip())
    if not match:
        return None
    port = int(match.group("port")) if match.group("port") else DEFAULT_PORTS.get(scheme)
    return match.group("host").strip("[]").lower().rstrip("."), port


def _server_port() -> int | None:
    try:
        return int(request.environ.get("SERVER_PORT", ""))
    except ValueError:
        return None


def _own_address(host: str | None, scheme: str) -> bool:
    """True if ``host`` names this server: an allowed host name on the port it listens on."""
    parsed = _split_host(host or "", scheme)
    if parsed is None:
        return False
    name, port = parsed
    return name in current_app.config["ANNOTATE_HOSTS"] and port == _server_port()


def _guard() -> None:
    """Refuse DNS-rebinding and cross-site requests (runs before every route, static files too)."""
    host = request.headers.get("Host")  # browsers always send one; a rebinding page sends its own name
    if host is not None and not _own_address(host, request.scheme):
        raise Refused(403, "forbidden_host", f"this tool does not answer for host {host!r}")
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin) if origin != "null" else None
        if (
            parts is None
            or parts.scheme != request.scheme
            or parts.path not in ("", "/")
            or not _own_address(parts.netloc, parts.scheme)
        ):
            raise Refused(403, "forbidden_origin", f"requests from origin {origin!r} are not accepted")
    token = request.headers.get(TOKEN_HEADER, "")
    if not hmac.compare_digest(token.encode("utf-8"), current_app.config["ANNOTATE_TOKEN"].encode("utf-8")):
        raise Refused(
            403,
            "bad_token",
            f"missing or wrong {TOKEN_HEADER} header: reload the page (the tool was restarted?)",
        )
    if request.mimetype != "application/json":
        raise Refused(
            415,
            "unsupported_media_type",
            f"the request body must be Content-Type application/json, got {request.mimetype or 'none'!r}",
        )


def _harden(response: Response) -> Response:
    """No framing by other sites (clickjacking), no content sniffing."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _revision(data: dict[str, Any]) -> int | None:
    value = data.get("base_revision")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise BadRequest("base_revision must be an integer or null")
    return value


def _error(code: str, message: str, status: int, **extra: Any) -> tuple[Response, int]:
    """A JSON error body ``{"error": {"code", "message"}, ...extra}``."""
    return jsonify({"error": {"code": code, "message": message}, **extra}), status


def _register_errors(app: Flask) -> None:
    @app.errorhandler(Refused)
    def refused(exc: Refused):
        return _error(exc.code, exc.message, exc.status)

    @app.errorhandler(PlanNotFound)
    def not_found(exc: PlanNotFound):
        return _error("not_found", str(exc), 404)

    @app.errorhandler(BadRequest)
    def bad_request(exc: BadRequest):
        return _error("bad_request", str(exc), 400)

    @app.errorhandler(InvalidAnnotation)
    def invalid(exc: InvalidAnnotation):
        return _error(
            "invalid_annotation",
            f"the annotation has {len(exc.problems)} problem(s)",
            422,
            problems=[p.to_dict() for p in exc.problems],
        )

    @app.errorhandler(RevisionConflict)
    def conflict(exc: RevisionConflict):
        return _error("revision_conflict", str(exc), 409, current_revision=exc.current_revision)

    @app.errorhandler(BackendUnavailable)
    def unavailable(exc: BackendUnavailable):
        return _error("backend_unavailable", str(exc), 503)

    @app.errorhandler(StoreError)
    def store_error(exc: StoreError):
        return _error("bad_request", str(exc), 400)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            code = (exc.name or "error").lower().replace(" ", "_")
            return _error(code, exc.description or exc.name, exc.code or 500)
        return exc

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error on %s", request.path)
        if not request.path.startswith("/api/"):
            return InternalServerError()
        return _error(
            "internal_error", f"internal error ({type(exc).__name__}: {exc}); see the server's log", 500
        )


def _register_pages(app: Flask) -> None:
    @app.get("/")
    def index():
        ctx = _context(app)
        plans = ctx.store.plans()
        totals = {state: sum(p.state == state for p in plans) for state in STATES}
        return render_template(
            "index.html",
            root=str(ctx.store.root),
            plans=plans,
            totals=totals,
            labels=STATE_LABELS,
            hidden=ctx.store.duplicates(),
        )

    @app.get("/plan/<plan_id>")
    def editor(plan_id: str):
        ctx = _context(app)
        ctx.store.image_path(plan_id)  # 404 for an unknown plan
        return render_template(
            "editor.html",
            plan_id=plan_id,
            next_plan=next_plan(ctx.store, plan_id),
            backends=BACKENDS,
            default_backend=ctx.default_backend,
            token=app.config["ANNOTATE_TOKEN"],
        )


def _cannot_open(info: PlanInfo, problems: list[Problem]) -> tuple[Response, int]:
    """422 for a plan whose JSON file the editor cannot draw: what is wrong and how to get out."""
    reason = info.annotation_error or "; ".join(p.message for p in problems)
    message = f"{reason}. Fix or delete {info.json_path.name} in the folder, then reload this page."
    return _error("invalid_annotation", message, 422, problems=[p.to_dict() for p in problems])


def _register_api(app: Flask) -> None:
    @app.get("/api/plans")
    def list_plans():
        ctx = _context(app)
        return jsonify(
            {
                "root": str(ctx.store.root),
                "plans": [p.to_dict() for p in ctx.store.plans()],
                "hidden_duplicates": ctx.store.duplicates(),
            }
        )

    @app.get("/api/plans/<plan_id>")
    def get_plan(plan_id: str):
        store = _context(app).store
        width, height = store.image_size(plan_id)
        try:
            data, info = store.load(plan_id)
        except InvalidAnnotation as exc:  # not JSON at all
            return _cannot_open(store.info(plan_id), exc.problems)
        broken = [] if data is None else schema_problems(data, "annotation")
        if broken:  # the editor cannot draw it: say what to fix instead of opening it
            name = info.json_path.name
            return _cannot_open(
                info, [Problem(f"{name} does not match the annotation schema: {p}") for p in broken]
            )
        problems = [] if data is None else [p.to_dict() for p in store.problems(plan_id, data)]
        return jsonify(
            {
                **info.to_dict(),
                "width": width,
                "height": height,
                "image_url": url_for("get_image", plan_id=plan_id),
                "data": data,
                "problems": problems,
                "client_token": store.client_token(plan_id),
                "backends": list(BACKENDS),
                "default_backend": _context(app).default_backend,
            }
        )

    @app.get("/api/plans/<plan_id>/image")
    def get_image(plan_id: str):
        path = _context(app).store.image_path(plan_id)
        return send_file(path, conditional=True, etag=True, max_age=0)

    @app.route("/api/plans/<plan_id>/annotation", methods=["PUT", "POST"])
    def save_annotation(plan_id: str):
        body = _body()
        if "annotation" not in body:
            raise BadRequest("request body needs an 'annotation' object")
        result = _context(app).store.save(
            plan_id,
            body["annotation"],
            _revision(body),
            source="edit",
            # "force" skips the revision check (the editor's "Overwrite with mine" after a 409);
            # like every write it is only reached with the session token (see _guard).
            force=bool(body.get("force", False)),
            client_token=body.get("client_token"),
        )
        return jsonify(result.to_dict())

    @app.post("/api/plans/<plan_id>/preannotate")
    def preannotate(plan_id: str):
        ctx = _context(app)
        body = _body()
        backend = str(body.get("backend") or ctx.default_backend).strip().lower()
        base_revision = _revision(body)
        document = ctx.preannotator.analyze(ctx.store.image_path(plan_id), backend)
        annotation = document_to_annotation(plan_id, document)
        result = ctx.store.save(plan_id, annotation, base_revision, source="preannotation")
        return jsonify({**result.to_dict(), "model": document.model, "timing_ms": document.timing_ms})

    @app.post("/api/plans/<plan_id>/validate")
    def validate(plan_id: str):
        result = _context(app).store.mark_validated(plan_id, _revision(_body()))
        return jsonify(result.to_dict())


def create_app(
    root: str | Path, backend: str = "unet", model_dir: str | None = None, host: str = HOST, views: int = 1
) -> Flask:
    """The annotation tool's Flask app over the plans in ``root``.

    ``backend`` is the pre-annotation backend selected by default in the editor;
    ``model_dir`` the U-Net checkpoint (``None``: the bundled default model); ``views`` the mirrored
    views its pre-annotations average (the pipeline's ``views`` option).
    ``host`` is the address the server is bound to: requests must name it (or a loopback
    name) in their ``Host`` header.  A fresh random session token is made for each app.
    Raises :class:`StoreError` if ``root`` is not a directory.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    PipelineOptions(views=views).check()  # an impossible views is an error at start, not per plan
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.config["ANNOTATE_TOKEN"] = secrets.token_urlsafe(32)
    app.config["ANNOTATE_HOSTS"] = frozenset({*LOOPBACK_HOSTS, host.strip("[]").lower().rstrip(".")})
    app.before_request(_guard)
    app.after_request(_harden)
    app.extensions["annotate"] = ToolContext(
        store=AnnotationStore(root), preannotator=Preannotator(model_dir, views), default_backend=backend
    )
    _register_errors(app)
    _register_pages(app)
    _register_api(app)
    return app


def configure_annotate(parser: argparse.ArgumentParser) -> None:
    """Declare the ``annotate`` command's arguments."""
    parser.add_argument(
        "directory", metavar="DIR", help="folder of PNG/JPEG plans; <stem>.json is saved next to each"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="unet",
        help="pre-annotation backend selected by default in the editor (default unet)",
    )
    parser.add_argument(
        "--model-dir",
        default=None,
        help="U-Net checkpoint folder for --backend unet (default: the bundled model)",
    )
    parser.add_argument(
        "--views",
        type=int,
        choices=(1, 2, 4),
        default=1,
        help="mirrored views the U-Net's pre-annotations average (default 1; 4: better walls on plans like "
        "its training plans, about four times the forward pass)",
    )


def run_annotate(args: argparse.Namespace) -> int:
    """Serve the tool until Ctrl+C; returns the exit code."""
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be between 0 and 65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        app = create_app(
            args.directory, backend=args.backend, model_dir=args.model_dir, host=HOST, views=args.views
        )
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(HOST, args.port, app, threaded=True)
    except OSError as exc:
        print(f"error: cannot listen on {HOST}:{args.port}: {exc}", file=sys.stderr)
        return 2
    count = len(_context(app).store.plans())
    print(f"annotating {count} plan(s) in {Path(args.directory).resolve()}")
    print(f"open http://{HOST}:{server.server_port}/ in a browser (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()
    return 0
