"""The OCR engine's two models on each runtime: detection and recognition time per plan (docs/text.md).

Generated plans with printed text (``generate_plan(seed, size=SIZE, print_text=True)``, seeds 2000 on)
are read by :class:`model_code.text.TextReader` with ``--runtime`` and ``--precision``; per plan, the
detector's time (``detect``: resize, network, boxes) and the recogniser's (``recognise`` on every crop
of the plan, each at its own width) are taken separately.  The first pass over the plans is ``cold``
(OpenVINO compiles kernels for each input shape it has not seen), the next ``--repeats`` passes are
``warm``; medians over plans.  The texts read are printed as a digest, so runtimes can be compared for
equal output.

``--all`` runs every configuration in its own process, one after another: ONNX Runtime, OpenVINO fp32,
OpenVINO bf16 (informational: never a default), and the two OpenVINO rows again with
``ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI`` (oneDNN restricted to a CPU without AMX or AVX512-BF16).

Example: ``PYTHONPATH=. python benchmarks/text_engine_runtime.py --all --plans 5 --threads 2``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONFIGS = [  # (label, runtime, precision, extra environment)
    ("onnxruntime fp32", "onnxruntime", "f32", {}),
    ("openvino fp32", "openvino", "f32", {}),
    ("openvino bf16 (informational)", "openvino", "bf16", {}),
    ("openvino fp32, no AMX", "openvino", "f32", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"}),
    ("openvino bf16, no AMX", "openvino", "bf16", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"}),
]


def measure(runtime: str, precision: str, threads: int, plans: int, size: int, repeats: int) -> dict:
    """Detection and recognition times of one runtime on ``plans`` generated plans of ``size`` px."""
    from model_code.synth import generate_plan
    from model_code.text import TextReader

    start = time.perf_counter()
    reader = TextReader(threads=threads, runtime=runtime, precision=precision)
    load_ms = (time.perf_counter() - start) * 1000
    images = [generate_plan(seed, size=size, print_text=True).image for seed in range(2000, 2000 + plans)]
    passes: list[dict[str, list[float]]] = []
    texts: list[str] = []
    crop_counts: list[int] = []
    for repeat in range(1 + repeats):
        det, rec = [], []
        for image in images:
            t0 = time.perf_counter()
            quads = reader.detect(image)
            t1 = time.perf_counter()
            crops, _, _ = reader.crops(image, quads)
            t2 = time.perf_counter()
            read = reader.recognise(crops)
            t3 = time.perf_counter()
            det.append((t1 - t0) * 1000)
            rec.append((t3 - t2) * 1000)
            if repeat == 0:
                crop_counts.append(len(crops))
                texts.extend(text for text, _ in read)
        passes.append({"detect": det, "recognise": rec})

    def median(key: str, chosen: list[dict[str, list[float]]]) -> float:
        return round(float(np.median([t for p in chosen for t in p[key]])), 1)

    return {
        "runtime": runtime,
        "precision": precision,
        "threads": threads,
        "size": size,
        "plans": plans,
        "crops_per_plan": round(float(np.mean(crop_counts)), 1),
        "load_ms": round(load_ms),
        "cold_detect_ms": median("detect", passes[:1]),
        "cold_recognise_ms": median("recognise", passes[:1]),
        "warm_detect_ms": median("detect", passes[1:]) if repeats else None,
        "warm_recognise_ms": median("recognise", passes[1:]) if repeats else None,
        "texts_digest": hashlib.sha1("\n".join(texts).encode()).hexdigest()[:12],
        "texts": len(texts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runtime", default="openvino", choices=["openvino", "onnxruntime"])
    parser.add_argument("--precision", default="f32", choices=["f32", "bf16"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--plans", type=int, default=5)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2, help="warm passes after the cold one")
    parser.add_argument("--all", action="store_true", help="every configuration, each in its own process")
    args = parser.parse_args()
    if not args.all:
        print(
            json.dumps(
                measure(args.runtime, args.precision, args.threads, args.plans, args.size, args.repeats)
            )
        )
        return
    rows = []
    for label, runtime, precision, env in CONFIGS:
        command = [sys.executable, __file__, "--runtime", runtime, "--precision", precision]
        command += ["--threads", str(args.threads), "--plans", str(args.plans), "--size", str(args.size)]
        command += ["--repeats", str(args.repeats)]
        done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=True)
        row = {"config": label, **json.loads(done.stdout.strip().splitlines()[-1])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("| runtime | cold detect | cold recognise | warm detect | warm recognise | texts |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['config']} | {r['cold_detect_ms']} ms | {r['cold_recognise_ms']} ms"
            f" | {r['warm_detect_ms']} ms | {r['warm_recognise_ms']} ms | {r['texts_digest']} |"
        )


if __name__ == "__main__":
    main()
