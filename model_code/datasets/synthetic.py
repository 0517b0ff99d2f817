"""``floorplan synth``: write N synthetic plans in the dataset layout the training and evaluation readers use.

Layout written under ``--out``::

    images/<id>.png        the RGB plan
    annotations/<id>.json  customers' annotation format plus our extensions (schema-valid)
    masks/<id>.png         one grey PNG: 255 = wall, 128 = opening, 0 = background
    rooms/<id>.png         16-bit PNG of room instance ids (k = annotations rooms[k-1], 0 = none)
    bare_openings/<id>.json  only with ``--bare-openings`` above 0: the ids of the doors and windows
                           drawn without their symbol, ``{"image_id": ..., "bare_openings": ["o3", ...]}``

Plan ``i`` uses seed ``S + i`` and is named ``synth_<seed>`` (six digits), so any single plan
can be regenerated with ``generate_plan(S + i, ...)``.  The annotation's rooms carry their
vocabulary ``type`` (from the generator's room kind) and ``name_hint`` = the label drawn in them.

With ``--redraw DATA`` the layouts are not generated but read off the annotated plans of ``DATA``
(:mod:`model_code.synth.redraw`): plan ``i`` is ``DATA``'s plan ``i mod N`` redrawn in a look drawn
from seed ``S + i``, named ``<stem>_redrawn_<seed>``, with only ``images/`` and ``masks/`` (the
truth is the real plan's masks; there are no vector records to write).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from model_code.datasets.layouts import DatasetError, Sample, merge_grey_mask, open_dataset
from model_code.io.images import write_png
from model_code.synth.generator import MAX_SIZE, MIN_SIZE, SynthPlan, generate_plan
from model_code.synth.styles import ALL_STYLES, OPT_IN_STYLES, STYLES

SUBFOLDERS = ("images", "annotations", "masks", "rooms")
REDRAW_SUBFOLDERS = ("images", "masks")
BARE_FOLDER = "bare_openings"


@dataclass(frozen=True)
class SynthJob:
    """What every worker needs to write one plan."""

    out: Path
    size: int | tuple[int, int]
    styles: tuple[str, ...] | None
    bare_openings: float = 0.0
    sheet: float = 0.0


def parse_size(text: str) -> int | tuple[int, int]:
    """``"512"`` -> 512 and ``"256:2048"`` -> (256, 2048); raises ``argparse.ArgumentTypeError``."""
    parts = text.split(":")
    try:
        values = [int(p) for p in parts]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be N or MIN:MAX in pixels, got {text!r}") from exc
    if len(values) not in (1, 2) or any(not MIN_SIZE <= v <= MAX_SIZE for v in values):
        raise argparse.ArgumentTypeError(
            f"size must be N or MIN:MAX with values from {MIN_SIZE} to {MAX_SIZE}"
        )
    if len(values) == 2:
        if values[0] > values[1]:
            raise argparse.ArgumentTypeError(f"size range {text!r} has MIN greater than MAX")
        return (values[0], values[1])
    return values[0]


def parse_styles(text: str) -> tuple[str, ...]:
    """``"solid,cad"`` -> ``("solid", "cad")``; every name must be one of ``ALL_STYLES``."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ALL_STYLES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown style(s) {unknown or [text]}; choose from {','.join(ALL_STYLES)}"
        )
    return names


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def parse_fraction(text: str) -> float:
    """``"0.3"`` -> 0.3; a number from 0 to 1, else ``argparse.ArgumentTypeError``."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 to 1, got {text!r}") from exc
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 to 1, got {text!r}")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive integer, got 0")
    return value


def configure_synth(parser: argparse.ArgumentParser) -> None:
    """Declare the ``floorplan synth`` arguments."""
    parser.description = (
        "Generate synthetic floor plans with exact ground truth into DIR/images, DIR/annotations, "
        "DIR/masks (255 wall, 128 opening) and DIR/rooms (16-bit room ids). Plan i uses seed S+i."
    )
    parser.add_argument("--count", type=_positive, required=True, help="number of plans to write")
    parser.add_argument("--out", type=Path, required=True, help="output dataset folder (created if missing)")
    parser.add_argument("--seed", type=_non_negative, default=0, help="seed of the first plan (default 0)")
    parser.add_argument(
        "--size",
        type=parse_size,
        default=(256, 2048),
        help="longest image side: N, or MIN:MAX to draw it per plan (default 256:2048)",
    )
    parser.add_argument(
        "--styles",
        type=parse_styles,
        default=None,
        help=f"comma-separated styles to draw from (default: {','.join(STYLES)}; "
        f"opt-in, drawn only when named: {','.join(OPT_IN_STYLES)})",
    )
    parser.add_argument(
        "--bare-openings",
        type=parse_fraction,
        default=0.0,
        metavar="FRACTION",
        help="probability (0..1) that each door and window is drawn without its symbol, as a plain gap "
        "(ground truth unchanged; their ids go to DIR/bare_openings/<id>.json; default 0)",
    )
    parser.add_argument(
        "--sheet",
        type=parse_fraction,
        default=0.0,
        metavar="P",
        help="probability (0..1) that a plan is drawn on a drawing sheet (frame, title block, legend, "
        "dimension chains, north arrow, scale bar; none of it wall or opening; default 0)",
    )
    parser.add_argument(
        "--redraw",
        type=Path,
        default=None,
        metavar="DATA",
        help="redraw the annotated plans of DATA (any dataset layout) from their masks in the chosen "
        "styles instead of generating layouts: plan i is DATA's plan i mod N; writes images/ and "
        "masks/ only (--size and --bare-openings do not apply)",
    )
    parser.add_argument(
        "--workers", type=_non_negative, default=1, help="worker processes (0 = one per CPU core; default 1)"
    )


def write_plan(plan: SynthPlan, out: Path, bare_record: bool = False) -> str:
    """Write one plan's image, annotation, grey mask and room ids under ``out``; returns its id.

    ``bare_record`` also writes ``bare_openings/<id>.json`` (the folder must exist).
    """
    plan_name = plan.annotation.image_id
    write_png(out / "images" / f"{plan_name}.png", plan.image)
    (out / "annotations" / f"{plan_name}.json").write_text(
        json.dumps(plan.annotation.to_dict(), indent=1) + "\n"
    )
    write_png(out / "masks" / f"{plan_name}.png", merge_grey_mask(plan.wall_mask, plan.opening_mask))
    if plan.room_labels.max(initial=0) > np.iinfo(np.uint16).max:
        raise ValueError(f"{plan_name}: too many rooms for a 16-bit room image")
    write_png(out / "rooms" / f"{plan_name}.png", plan.room_labels.astype(np.uint16))
    if bare_record:
        ids = [plan.annotation.openings[k].id for k in plan.bare_openings]
        record = {"image_id": plan_name, "bare_openings": ids}
        (out / BARE_FOLDER / f"{plan_name}.json").write_text(json.dumps(record) + "\n")
    return plan_name


def read_bare_openings(root: str | Path, image_id: str) -> list[str] | None:
    """The ids of the openings a ``floorplan synth`` dataset drew without symbol; None when not recorded."""
    path = Path(root) / BARE_FOLDER / f"{image_id}.json"
    if not path.is_file():
        return None
    return [str(i) for i in json.loads(path.read_text())["bare_openings"]]


def _make_one(job: SynthJob, seed: int) -> str:
    plan = generate_plan(
        seed, size=job.size, styles=job.styles, bare_openings=job.bare_openings, sheet=job.sheet
    )
    return write_plan(plan, job.out, bare_record=job.bare_openings > 0)


def _redraw_one(job: SynthJob, sample: Sample, seed: int) -> str:
    from model_code.synth.redraw import redraw_plan

    real = sample.load()
    plan = redraw_plan(real.wall, real.opening, real.room_type, seed, styles=job.styles, sheet=job.sheet)
    name = f"{sample.stem}_redrawn_{seed:06d}"
    write_png(job.out / "images" / f"{name}.png", plan.image)
    write_png(job.out / "masks" / f"{name}.png", merge_grey_mask(plan.wall, plan.opening))
    return name


def run_synth(args: argparse.Namespace) -> int:
    """Generate (or, with ``--redraw``, redraw) ``args.count`` plans into ``args.out``; the exit code."""
    out: Path = args.out
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} exists and is not a folder", file=sys.stderr)
        return 2
    samples: list[Sample] = []
    if args.redraw is not None:
        try:
            samples = open_dataset(args.redraw)
        except (DatasetError, FileNotFoundError) as exc:
            print(f"error: --redraw {args.redraw}: {exc}", file=sys.stderr)
            return 2
        if not samples:
            print(f"error: --redraw {args.redraw} holds no annotated plans", file=sys.stderr)
            return 2
    folders = SUBFOLDERS if not samples else REDRAW_SUBFOLDERS
    try:
        for name in (*folders, BARE_FOLDER) if args.bare_openings > 0 and not samples else folders:
            (out / name).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create output folders under {out}: {exc}", file=sys.stderr)
        return 2
    job = SynthJob(
        out=out, size=args.size, styles=args.styles, bare_openings=args.bare_openings, sheet=args.sheet
    )
    seeds = range(args.seed, args.seed + args.count)
    workers = args.workers or os.cpu_count() or 1
    if samples:
        make, extra = _redraw_one, [[samples[i % len(samples)] for i in range(args.count)]]
    else:
        make, extra = _make_one, []
    bar = tqdm(total=args.count, desc="redraw" if samples else "synth", unit="plan")
    try:
        if workers == 1:
            for values in zip(*extra, seeds, strict=True):
                make(job, *values)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(make, [job] * args.count, *extra, seeds, chunksize=4):
                    bar.update()
    except (OSError, DatasetError) as exc:
        print(f"error: writing plans under {out} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    what = f"redrawn plans of {args.redraw}" if samples else "plans"
    print(f"wrote {args.count} {what} (seeds {args.seed}..{args.seed + args.count - 1}) to {out}")
    return 0
