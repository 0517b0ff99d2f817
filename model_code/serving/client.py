"""The client that backends call: ``detect(image, **options) -> result dict``.

Two transports, one interface:

* a SageMaker endpoint through boto3 ``sagemaker-runtime`` ``invoke_endpoint`` (endpoint name
  from the argument or ``SAGEMAKER_ENDPOINT_NAME``);
* a local URL (``serve_local.py`` or ``docker run -p 8080:8080 IMAGE serve``).

In-process analysis needs no transport: ``from model_code import Pipeline`` (see
:func:`detect_in_process`, which the CLI uses when neither ``--url`` nor ``--endpoint`` is given).

Throttling and not-ready answers are retried with exponential backoff and jitter; a container
error (SageMaker's ``ModelError``, or an HTTP error from a local server) is raised as
:class:`ModelInvocationError` carrying the container's status, error code and message.

The ``detect`` CLI command (``floorplan detect IMAGE [--endpoint NAME | --url URL | --model-dir DIR]``)
wraps it: with ``--url`` it calls a server, with ``--endpoint`` a SageMaker endpoint, and with
neither it runs the pipeline in this process (the bundled model unless ``--model-dir`` is given).
``--format svg|geojson|dxf`` writes the document as that export instead of JSON (from a server,
:func:`detect_export` asks for it with the Accept header).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from model_code.io.images import sniff_format

if TYPE_CHECKING:
    import numpy as np

    from model_code.pipeline import PlanResult

ENDPOINT_ENV = "SAGEMAKER_ENDPOINT_NAME"
JSON_TYPE = "application/json"
PNG_TYPE = "image/png"
# ``floorplan detect --format``: the result JSON or one of model_code.exports.formats.FORMATS
DETECT_FORMATS = ("json", "svg", "geojson", "dxf")
MAX_CUSTOM_ATTRIBUTES = 1024
# The Content-Type sent for each format the decoder sniffs (anything else: application/octet-stream).
CONTENT_TYPES = {
    "png": PNG_TYPE,
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "pdf": "application/pdf",
}
# SageMaker runtime answers that mean "try again later", and the matching local HTTP statuses.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ModelNotReadyException",
        "ServiceUnavailable",
    }
)
RETRYABLE_STATUSES = frozenset({429, 503})
T = TypeVar("T")


class DetectError(RuntimeError):
    """The plan could not be analysed: bad input, no endpoint, network or service failure."""


class ModelInvocationError(DetectError):
    """The model container answered with an error (SageMaker ``ModelError`` or a local HTTP error)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"model container returned {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class RetryableError(DetectError):
    """A throttling or not-ready answer; retried by :func:`with_retries`."""


def load_image_bytes(image: str | Path | bytes) -> tuple[bytes, str]:
    """Image bytes and their Content-Type (from the magic bytes) for a path or raw bytes."""
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    else:
        path = Path(image)
        if not path.is_file():
            raise DetectError(f"image file not found: {path}")
        data = path.read_bytes()
    if not data:
        raise DetectError("image is empty")
    fmt = sniff_format(data)
    return data, CONTENT_TYPES.get(fmt or "", "application/octet-stream")


def encode_custom_attributes(options: Mapping[str, Any]) -> str | None:
    """Options as the ``X-Amzn-SageMaker-Custom-Attributes`` value ``key=value,...`` (None when empty)."""
    pairs = []
    for key, value in options.items():
        if value is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if any(c in f"{key}{text}" for c in ",=") or not key:
            raise DetectError(f"option {key}={text!r} cannot contain ',' or '='")
        pairs.append(f"{key}={text}")
    header = ",".join(pairs)
    if len(header) > MAX_CUSTOM_ATTRIBUTES:
        raise DetectError(f"options take {len(header)} characters, over the {MAX_CUSTOM_ATTRIBUTES} limit")
    return header or None


