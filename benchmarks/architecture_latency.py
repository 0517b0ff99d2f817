"""CPU latency of candidate U-Net architectures at 1,024 px, as the server runs them (a script, not a test).

The latency half of "pick encoder, decoder width and working scale by measurement": for each
candidate (smp encoder, depth, decoder channels) it writes a randomly initialised checkpoint in the
project's format (latency does not depend on the weights), then times its forward pass with
``runtime_compare.py``'s child process: the serving runtime (OpenVINO int8 by default, quantised and
calibrated exactly as ``floorplan export`` does it) on a generated 1,024 px plan resized to the working
size, at the server's thread count.  It prints parameters, fp16 weight size, median and p90 forward
time and the ratio to the first candidate (the shipped architecture), so the accuracy of a candidate
(trained on a GPU, ``benchmarks/device_train.py --encoder ... --decoder-channels ...``) can be weighed
against the issue's "within 20% of today's CPU latency at 1,024 px"::

    .venv/bin/python benchmarks/architecture_latency.py --threads 2 --repeats 15 \
        --candidates resnet18:5:128,64,32,16,16 resnet18:5:256,128,64,32,16 resnet34:5:256,128,64,32,16 \
        mobilenet_v2:5:128,64,32,16,16 efficientnet-b0:5:128,64,32,16,16

Run it on an idle machine: another job on the same cores makes every number meaningless.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import runtime_compare  # the sibling benchmark script: one child-process timer

from model_code.model.checkpoint import WEIGHTS_FILE, ModelMetadata, ModelSpec, save_model
from model_code.model.network import build_network
from model_code.model.runtimes import RUNTIMES

SHIPPED = "resnet18:5:128,64,32,16,16"


def parse_candidate(text: str) -> ModelSpec:
    """``encoder:depth:c1,c2,...`` -> a :class:`ModelSpec` (two outputs: wall, opening)."""
    try:
        encoder, depth, channels = text.split(":")
        decoder = tuple(int(c) for c in channels.split(","))
        spec = ModelSpec(encoder=encoder, encoder_depth=int(depth), decoder_channels=decoder)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not encoder:depth:c1,c2,... ({exc})") from exc
    if len(decoder) != spec.encoder_depth:
        stages = spec.encoder_depth
        raise argparse.ArgumentTypeError(f"{text!r}: one decoder width per encoder stage ({stages})")
    return spec


def write_candidate(spec: ModelSpec, directory: Path) -> dict[str, Any]:
    """A random-init checkpoint of ``spec`` in ``directory``; its parameter count and fp16 size."""
    network = build_network(spec)
    parameters = sum(p.numel() for p in network.parameters())
    save_model(network, ModelMetadata(spec=spec, name=f"latency-{spec.encoder}"), directory)
    return {"parameters_m": parameters / 1e6, "weights_mb": (directory / WEIGHTS_FILE).stat().st_size / 1e6}


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per candidate: size and the runtime's median / p90 ms on the plan input."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="floorplan-arch-") as tmp:
        for index, spec in enumerate(tqdm(args.candidates, desc="candidates", unit="model")):
            directory = Path(tmp) / f"candidate{index}"
            row: dict[str, Any] = {
                "encoder": spec.encoder,
                "encoder_depth": spec.encoder_depth,
                "decoder_channels": list(spec.decoder_channels),
                **write_candidate(spec, directory),
            }
            # what runtime_compare's child reads: these options, this checkpoint, no large plan
            timer = argparse.Namespace(
                **vars(args),
                model_dir=str(directory),
                large=0,
                large_repeats=0,
                calibration_r3d=None,
                r3d_plans=0,
                max_isa=None,
            )
            scratch = Path(tmp) / f"scratch{index}"
            scratch.mkdir()
            result = runtime_compare.run_child(timer, args.runtime, args.threads, scratch)
            plan = next(name for name in result if name.startswith("plan "))
            row |= {"input": plan, **runtime_compare.summarize(result[plan]["samples_ms"])}
            row["prepare_s"] = result["prepare_s"]
            rows.append(row)
    for row in rows:
        row["vs_first"] = row["median_ms"] / rows[0]["median_ms"]
    return rows


def markdown(rows: list[dict[str, Any]], runtime: str, threads: int) -> str:
    """The rows as a markdown table."""
    lines = [
        f"| encoder | decoder channels | parameters (M) | fp16 MB | {runtime}, {threads} threads: median ms "
        "| p90 ms | vs first |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['encoder']} (depth {r['encoder_depth']}) | {','.join(map(str, r['decoder_channels']))} "
            f"| {r['parameters_m']:.1f} | {r['weights_mb']:.0f} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} "
            f"| {r['vs_first']:.2f}x |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--candidates",
        nargs="+",
        type=parse_candidate,
        default=[parse_candidate(SHIPPED)],
        help=f"encoder:depth:decoder channels, the first is the reference (default: {SHIPPED})",
    )
    parser.add_argument("--runtime", choices=RUNTIMES, default="openvino_int8", help="the forward pass timed")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads (the server's: 2)")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per candidate")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before timing")
    parser.add_argument("--seed", type=int, default=900, help="generated plan seed")
    parser.add_argument("--plan-size", type=int, default=1024, help="longest side of the generated plan")
    parser.add_argument("--cpus", type=int, nargs="+", default=None, help="pin the child to these CPUs")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Measure every candidate and print the table."""
    args = parse_args(argv)
    rows = measure(args)
    print(markdown(rows, args.runtime, args.threads))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"runtime": args.runtime, "threads": args.threads, "repeats": args.repeats, "rows": rows}
        args.out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
