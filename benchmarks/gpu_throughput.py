"""Batched forward-pass throughput on a GPU: images per second by batch size, fp32 and AMP.

For the GPU variant of the serving image (``docker build --build-arg TORCH_INDEX=.../cu130``)
and batch transform: how many plans per second one GPU turns into wall/opening
probabilities.  Each batch is a stack of generated plans preprocessed exactly as
``inference.predict_probabilities`` does (resize to the working size, pad to 32, normalise);
the timed part is host-to-device copy, the forward pass (eager fp32, or ``torch.autocast``
fp16/bf16), the sigmoid and the copy back - the work that batching can share.  Post-processing
(vectorize, rooms) runs on the CPU per plan and is measured by ``bench_stages.py``.

Usage (on the device machine; ``--device cpu`` runs the same code for a smoke test)::

    python benchmarks/gpu_throughput.py --size 1024 --batch-sizes 1 2 4 8 16 32 \\
        --out docs/benchmarks/gpu_throughput.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch


def preprocess(images: list[np.ndarray], mean, std, working_size: int) -> torch.Tensor:
    """Stack plans as the inference path prepares them (they must share a shape)."""
    import cv2

    from model_code.model.inference import pad_to_multiple, working_shape
    from model_code.model.preprocess import normalize

    arrays = []
    for image in images:
        wh, ww = working_shape(image.shape[0], image.shape[1], working_size)
        resized = cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)
        arrays.append(normalize(pad_to_multiple(resized), mean, std))
    return torch.from_numpy(np.stack(arrays))


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_batches(
    network: torch.nn.Module, batch: torch.Tensor, device: torch.device, amp: str, repeats: int
) -> list[float]:
    """Seconds per batch, over ``repeats`` runs after two warm-ups."""
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(amp)
    times = []
    for k in range(repeats + 2):
        synchronize(device)
        start = time.perf_counter()
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = network(batch.to(device, non_blocking=True))
        torch.sigmoid(logits.float()).cpu()
        synchronize(device)
        if k >= 2:
            times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the sweep; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", default=None, help="checkpoint directory (default: the bundled model)")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--size", type=int, default=1024, help="longest side of the generated plans")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument(
        "--amp", nargs="+", default=["none", "fp16", "bf16"], choices=["none", "fp16", "bf16"]
    )
    parser.add_argument("--repeats", type=int, default=10, help="timed batches per setting")
    parser.add_argument("--out", type=Path, default=None, help="JSON results")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            "gpu_throughput: no CUDA device here; run it on the GPU machine or pass --device cpu"
        )
    from model_code.model.loader import load_model
    from model_code.synth import generate_plan

    model = load_model(args.model_dir, device="cpu", runtime="eager")
    network = model.network.to(device).eval()
    meta = model.metadata
    plan = generate_plan(5, size=args.size).image
    square = np.full((args.size, args.size, 3), 255, np.uint8)  # one shape for the whole batch
    square[: plan.shape[0], : plan.shape[1]] = plan
    rows = []
    for amp in args.amp:
        for size in args.batch_sizes:
            batch = preprocess([square] * size, meta.mean, meta.std, meta.working_size)
            if device.type == "cuda":
                batch = batch.pin_memory()
            try:
                times = time_batches(network, batch, device, amp, args.repeats)
            except torch.OutOfMemoryError:
                print(f"amp={amp} batch={size}: out of memory, stopping this sweep")
                torch.cuda.empty_cache()
                break
            per_batch = statistics.median(times)
            rows.append(
                {
                    "amp": amp,
                    "batch_size": size,
                    "batch_ms": per_batch * 1000,
                    "images_per_s": size / per_batch,
                    "tensor": list(batch.shape),
                    "peak_memory_mb": torch.cuda.max_memory_allocated(device) / 2**20
                    if device.type == "cuda"
                    else None,
                }
            )
            rate = size / per_batch
            print(f"amp={amp:5s} batch={size:3d}: {per_batch * 1000:8.1f} ms/batch, {rate:8.1f} img/s")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"\n{name}, plans {args.size}px -> working tensor {rows[0]['tensor'][2:] if rows else '-'}")
    print("| AMP | batch | ms per batch | images/s |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['amp']} | {row['batch_size']} | {row['batch_ms']:.1f} | {row['images_per_s']:.1f} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"device": name, "size": args.size, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
