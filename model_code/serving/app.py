"""The Flask app behind ``container/serve``: the SageMaker inference contract.

* ``GET|POST /ping`` - 200 once every worker's model is loaded and a warm-up inference passed
  (shared readiness files, :mod:`model_code.serving.readiness`), 503 while one is loading or
  after a failed load (the reason is logged). It never loads anything.
* ``POST /invocations`` - a plan (PNG, JPEG, TIFF, BMP, WebP or PDF bytes, or JSON with base64)
  in; the result document (JSON), the wall mask or an overlay (PNG), or the document as SVG,
  GeoJSON or DXF (:mod:`model_code.exports.formats`) out, chosen by the Accept header.  The
  ``page`` option (from 1) picks the page of a PDF or multi-page TIFF; the document then carries
  ``page: {number, count}``.  A page that does not exist is a 400 ``invalid_option`` whose error
  names the page count (``page_count``).
* ``GET /execution-parameters`` - batch-transform settings.

Batch transform: a JSON Lines body (``SAGEMAKER_BATCH_STRATEGY=MULTI_RECORD`` for more than one
record), or with ``SAGEMAKER_BATCH`` a PDF or multi-page TIFF (one record per page), is answered
as JSON Lines, one line per record in order: the result document or ``{"error": ..., "record": N}``.
The records run as one job on the inference thread, under one admission slot and the request's
deadline; records not reached by then are answered ``timeout`` lines.

Each gunicorn worker calls :func:`create_app` after the fork; the app loads the pipeline in a
background thread so ``/ping`` answers 503 meanwhile.  Inference is serialised per worker
(the model already uses ``CPUs // workers`` threads for one request) on one inference thread
(:mod:`model_code.serving.admission`): a worker admits at most ``MODEL_SERVER_MAX_QUEUE``
inference requests, fewer than its request threads so ``/ping`` always finds a free thread, and
answers the rest 503 with ``Retry-After`` at once; a request past ``SAGEMAKER_MODEL_SERVER_TIMEOUT``
is answered 504 and its analysis stops at the next stage boundary.  Errors are JSON
``{"error": {"code", "message"}}``; an internal error carries a request id and its traceback
goes to the server log only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import Flask, Response, g, jsonify, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge
from werkzeug.http import parse_accept_header

from model_code.exports.formats import MEDIA_TYPES as EXPORT_MEDIA_TYPES
from model_code.exports.formats import export_document
from model_code.io.images import ImageDecodeError, ImageTooLargeError, encode_png, sniff_format
from model_code.io.pages import PAGED_FORMATS, PageNotFoundError, page_count
from model_code.model.checkpoint import CheckpointError
from model_code.pipeline import OptionsError, Pipeline, PipelineOptions, PlanResult, decode_plan, page_of
from model_code.serving import readiness
from model_code.serving.admission import Admission, Cancelled, InferenceRunner, InferenceTimeout
from model_code.serving.config import RESPONSE_TYPES, ServingConfig, resolve_serving_model_dir

LOG = logging.getLogger("model_code.serving.app")
CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
INFERENCE_ID_HEADER = "X-Amzn-SageMaker-Inference-Id"
MAX_CUSTOM_ATTRIBUTES = 1024
RAW_IMAGE_TYPES = (
    "image/png",
    "image/jpeg",
    "image/jpg",
    "image/tiff",
    "image/webp",
    "image/bmp",
    "image/x-ms-bmp",
    "application/pdf",
    "application/x-image",
    "application/octet-stream",
)
JSON_TYPE = "application/json"
# Batch bodies and answers (SageMaker's SplitType=Line with JSON Lines); the first is what we answer.
JSON_LINES_TYPES = ("application/jsonlines", "application/x-jsonlines")
DECODABLE_FORMATS = ("png", "jpeg", "tiff", "bmp", "webp", "pdf")
EXTENSION_KEY = "floorplan_serving"
# Seconds a client is told to wait before retrying a 503 (overloaded / model not ready).
RETRY_AFTER_OVERLOADED_S = 1
RETRY_AFTER_NOT_READY_S = 5
# Longest pause while receiving a request body (also bounded by the request deadline).
BODY_IDLE_TIMEOUT_S = 10.0
# Longest pause while reading (and dropping) the body of a refused request.
REFUSED_BODY_TIMEOUT_S = 1.0


class ApiError(Exception):
    """An error answered to the client as ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class ModelState:
    """Readiness of this worker's pipeline: ``loading`` -> ``ready`` or ``failed``; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = "loading"
        self._reason = "model is loading"
        self._pipeline: Pipeline | None = None

    def set_ready(self, pipeline: Pipeline) -> None:
        """Publish a loaded, warmed-up pipeline."""
        with self._lock:
            self._pipeline, self._status, self._reason = pipeline, "ready", ""

    def set_failed(self, reason: str) -> None:
        """Record that loading failed; ``/ping`` stays 503 with this reason."""
        with self._lock:
            self._pipeline, self._status, self._reason = None, "failed", reason

    def snapshot(self) -> tuple[str, str, Pipeline | None]:
        """``(status, reason, pipeline)`` read atomically."""
        with self._lock:
            return self._status, self._reason, self._pipeline


@dataclass
class ServingState:
    """Everything one app instance owns (kept in ``app.extensions``, no module globals)."""

    config: ServingConfig
    model: ModelState = field(default_factory=ModelState)
    runner: InferenceRunner = field(default_factory=InferenceRunner)
    admission: Admission = field(init=False)

    def __post_init__(self) -> None:
        self.admission = Admission(self.config.max_queue)

    def publish(self, status: str, reason: str = "") -> None:
        """Tell the sibling workers this worker's status (no-op outside gunicorn's run directory)."""
        if self.config.run_dir:
            try:
                readiness.publish(self.config.run_dir, os.getpid(), status, reason)
            except OSError:
                LOG.exception("cannot publish readiness to %s", self.config.run_dir)


def warmup_image(size: int = 256) -> np.ndarray:
    """A small generated plan (``model_code.synth``, fixed seed) for the warm-up inference."""
    from model_code.synth import generate_plan

    return generate_plan(0, size=size).image


def load_serving_pipeline(config: ServingConfig) -> Pipeline:
    """Load the serving model once and run a warm-up inference.

    On CPU the model runs on the default runtime (OpenVINO int8; ``$FLOORPLAN_RUNTIME`` names another)
    with ``config.torch_threads`` threads, from the export ``container/serve`` cached before the fork:
    torch is not imported at all.  With a
    visible GPU (and CUDA in torch) it runs eagerly on the GPU.
    """
    from model_code.model.loader import load_model
    from model_code.model.runtimes import EXPORTED_RUNTIMES

    model_dir = resolve_serving_model_dir()
    device = "cuda" if config.use_gpu and _cuda_usable() else "cpu"
    model = load_model(model_dir, device=device, threads=config.torch_threads)
    if model.runtime not in EXPORTED_RUNTIMES:
        import torch

        torch.set_num_threads(config.torch_threads)
    LOG.info(
        "loaded model from %s on %s, runtime %s, %d thread(s)",
        model_dir,
        device,
        model.runtime,
        config.torch_threads,
    )
    pipeline = Pipeline(model, text_reader=load_text_reader(config), text_threads=config.torch_threads)
    start = time.perf_counter()
    text = "on" if pipeline.text_reader is not None else "off"
    pipeline.analyze(warmup_image(), PipelineOptions(text=text))
    LOG.info("warm-up inference passed in %.0f ms (text=%s)", (time.perf_counter() - start) * 1000, text)
    return pipeline


def load_text_reader(config: ServingConfig):
    """The worker's one OCR reader (two ONNX Runtime sessions, the worker's thread count) when
    ``config.text_preload``, else ``None``: the pipeline then loads it on the first ``text=on`` request
    (about 65 MiB per worker saved while text is not asked for).  When the OCR models are not installed
    ``text=on`` is a 400 that says so, either way."""
    from model_code.text import engine_available, shared_reader

    if not engine_available():
        LOG.warning("OCR models not installed: text=on will be refused (docs/text.md)")
        return None
    if not config.text_preload:
        return None
    return shared_reader(threads=config.torch_threads)


def _cuda_usable() -> bool:
    """True when torch can use CUDA (imports torch: called only when a GPU is visible)."""
    import torch

    return bool(torch.cuda.is_available())


def _load_in_background(
    state: ModelState,
    loader: Callable[[], Pipeline],
    announce: Callable[[str, str], None] = lambda status, reason: None,
) -> threading.Thread:
    """Run ``loader`` in a daemon thread and publish its outcome into ``state`` (and ``announce`` it)."""

    def target() -> None:
        start = time.perf_counter()
        try:
            pipeline = loader()
        except CheckpointError as exc:
            LOG.error("model load failed; /ping stays 503: %s", exc)
            state.set_failed(f"model load failed: {exc}")
            announce("failed", f"model load failed: {exc}")
            return
        except Exception as exc:
            LOG.exception("model load failed; /ping stays 503")
            state.set_failed(f"model load failed: {type(exc).__name__}: {exc}")
            announce("failed", f"model load failed: {type(exc).__name__}")
            return
        state.set_ready(pipeline)
        announce("ready", "")
        LOG.info("model ready after %.1f s", time.perf_counter() - start)

    thread = threading.Thread(target=target, name="model-loader", daemon=True)
    thread.start()
    return thread


def parse_custom_attributes(value: str | None) -> dict[str, str]:
    """Parse ``key=value`` pairs separated by commas (at most 1024 characters) into options."""
    if not value:
        return {}
    if len(value) > MAX_CUSTOM_ATTRIBUTES:
        raise OptionsError(
            f"{CUSTOM_ATTRIBUTES_HEADER} is {len(value)} characters, over {MAX_CUSTOM_ATTRIBUTES}"
        )
    options: dict[str, str] = {}
    for pair in value.split(","):
        if not pair.strip():
            continue
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise OptionsError(f"custom attribute {pair.strip()!r} is not of the form key=value")
        options[key.strip()] = raw.strip()
    return options


def negotiate(accept_header: str | None, default: str) -> str | None:
    """The response type for an Accept header (q-values, ``*/*``), ``default`` first; None if none fits."""
    offers = [default] + [t for t in RESPONSE_TYPES if t != default]
    if not accept_header or not accept_header.strip():
        return default
    return parse_accept_header(accept_header, MIMEAccept).best_match(offers)


def _decode_base64(text: Any) -> bytes:
    """Decode the JSON body's ``image`` field (plain base64 or a ``data:`` URL)."""
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "invalid_request", 'JSON body needs "image": a non-empty base64 string')
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "invalid_request", f'"image" is not valid base64: {exc}') from exc


def read_json_body(raw: bytes) -> tuple[bytes, dict[str, Any]]:
    """``{"image": "<base64>", "options": {...}}`` -> image bytes and options."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_request", f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # the parser's own depth limit (about 1,000 levels)
        raise ApiError(400, "invalid_request", "JSON body is nested too deeply") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", 'JSON body must be an object {"image": ..., "options": {...}}')
    unknown = sorted(set(body) - {"image", "options"})
    if unknown:
        raise ApiError(400, "invalid_request", f"unknown JSON field(s) {unknown}; known: image, options")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise ApiError(400, "invalid_request", '"options" must be a JSON object')
    nested = [key for key, value in options.items() if isinstance(value, (dict, list))]
    if nested:
        raise ApiError(
            400, "invalid_option", f"option {nested[0][:40]!r} must be a string, number or boolean"
        )
    return _decode_base64(body.get("image")), options


def check_decodable(raw: bytes) -> None:
    """400 ``invalid_image`` unless ``raw`` starts like a format :func:`decode_plan` reads."""
    if raw and sniff_format(raw) not in DECODABLE_FORMATS:
        raise ApiError(
            400,
            "invalid_image",
            f"body is not an image (starts with {raw[:8]!r}); send a PNG, JPEG, TIFF, BMP, WebP or PDF",
        )


def read_request_body(
    content_type: str, raw: bytes, header: str | None = None
) -> tuple[bytes, dict[str, Any]]:
    """The plan's bytes (raw, or base64 in a JSON body) and the body's options, by Content-Type.

    ``content_type`` is the parsed media type; ``header`` the raw ``Content-Type`` header, quoted
    in the error when the media type is unsupported or could not be parsed.  The bytes are
    decoded later (:func:`model_code.pipeline.decode_plan`), once the options name the page.
    """
    options: dict[str, Any] = {}
    if content_type == JSON_TYPE:
        raw, options = read_json_body(raw)
    elif content_type not in RAW_IMAGE_TYPES:
        shown = content_type or (repr(header[:100]) if header else "(none)")
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {shown} is not supported; use one of "
            f"{[*RAW_IMAGE_TYPES, JSON_TYPE, *JSON_LINES_TYPES]}",
        )
    check_decodable(raw)
    return raw, options


def negotiate_lines(accept_header: str | None) -> str | None:
    """The JSON Lines type to answer a batch with, or None when the Accept header allows none.

    ``application/json`` is accepted too (each line is a JSON document); the answer is then
    ``application/jsonlines``.
    """
    if not accept_header or not accept_header.strip():
        return JSON_LINES_TYPES[0]
    best = parse_accept_header(accept_header, MIMEAccept).best_match([*JSON_LINES_TYPES, JSON_TYPE])
    if best is None:
        return None
    return best if best in JSON_LINES_TYPES else JSON_LINES_TYPES[0]


@dataclass
class BatchRecord:
    """One record of a batch: image bytes and the record's options, or why the record is unreadable."""

    index: int  # 0-based position of the record in the body
    data: bytes = b""
    options: dict[str, Any] = field(default_factory=dict)
    page: tuple[int, int] | None = None  # (number from 1, count) for a page of a PDF or TIFF body
    error: tuple[str, str] | None = None  # (code, message)


def read_json_lines(raw: bytes, header_options: dict[str, Any]) -> list[BatchRecord]:
    """The records of a JSON Lines body; blank lines are skipped, a bad line is a record with an error.

    A line is ``{"image": "<base64>", "options": {...}}`` (the JSON body) or a base64 string,
    bare or as a JSON string.
    """
    records: list[BatchRecord] = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        record = BatchRecord(index=len(records))
        records.append(record)
        try:
            text = line.strip()
            if text.startswith(b"{"):
                record.data, record.options = read_json_body(text)
            else:
                try:
                    value = json.loads(text) if text.startswith(b'"') else text.decode("ascii")
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    message = f"record is not valid JSON or base64: {exc}"
                    raise ApiError(400, "invalid_request", message) from exc
                record.data = _decode_base64(value)
            PipelineOptions.from_mapping({**header_options, **record.options})
        except ApiError as exc:
            record.error = (exc.code, exc.message)
        except OptionsError as exc:
            record.error = ("invalid_option", str(exc))
    return records


def batch_records(
    config: ServingConfig, content_type: str, raw: bytes, header_options: dict[str, Any], lines_only: bool
) -> list[BatchRecord] | None:
    """The records of a batch body, or None for one image answered as usual.

    A JSON Lines body is a batch (more than one record needs ``MULTI_RECORD``).  With
    ``SAGEMAKER_BATCH`` (or when the client accepts only JSON Lines, ``lines_only``) a PDF or a
    TIFF of several pages is one record per page, unless the header's ``page`` option picks one
    page: then it is a single image; an unreadable document is a 400, like any single image.
    With ``lines_only`` a single image is a batch of one.
    """
    if content_type in JSON_LINES_TYPES:
        records = read_json_lines(raw, header_options)
        if not records:
            raise ApiError(400, "invalid_request", "the JSON Lines body holds no record")
        if len(records) > 1 and config.batch_strategy != "MULTI_RECORD":
            raise ApiError(
                400,
                "invalid_request",
                f"the body holds {len(records)} records but SAGEMAKER_BATCH_STRATEGY is "
                f"{config.batch_strategy}: send one record per request or use MULTI_RECORD",
            )
        return records
    if content_type not in RAW_IMAGE_TYPES:
        if lines_only and content_type == JSON_TYPE:
            data, options = read_json_body(raw)
            return [BatchRecord(index=0, data=data, options=options)]
        return None
    kind = sniff_format(raw)
    one_page = header_options.get("page") not in (None, "")
    if (config.batch or lines_only) and kind in PAGED_FORMATS and not one_page:
        count = page_count(raw)
        if count > 1 or kind == "pdf":
            return [BatchRecord(index=0, data=raw, page=(n, count)) for n in range(1, count + 1)]
    if lines_only:
        return [BatchRecord(index=0, data=raw)]
    return None


def _error_line(
    record: BatchRecord,
    code: str,
    message: str,
    request_id: str | None = None,
    page_count: int | None = None,
) -> dict[str, Any]:
    """The output line of a record that failed: ``{"error": {"code", "message"}, "record": N[, "page"]}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if request_id:
        error["request_id"] = request_id
    if page_count is not None:
        error["page_count"] = page_count
    line: dict[str, Any] = {"error": error, "record": record.index}
    if record.page is not None:
        line["page"] = {"number": record.page[0], "count": record.page[1]}
    return line


class BatchRun:
    """The job of one batch request: its records analysed in order on the inference thread.

    Each record's outcome (the result document, or an error line) is kept as it finishes;
    :meth:`finish` closes the run and answers ``timeout`` lines for the records not reached.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        records: list[BatchRecord],
        header_options: dict[str, Any],
        config: ServingConfig,
        deadline: float,
    ):
        self.pipeline = pipeline
        self.records = records
        self.header_options = header_options
        self.config = config
        self.deadline = deadline
        self._lock = threading.Lock()
        self._lines: list[dict[str, Any]] = []
        self._closed = False

    def __call__(self, check: Callable[[], None]) -> None:
        try:
            for record in self.records:
                if time.monotonic() >= self.deadline:
                    return
                check()
                line = self._analyse(record, check)
                with self._lock:
                    if self._closed:
                        return
                    self._lines.append(line)
        except Cancelled:
            LOG.warning("the analysis of a timed-out batch stopped at a stage boundary")
            raise

    def _analyse(self, record: BatchRecord, check: Callable[[], None]) -> dict[str, Any]:
        if record.error is not None:
            return _error_line(record, *record.error)
        start = time.perf_counter()
        page = record.page
        try:
            options = PipelineOptions.from_mapping({**self.header_options, **record.options})
            if page is not None:
                image = decode_plan(record.data, page[0], self.config.max_pixels).image
            else:
                check_decodable(record.data)
                decoded = decode_plan(record.data, options.page, self.config.max_pixels)
                image, page = decoded.image, page_of(decoded)
            decode_ms = (time.perf_counter() - start) * 1000
            result = self.pipeline.analyze(image, options, between_stages=check)
        except Cancelled:
            raise
        except ApiError as exc:
            return _error_line(record, exc.code, exc.message)
        except PageNotFoundError as exc:
            return _error_line(record, "invalid_option", str(exc), page_count=exc.count)
        except ImageDecodeError as exc:
            return _error_line(record, "invalid_image", str(exc))
        except ImageTooLargeError as exc:
            return _error_line(record, "image_too_large", str(exc))
        except OptionsError as exc:
            return _error_line(record, "invalid_option", str(exc))
        except Exception as exc:
            request_id = uuid.uuid4().hex
            LOG.error("internal error request_id=%s record=%d", request_id, record.index, exc_info=exc)
            message = f"internal error (request id {request_id})"
            return _error_line(record, "internal_error", message, request_id)
        document = result.document
        document.timing_ms = {"decode": decode_ms, **document.timing_ms}
        document.timing_ms["total"] = (time.perf_counter() - start) * 1000
        document.page = page
        return document.to_dict()

    def finish(self) -> list[dict[str, Any]]:
        """One line per record, in order: the finished ones, then ``timeout`` errors for the rest."""
        with self._lock:
            self._closed = True
            lines = list(self._lines)
        message = f"not analysed within the {self.config.timeout_s} s request timeout"
        lines.extend(_error_line(record, "timeout", message) for record in self.records[len(lines) :])
        return lines


def render_response(
    result: PlanResult, image: np.ndarray, response_type: str, options: PipelineOptions
) -> Response:
    """The response body for the negotiated type: result JSON, an export, wall-mask PNG or overlay PNG.

    An export (SVG, GeoJSON, DXF) is answered with the media type the client asked for, alias
    or not; it is in pixels (the document carries no scale yet).
    """
    if response_type == JSON_TYPE:
        return Response(json.dumps(result.document.to_dict()), mimetype=JSON_TYPE)
    if response_type in EXPORT_MEDIA_TYPES:
        body = export_document(result.document, EXPORT_MEDIA_TYPES[response_type])
        return Response(body, mimetype=response_type)
    if options.render == "overlay":
        from model_code.exports.overlay import draw_overlay

        doc = result.document
        picture = draw_overlay(image, doc.walls, doc.openings, doc.rooms)
        return Response(encode_png(picture), mimetype="image/png")
    return Response(encode_png(result.wall_mask), mimetype="image/png")


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """A JSON error body ``{"error": {"code", "message"[, "request_id"], ...extra}}``."""
    error: dict[str, Any] = {"code": code, "message": message, **(extra or {})}
    if request_id:
        error["request_id"] = request_id
    response = jsonify({"error": error})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def read_body(limit: int) -> bytes:
    """The request body, at most ``limit`` bytes; 413 when longer, also for chunked uploads.

    With a Content-Length werkzeug refuses an oversized body before reading it.  A chunked
    body has no length: its stream is read up to ``limit + 1`` bytes, because werkzeug's
    limited stream would silently cut it at the limit and turn a 413 into a bogus 400.
    """
    if request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return request.get_data()
    data = request.environ["wsgi.input"].read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


def read_body_in_time(limit: int, deadline: float) -> bytes:
    """:func:`read_body`, with a socket timeout so a stalled upload gives its thread back (408).

    Under gunicorn each receive waits at most ``BODY_IDLE_TIMEOUT_S`` and never past ``deadline``
    (monotonic); elsewhere (the Flask test client) the body is already in memory.
    """
    sock = request.environ.get("gunicorn.socket")
    if sock is None:
        return read_body(limit)
    previous = sock.gettimeout()
    wait_s = max(0.01, min(BODY_IDLE_TIMEOUT_S, deadline - time.monotonic()))
    sock.settimeout(wait_s)
    try:
        return read_body(limit)
    except (ClientDisconnected, TimeoutError) as exc:
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            g.close_without_linger = True
            raise ApiError(
                408, "request_timeout", f"the request body stopped arriving (nothing for {wait_s:.0f} s)"
            ) from exc
        raise
    finally:
        sock.settimeout(previous)


def drop_body(limit: int) -> None:
    """Read and drop the body of a request refused before its body was read.

    Otherwise gunicorn drains it after the answer (a thread held up to 5 s by a stalled client)
    or closes with bytes unread, which resets the connection before the client reads the 503.
    A body that pauses for ``REFUSED_BODY_TIMEOUT_S`` is given up on.
    """
    sock = request.environ.get("gunicorn.socket")
    if sock is None:
        return
    previous = sock.gettimeout()
    sock.settimeout(REFUSED_BODY_TIMEOUT_S)
    try:
        read_body(limit)
    except (ClientDisconnected, RequestEntityTooLarge, OSError):
        g.close_without_linger = True
    finally:
        sock.settimeout(previous)


def _shutdown_read(sock: Any) -> None:
    """After the answer to a stalled upload: gunicorn's graceful close then ends at once."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)


def _retry_after(seconds: int) -> dict[str, str]:
    return {"Retry-After": str(seconds)}


def _state() -> ServingState:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]


def ping() -> tuple[Response, int]:
    """200 when every worker's model is loaded and warmed up, else 503 with the status and reason.

    Cheap on purpose (a directory listing at most): it answers while inferences run.
    """
    state = _state()
    status, reason, pipeline = state.model.snapshot()
    if pipeline is None:
        return jsonify({"status": status, "reason": reason}), 503
    if state.config.run_dir:
        ready, status, reason = readiness.all_ready(state.config.run_dir, state.config.workers)
        if not ready:
            return jsonify({"status": status, "reason": reason}), 503
    return jsonify({"status": "ready", "model": pipeline.model_info("unet")}), 200


def execution_parameters() -> Response:
    """Batch-transform settings: ``MaxConcurrentTransforms``, ``BatchStrategy``, ``MaxPayloadInMB``."""
    return jsonify(_state().config.execution_parameters())


def invocations() -> Response:
    """Analyse one plan image; see the module docstring for the contract."""
    state = _state()
    deadline = time.monotonic() + state.config.timeout_s
    status, reason, pipeline = state.model.snapshot()
    if pipeline is None:
        raise ApiError(
            503,
            "model_not_ready",
            f"model is not ready ({status}): {reason}",
            _retry_after(RETRY_AFTER_NOT_READY_S),
        )
    response_type = negotiate(request.headers.get("Accept"), state.config.default_accept)
    lines_type = negotiate_lines(request.headers.get("Accept"))
    if response_type is None and lines_type is None:
        raise ApiError(
            406,
            "not_acceptable",
            f"cannot produce {request.headers.get('Accept')!r}; "
            f"offers {[*RESPONSE_TYPES, *JSON_LINES_TYPES]}",
        )
    # the server's default views (MODEL_SERVER_VIEWS) under what the request says
    header_options = {
        "views": state.config.views,
        **parse_custom_attributes(request.headers.get(CUSTOM_ATTRIBUTES_HEADER)),
    }
    PipelineOptions.from_mapping(header_options)  # a bad option is a 400 before the body is read
    busy = state.runner.busy_reason()
    if busy is not None:
        drop_body(state.config.max_payload_bytes)
        raise ApiError(503, "overloaded", f"this worker is {busy}", _retry_after(RETRY_AFTER_OVERLOADED_S))
    if not state.admission.try_enter():
        drop_body(state.config.max_payload_bytes)
        raise ApiError(
            503,
            "overloaded",
            f"this worker already holds {state.admission.limit} inference request(s) "
            "(MODEL_SERVER_MAX_QUEUE); retry shortly",
            _retry_after(RETRY_AFTER_OVERLOADED_S),
        )
    handed_off = False
    try:
        start = time.perf_counter()
        raw = read_body_in_time(state.config.max_payload_bytes, deadline)
        records = batch_records(state.config, request.mimetype, raw, header_options, response_type is None)
        if records is not None:
            if lines_type is None:
                offers = list(JSON_LINES_TYPES)
                raise ApiError(406, "not_acceptable", f"a batch is answered as JSON Lines; offers {offers}")
            run = BatchRun(pipeline, records, header_options, state.config, deadline)
            job = state.runner.submit(run, state.admission.leave)
            handed_off = True
            try:
                state.runner.wait(job, deadline)
            except InferenceTimeout:
                LOG.warning(
                    "batch timed out after %d s inference_id=%s; unfinished records answered as timeouts",
                    state.config.timeout_s,
                    request.headers.get(INFERENCE_ID_HEADER, "-"),
                )
            lines = run.finish()
            g.image_size = f"{len(lines)}-records"
            return Response("".join(json.dumps(line) + "\n" for line in lines), mimetype=lines_type)
        data, body_options = read_request_body(request.mimetype, raw, request.headers.get("Content-Type"))
        options = PipelineOptions.from_mapping({**header_options, **body_options})
        decoded = decode_plan(data, options.page, state.config.max_pixels)
        image = decoded.image
        decode_ms = (time.perf_counter() - start) * 1000
        job = state.runner.submit(_analysis(pipeline, image, options), state.admission.leave)
        handed_off = True  # the runner gives the admission slot back once the model is free
        try:
            result = state.runner.wait(job, deadline)
        except InferenceTimeout:
            LOG.warning(
                "invocation timed out after %d s inference_id=%s; its analysis stops at the next stage",
                state.config.timeout_s,
                request.headers.get(INFERENCE_ID_HEADER, "-"),
            )
            raise ApiError(
                504,
                "timeout",
                f"the analysis did not finish within the {state.config.timeout_s} s request timeout",
            ) from None
    finally:
        if not handed_off:
            state.admission.leave()
    result.document.timing_ms = {"decode": decode_ms, **result.document.timing_ms}
    result.document.timing_ms["total"] = (time.perf_counter() - start) * 1000
    result.document.page = page_of(decoded)
    g.image_size = f"{image.shape[1]}x{image.shape[0]}"
    if decoded.paged:
        g.image_size += f"-page-{decoded.number}-of-{decoded.count}"
    return render_response(result, image, response_type, options)


def _analysis(
    pipeline: Pipeline, image: np.ndarray, options: PipelineOptions
) -> Callable[[Callable[[], None]], PlanResult]:
    """The job for the inference thread: ``check`` is called between the pipeline's stages."""

    def run(check: Callable[[], None]) -> PlanResult:
        try:
            return pipeline.analyze(image, options, between_stages=check)
        except Cancelled:
            LOG.warning("the analysis of a timed-out request stopped at a stage boundary")
            raise

    return run


def _before_request() -> None:
    g.start = time.perf_counter()
    if request.path == "/invocations":
        LOG.info(
            "invocation started inference_id=%s content_type=%s bytes=%s",
            request.headers.get(INFERENCE_ID_HEADER, "-"),
            request.mimetype or "-",
            request.content_length,
        )


def _after_request(response: Response) -> Response:
    sock = request.environ.get("gunicorn.socket")
    if g.get("close_without_linger") and sock is not None:
        response.call_on_close(lambda: _shutdown_read(sock))
    if request.path != "/invocations":
        return response
    attributes = request.headers.get(CUSTOM_ATTRIBUTES_HEADER)
    if attributes and len(attributes) <= MAX_CUSTOM_ATTRIBUTES:
        response.headers[CUSTOM_ATTRIBUTES_HEADER] = attributes
    LOG.info(
        "invocation finished inference_id=%s status=%d size=%s response=%s ms=%.0f",
        request.headers.get(INFERENCE_ID_HEADER, "-"),
        response.status_code,
        g.get("image_size", "-"),
        response.mimetype,
        (time.perf_counter() - g.get("start", time.perf_counter())) * 1000,
    )
    return response


def _register_errors(app: Flask) -> None:
    """Map every failure to a JSON error; tracebacks go to the log only."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.errorhandler(OptionsError)
    def options_error(exc: OptionsError) -> Response:
        return error_response(400, "invalid_option", str(exc))

    @app.errorhandler(PageNotFoundError)
    def page_not_found(exc: PageNotFoundError) -> Response:
        return error_response(400, "invalid_option", str(exc), extra={"page_count": exc.count})

    @app.errorhandler(ImageDecodeError)
    def decode_error(exc: ImageDecodeError) -> Response:
        return error_response(400, "invalid_image", str(exc))

    @app.errorhandler(ImageTooLargeError)
    def too_large_image(exc: ImageTooLargeError) -> Response:
        return error_response(413, "image_too_large", str(exc))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large_body(exc: RequestEntityTooLarge) -> Response:
        limit = _state().config.max_payload_mb
        return error_response(413, "payload_too_large", f"request body is over the {limit} MiB limit")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Response:
        request_id = uuid.uuid4().hex
        LOG.error(
            "internal error request_id=%s inference_id=%s",
            request_id,
            request.headers.get(INFERENCE_ID_HEADER, "-"),
            exc_info=exc,
        )
        return error_response(500, "internal_error", f"internal error (request id {request_id})", request_id)


def create_app(
    config: ServingConfig | None = None,
    loader: Callable[[], Pipeline] | None = None,
) -> Flask:
    """Build the app and start loading the pipeline in the background.

    ``config`` defaults to :meth:`ServingConfig.from_env`; ``loader`` to
    :func:`load_serving_pipeline` (model from ``<base>/model`` or the bundled default).
    """
    config = config or ServingConfig.from_env()
    app = Flask("model_code.serving.app")
    app.config["MAX_CONTENT_LENGTH"] = config.max_payload_bytes
    state = ServingState(config=config)
    app.extensions[EXTENSION_KEY] = state
    app.add_url_rule("/ping", "ping", ping, methods=["GET", "POST"])
    app.add_url_rule("/invocations", "invocations", invocations, methods=["POST"])
    app.add_url_rule("/execution-parameters", "execution_parameters", execution_parameters, methods=["GET"])
    app.before_request(_before_request)
    app.after_request(_after_request)
    _register_errors(app)
    state.publish("loading")
    _load_in_background(state.model, loader or (lambda: load_serving_pipeline(config)), state.publish)
    return app
