#!/usr/bin/env python3
"""Run the SageMaker serving stack locally, without Docker: ``container/serve`` on 127.0.0.1.

Usage: ``python serve_local.py [--model-dir DIR] [--port 8080] [--workers N] [--host 127.0.0.1]``.
It checks that a model exists, prints the URL and a curl line to paste, then replaces itself
with ``container/serve`` (gunicorn), so Ctrl-C and SIGTERM stop the server gracefully.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SERVE = ROOT / "container" / "serve"


def build_parser() -> argparse.ArgumentParser:
    """Command-line arguments of ``serve_local.py``."""
    parser = argparse.ArgumentParser(
        description="Serve the floor-plan model locally through the same gunicorn stack as the container.",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="checkpoint directory (model.safetensors + model.json), or a bundled model by name: default, "
        "synthetic; default: $SAGEMAKER_BASE_DIR/model if it holds one, else the bundled default model",
    )
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes (default 1)")
    return parser


def serving_environment(args: argparse.Namespace, base: dict[str, str]) -> dict[str, str]:
    """The environment for ``container/serve``: the base environment plus the chosen knobs."""
    env = dict(base)
    env["SAGEMAKER_BIND_TO_PORT"] = str(args.port)
    env["SERVING_BIND_HOST"] = args.host
    env["MODEL_SERVER_WORKERS"] = str(args.workers)
    env["PYTHON"] = sys.executable
    if args.model_dir is not None:
        from model_code.model.checkpoint import resolve_model_dir

        env["SM_MODEL_DIR"] = str(resolve_model_dir(args.model_dir).resolve())
    return env


def check_model(args: argparse.Namespace) -> Path:
    """The model directory that will be served; raises SystemExit with a clear message if none.

    A bundled model's name (``default``, ``synthetic``) in ``args.model_dir`` becomes its folder.
    """
    from model_code.model.checkpoint import (
        DEFAULT_MODEL_DIR,
        CheckpointError,
        is_checkpoint,
        resolve_model_dir,
    )
    from model_code.serving.config import resolve_serving_model_dir

    if args.model_dir is not None:
        chosen = resolve_model_dir(args.model_dir)
        if not is_checkpoint(chosen):
            raise SystemExit(
                f"serve_local: {chosen} holds no model checkpoint (model.safetensors + model.json)"
            )
        return chosen.resolve()
    try:
        model_dir = resolve_serving_model_dir()
    except CheckpointError as exc:
        raise SystemExit(f"serve_local: {exc}; pass --model-dir DIR") from exc
    if not is_checkpoint(model_dir):
        raise SystemExit(
            f"serve_local: no model found (no checkpoint in $SAGEMAKER_BASE_DIR/model and no bundled "
            f"default model in {DEFAULT_MODEL_DIR}); pass --model-dir DIR"
        )
    return model_dir


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the arguments, print how to call the endpoint and exec ``container/serve``."""
    args = build_parser().parse_args(argv)
    if not 1 <= args.port <= 65535:
        raise SystemExit(f"serve_local: --port must be between 1 and 65535, got {args.port}")
    if args.workers < 1:
        raise SystemExit(f"serve_local: --workers must be >= 1, got {args.workers}")
    sys.path.insert(0, str(ROOT))
    model_dir = check_model(args)
    env = serving_environment(args, dict(os.environ))
    host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    url = f"http://{host}:{args.port}"
    print(f"Serving {model_dir} at {url} (ready when {url}/ping answers 200; Ctrl-C stops)")
    print("Try:")
    print(
        f"  curl -s -X POST -H 'Content-Type: image/png' --data-binary @plan.png {url}/invocations"
        " | python -m json.tool"
    )
    print(f"  python -m model_code detect plan.png --url {url} --out result.json --overlay overlay.png")
    print(f"Running: {shlex.quote(str(SERVE))}", flush=True)
    os.execve(str(SERVE), [str(SERVE)], env)
    return 0  # not reached: execve replaces this process


if __name__ == "__main__":
    sys.exit(main())