def parse_error_body(body: bytes | str) -> tuple[str, str]:
    """``(code, message)`` from the server's ``{"error": {...}}`` body, or the raw text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        error = json.loads(text)["error"]
        return str(error.get("code", "error")), str(error.get("message", text))
    except (ValueError, KeyError, TypeError, AttributeError):
        return "error", text.strip()[:2000]


def with_retries(call: Callable[[], T], max_attempts: int, base_delay: float) -> T:
    """Run ``call``; on :class:`RetryableError` wait ``base_delay * 2**attempt`` (full jitter) and retry."""
    for attempt in range(max_attempts):
        try:
            return call()
        except RetryableError:
            if attempt == max_attempts - 1:
                raise
            time.sleep(random.uniform(0, base_delay * 2**attempt))
    raise DetectError("max_attempts must be >= 1")


def invoke_sagemaker(
    endpoint: str,
    body: bytes,
    content_type: str,
    accept: str,
    custom_attributes: str | None,
    client: Any = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    timeout: float = 120.0,
) -> tuple[bytes, str]:
    """One ``invoke_endpoint`` call -> ``(body, content type)``; errors mapped to our exceptions."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    if client is None:
        # Our own loop retries throttling; botocore's retries stay off so the two do not multiply.
        config = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=timeout)
        client = boto3.client(
            "sagemaker-runtime", region_name=region, endpoint_url=endpoint_url, config=config
        )
    kwargs: dict[str, Any] = {
        "EndpointName": endpoint,
        "Body": body,
        "ContentType": content_type,
        "Accept": accept,
    }
    if custom_attributes:
        kwargs["CustomAttributes"] = custom_attributes
    try:
        response = client.invoke_endpoint(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        if code == "ModelError":
            status = int(exc.response.get("OriginalStatusCode") or 0)
            inner_code, message = parse_error_body(
                exc.response.get("OriginalMessage") or error.get("Message", "")
            )
            raise ModelInvocationError(status, inner_code, message) from exc
        if code in RETRYABLE_CODES:
            raise RetryableError(f"endpoint {endpoint} answered {code}: {error.get('Message', '')}") from exc
        raise DetectError(
            f"invoke_endpoint on {endpoint} failed: {code}: {error.get('Message', '')}"
        ) from exc
    except BotoCoreError as exc:
        raise DetectError(f"invoke_endpoint on {endpoint} failed: {exc}") from exc
    return response["Body"].read(), response.get("ContentType", "")


def invoke_url(
    url: str,
    body: bytes,
    content_type: str,
    accept: str,
    custom_attributes: str | None,
    timeout: float = 120.0,
) -> tuple[bytes, str]:
    """One POST to ``<url>/invocations`` of a local server -> ``(body, content type)``."""
    target = url.rstrip("/")
    if not target.endswith("/invocations"):
        target += "/invocations"
    headers = {"Content-Type": content_type, "Accept": accept}
    if custom_attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
    request = urllib.request.Request(target, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        code, message = parse_error_body(exc.read())
        if exc.code in RETRYABLE_STATUSES:
            raise RetryableError(f"{target} answered {exc.code} {code}: {message}") from exc
        raise ModelInvocationError(exc.code, code, message) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DetectError(f"cannot reach {target}: {getattr(exc, 'reason', exc)}") from exc


def invoke(
    image: str | Path | bytes,
    accept: str,
    endpoint: str | None = None,
    *,
    url: str | None = None,
    client: Any = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    max_attempts: int = 5,
    retry_delay: float = 0.5,
    timeout: float = 120.0,
    **options: Any,
) -> tuple[bytes, str]:
    """Send one image with ``options`` to an endpoint or URL and return the raw response and its type."""
    if url and (endpoint or client is not None):
        raise DetectError("give either a SageMaker endpoint or a local url, not both")
    endpoint = endpoint or (None if url else os.environ.get(ENDPOINT_ENV))
    if not url and not endpoint:
        raise DetectError(f"no endpoint: pass endpoint=NAME or url=URL, or set {ENDPOINT_ENV}")
    body, content_type = load_image_bytes(image)
    attributes = encode_custom_attributes(options)

    def call() -> tuple[bytes, str]:
        if url:
            return invoke_url(url, body, content_type, accept, attributes, timeout)
        return invoke_sagemaker(
            str(endpoint), body, content_type, accept, attributes, client, region, endpoint_url, timeout
        )

    return with_retries(call, max_attempts, retry_delay)


def detect(image: str | Path | bytes, endpoint: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """Analyse a plan (path or bytes) and return the result document as a dict.

    ``endpoint`` (or ``$SAGEMAKER_ENDPOINT_NAME``) selects a SageMaker endpoint; ``url=`` a local
    server.  Other keyword arguments: ``client`` (a boto3 ``sagemaker-runtime`` client),
    ``region``, ``endpoint_url``, ``max_attempts``, ``retry_delay``, ``timeout`` and the
    request options ``threshold``, ``min_wall_length``, ``backend``, ``resolution``, ``wall_edges``,
    ``views`` (1, 2 or 4 mirrored views averaged), ``page`` (from 1: the page of a PDF or
    multi-page TIFF), ``text`` (``on``: read the plan's text) and ``pixels_per_meter``.
    """
    body, content_type = invoke(image, JSON_TYPE, endpoint, **kwargs)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise DetectError(f"endpoint answered {content_type or 'no type'}, not a JSON result: {exc}") from exc


def render(
    image: str | Path | bytes, endpoint: str | None = None, overlay: bool = True, **kwargs: Any
) -> bytes:
    """PNG bytes: the overlay of walls, openings and rooms (``overlay=True``) or the wall mask."""
    kwargs["render"] = "overlay" if overlay else "mask"
    body, content_type = invoke(image, PNG_TYPE, endpoint, **kwargs)
    if not body.startswith(b"\x89PNG"):
        raise DetectError(f"endpoint answered {content_type or 'no type'}, not a PNG picture")
    return body


def detect_export(image: str | Path | bytes, fmt: str, endpoint: str | None = None, **kwargs: Any) -> bytes:
    """The plan's document as an export (``svg``, ``geojson`` or ``dxf``) made by the server.

    Asks for the format's media type in the Accept header; the arguments are :func:`detect`'s.
    """
    from model_code.exports.formats import FORMATS, MEDIA_TYPES

    if fmt not in FORMATS:
        raise DetectError(f"unknown export format {fmt!r}; known: {sorted(FORMATS)}")
    body, content_type = invoke(image, FORMATS[fmt].media_type, endpoint, **kwargs)
    if MEDIA_TYPES.get(content_type.split(";")[0].strip().lower()) != fmt:
        raise DetectError(f"endpoint answered {content_type or 'no type'}, not a {fmt} export")
    return body


def summarize(result: Mapping[str, Any]) -> str:
    """One line: counts of walls, openings and rooms and the server time."""
    total = result.get("timing_ms", {}).get("total")
    timing = f" in {total:.0f} ms" if isinstance(total, (int, float)) else ""
    return (
        f"{len(result.get('walls', []))} walls, {len(result.get('openings', []))} openings, "
        f"{len(result.get('rooms', []))} rooms{timing} (model {result.get('model', {}).get('name', '?')})"
    )


def analyze_in_process(
    image: str | Path | bytes, model_dir: str | Path | None = None, **options: Any
) -> tuple[PlanResult, np.ndarray]:
    """Analyse a plan in this process: ``(the pipeline's result, the decoded RGB picture)``.

    ``model_dir`` is a checkpoint folder (``None``: the bundled model; not loaded for
    ``backend="opencv"``); ``options`` are the request options (``None`` values are left out),
    ``page`` among them (from 1) for a PDF or multi-page TIFF: the picture is then that page, and
    the document records it as ``page``.

    Raises:
        DetectError: the image cannot be read or decoded, an option is invalid, or the model
            cannot be loaded.
    """
    from model_code.io.images import ImageDecodeError, ImageTooLargeError
    from model_code.io.pages import PageNotFoundError
    from model_code.model.checkpoint import CheckpointError
    from model_code.pipeline import OptionsError, Pipeline, PipelineOptions, decode_plan, page_of

    try:
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        chosen = PipelineOptions.from_mapping({k: v for k, v in options.items() if v is not None})
        decoded = decode_plan(data, chosen.page)
        picture = decoded.image
        pipeline = Pipeline(None) if chosen.backend == "opencv" else Pipeline.load(model_dir)
        result = pipeline.analyze(picture, chosen)
        result.document.page = page_of(decoded)
    except OSError as exc:
        raise DetectError(f"cannot read {image}: {exc}") from exc
    except PageNotFoundError as exc:
        raise DetectError(f"invalid_option: {exc}") from exc
    except (ImageDecodeError, ImageTooLargeError) as exc:
        raise DetectError(f"invalid_image: {exc}") from exc
    except OptionsError as exc:
        raise DetectError(f"invalid_option: {exc}") from exc
    except CheckpointError as exc:
        raise DetectError(f"model: {exc}") from exc
    return result, picture


def _overlay_png(result: PlanResult, picture: np.ndarray) -> bytes:
    from model_code.exports.overlay import draw_overlay
    from model_code.io.images import encode_png

    doc = result.document
    return encode_png(draw_overlay(picture, doc.walls, doc.openings, doc.rooms))


def detect_in_process(
    image: str | Path | bytes, model_dir: str | Path | None = None, overlay: bool = False, **options: Any
) -> tuple[dict[str, Any], bytes | None]:
    """Analyse a plan in this process: ``(result document, overlay PNG or None)``.

    Arguments and errors as :func:`analyze_in_process`.
    """
    result, picture = analyze_in_process(image, model_dir, **options)
    document = result.document.to_dict()
    return document, (_overlay_png(result, picture) if overlay else None)


def configure_detect(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``floorplan detect``."""
    parser.description = (
        "Analyse a floor plan: in this process (default), on a local server (--url) or on a "
        "SageMaker endpoint (--endpoint)."
    )
    parser.add_argument(
        "image",
        type=Path,
        help="floor plan: PNG, JPEG, TIFF (with pages), BMP, WebP or PDF (vector or scanned)",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--endpoint", help="SageMaker endpoint name")
    target.add_argument("--url", help="local server base URL, e.g. http://127.0.0.1:8080")
    target.add_argument(
        "--model-dir",
        help="run in this process with this checkpoint folder (default when neither --url nor "
        "--endpoint is given: the bundled model)",
    )
    parser.add_argument(
        "--format",
        choices=DETECT_FORMATS,
        default="json",
        help="json: the result document (default); svg, geojson or dxf: the document as that export "
        "(image pixels; GeoJSON and DXF with y up, see docs/serving.md)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="write the result (JSON or the --format export) here (default: standard output)",
    )
    parser.add_argument("--overlay", type=Path, help="also fetch the overlay picture and write it here (PNG)")
    parser.add_argument("--threshold", type=float, help="wall/opening probability threshold (0-1)")
    parser.add_argument("--min-wall-length", type=float, help="drop walls shorter than this (pixels)")
    parser.add_argument("--backend", choices=("unet", "opencv"), help="mask producer (default unet)")
    parser.add_argument(
        "--wall-edges",
        choices=("drawing", "network"),
        help="U-Net wall mask edges: moved onto the plan's ink (drawing, the default) or as the network "
        "gave them (network)",
    )
    parser.add_argument(
        "--views",
        type=int,
        choices=(1, 2, 4),
        help="mirrored views of the plan the U-Net averages (default 1; 4: more accurate walls, about "
        "four times the forward pass)",
    )
    parser.add_argument(
        "--page", type=int, help="page of a PDF or multi-page TIFF to analyse, from 1 (default 1)"
    )
    parser.add_argument(
        "--text",
        choices=("on", "off"),
        help="read the plan's text (OCR): room names and types, texts, the scale and metres "
        "(default off; docs/text.md)",
    )
    parser.add_argument(
        "--pixels-per-meter",
        type=float,
        help="the plan's scale: rooms and walls also in metres, exports in metres (overrides any estimate)",
    )
    parser.add_argument("--region", help="AWS region of the endpoint (default: AWS configuration)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")


def _write_stdout(body: bytes) -> None:
    """Bytes to standard output (through its binary buffer when it has one)."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(body.decode("utf-8"))
    else:
        buffer.write(body)
        buffer.flush()


def run_detect(args: argparse.Namespace) -> int:
    """Run ``floorplan detect``: result JSON or a ``--format`` export to ``--out``/stdout, overlay PNG."""
    if not args.image.is_file():
        print(f"detect: image file not found: {args.image}", file=sys.stderr)
        return 2
    options = {
        "threshold": args.threshold,
        "min_wall_length": args.min_wall_length,
        "backend": args.backend,
        "wall_edges": args.wall_edges,
        "views": args.views,
        "page": args.page,
        "text": args.text,
        "pixels_per_meter": args.pixels_per_meter,
    }
    target: dict[str, Any] = {"url": args.url} if args.url else {"region": args.region}
    remote = bool(args.url or args.endpoint)
    fmt = args.format
    result: dict[str, Any] | None = None
    body: bytes | None = None
    try:
        if remote and fmt == "json":
            result = detect(args.image, args.endpoint, timeout=args.timeout, **target, **options)
        elif remote:
            body = detect_export(args.image, fmt, args.endpoint, timeout=args.timeout, **target, **options)
        else:
            analysis, picture = analyze_in_process(args.image, args.model_dir, **options)
            result = analysis.document.to_dict()
            if fmt != "json":
                from model_code.exports.formats import export_document

                body = export_document(analysis.document, fmt)
        if fmt == "json":
            text = json.dumps(result, indent=1) + "\n"
            if args.out:
                args.out.write_text(text)
            else:
                sys.stdout.write(text)
        elif args.out:
            args.out.write_bytes(body)
        else:
            _write_stdout(body)
        if args.overlay:
            if remote:
                png = render(args.image, args.endpoint, timeout=args.timeout, **target, **options)
            else:
                png = _overlay_png(analysis, picture)
            args.overlay.write_bytes(png)
    except DetectError as exc:
        print(f"detect: {exc}", file=sys.stderr)
        return 1
    if result is not None:
        print(f"detect: {summarize(result)}", file=sys.stderr)
    if body is not None:
        where = args.out or "standard output"
        print(f"detect: wrote the {fmt} export ({len(body)} bytes) to {where}", file=sys.stderr)
    return 0
