"""Tune the room stage's knobs on a validation split: run the network once, replay the rooms many times.

The pipeline runs once per plan (masks, vectorizer, room-type probabilities are recorded where
:func:`model_code.geometry.rooms.detect_rooms` is called); then every combination of the knob
values given with ``--set`` replays only the room stage and is scored exactly as
``floorplan evaluate`` scores rooms (one-to-one matching at IoU 0.5 and 0.7, room-type accuracy
on matched rooms of known type, closet and balcony recall).  Knobs are the upper-case constants
of :mod:`model_code.geometry.rooms` and :mod:`model_code.geometry.outdoor` (``NECK_WIDTH``,
``OUTDOOR_MIN_CONTACT``).  Use it on your own validation split or generated plans only.

    python benchmarks/rooms_tuning.py --data ../shared/datasets/r3d/train --split validation \\
        --model runs/model --set INTERIOR_THRESHOLD=0.3,0.5 --set TYPE_SPLIT_CONFIDENCE=0.5,0.7

``--working-gain G`` records the plans with the network run at ``G`` times the fit-to-working-size
scale instead of the scale :func:`model_code.model.scale.choose_working_scale` picks (an experiment
on the working scale, docs/scale.md; the product never does this).
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

import model_code.geometry.outdoor as outdoor_module
import model_code.geometry.rooms as rooms_module
from model_code.datasets.layouts import open_dataset
from model_code.datasets.organize import holdout_split
from model_code.evaluation import metrics
from model_code.evaluation.scoring import room_analysis
from model_code.evaluation.truth import GroundTruth, load_ground_truth
from model_code.pipeline import Pipeline, PlanResult


@dataclass
class Recorded:
    """One plan's room-stage inputs and its ground truth."""

    args: tuple
    kwargs: dict
    scale: tuple[float, float]
    truth: object


def record(
    pipeline: Pipeline, samples: list, each: Callable[[GroundTruth, PlanResult], None] | None = None
) -> list[Recorded]:
    """Run the pipeline once per plan and keep what the room stage was given.

    ``each(truth, result)`` is called with every plan's ground truth and pipeline result (to score
    what the room stage does not see, such as the wall masks)."""
    seen: list[tuple] = []
    original = rooms_module.detect_rooms

    def recorder(*args, **kwargs):
        seen.append((args, kwargs))
        return original(*args, **kwargs)

    rooms_module.detect_rooms = recorder
    out = []
    try:
        for sample in tqdm(samples, desc="recording"):
            truth = load_ground_truth(sample)
            seen.clear()
            result = pipeline.analyze(truth.image)
            if each is not None:
                each(truth, result)
            args, kwargs = seen[-1]
            trace = args[1]
            scale = (result.wall_mask.shape[1] / trace.shape[1], result.wall_mask.shape[0] / trace.shape[0])
            out.append(Recorded(args, kwargs, scale, truth))
    finally:
        rooms_module.detect_rooms = original
    return out


def force_working_gain(gain: float) -> None:
    """Make the pipeline run the network at ``gain`` times the fit scale (for every plan)."""
    import model_code.model.scale as scale_module

    choose = scale_module.choose_working_scale

    def forced(height, width, working_size, coarse_thickness_px, *args, **kwargs):
        if coarse_thickness_px is None:  # the coarse pass itself
            return choose(height, width, working_size, None)
        fit = choose(height, width, working_size, None).fit_scale
        shape = scale_module.shape_at(height, width, fit * gain)
        return scale_module.WorkingScale(fit * gain, shape, fit, coarse_thickness_px / fit, "forced")

    scale_module.choose_working_scale = forced


def score(recorded: list[Recorded]) -> dict[str, float]:
    """Pooled room scores of the current knob values over the recorded plans."""
    totals = {0.5: [0, 0, 0], 0.7: [0, 0, 0]}
    typed = [0, 0]
    per_type = {"closet": [0, 0], "balcony": [0, 0]}
    for item in recorded:
        found = rooms_module.detect_rooms(*item.args, **item.kwargs)
        found = rooms_module.scale_rooms(found, *item.scale)
        result = PlanResult(document=_Document(found), wall_mask=None, opening_mask=None)
        analysis = room_analysis(item.truth, result)
        if analysis is None:
            continue
        for threshold, match in metrics.room_scores(analysis.pred_labels, analysis.truth_labels).items():
            totals[threshold][0] += match.matched
            totals[threshold][1] += match.predicted
            totals[threshold][2] += match.truth
        for room in analysis.outcomes:
            if room.type_correct is not None:
                typed[0] += int(room.type_correct)
                typed[1] += 1
            if room.type in per_type:
                per_type[room.type][0] += int(room.match is not None)
                per_type[room.type][1] += 1
    row = {}
    for threshold, (tp, n_pred, n_true) in totals.items():
        precision, recall = tp / max(n_pred, 1), tp / max(n_true, 1)
        row[f"f1_{round(threshold * 100)}"] = 2 * precision * recall / max(precision + recall, 1e-9)
        row[f"precision_{round(threshold * 100)}"] = precision
        row[f"recall_{round(threshold * 100)}"] = recall
    row["type_accuracy"] = typed[0] / max(typed[1], 1)
    for name, (hit, count) in per_type.items():
        row[f"recall_{name}"] = hit / max(count, 1)
    return row


class _Document:
    """The part of a result document the room scoring reads."""

    def __init__(self, rooms):
        self.rooms = rooms


KNOB_MODULES = (rooms_module, outdoor_module)  # where --set looks for a knob, in this order


def knob_module(name: str):
    """The room-stage module that defines the knob ``name`` (rooms first, then outdoor).

    Raises:
        ValueError: no such knob.
    """
    for module in KNOB_MODULES:
        if hasattr(module, name) and name.isupper():
            return module
    raise ValueError(f"neither model_code.geometry.rooms nor model_code.geometry.outdoor has a knob {name!r}")


def parse_sets(values: list[str]) -> dict[str, list[float]]:
    out = {}
    for value in values:
        name, _, numbers = value.partition("=")
        knob_module(name)
        out[name] = [float(v) for v in numbers.split(",")]
    return out


def add_sample_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data``, ``--split``, ``--val-fraction``, ``--seed``, ``--limit`` and ``--model``: which plans,
    through which checkpoint (read back by :func:`selected_samples`)."""
    parser.add_argument("--data", required=True, help="dataset folder (any layout)")
    parser.add_argument("--split", choices=["all", "train", "validation"], default="validation")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--model", default=None, help="checkpoint directory (default: the bundled model)")


def selected_samples(args: argparse.Namespace) -> list:
    """The plans :func:`add_sample_arguments` chose: the dataset, its split (the training loop's hold-out)
    and at most ``--limit`` of them."""
    samples = open_dataset(args.data)
    if args.split != "all":
        samples = holdout_split(samples, args.val_fraction, args.seed)[args.split == "validation"]
    return samples[: args.limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sample_arguments(parser)
    parser.add_argument("--set", action="append", default=[], help="KNOB=v1,v2,... (repeatable)")
    parser.add_argument("--no-types", action="store_true", help="replay without the room-type maps")
    parser.add_argument("--out", type=Path, default=None, help="write the table as JSON here")
    parser.add_argument(
        "--working-gain", type=float, default=None, help="run the network at this many times the fit scale"
    )
    args = parser.parse_args()
    try:
        grid = parse_sets(args.set)  # before the long recording
    except ValueError as exc:
        parser.error(str(exc))
    samples = selected_samples(args)
    if args.working_gain is not None:
        force_working_gain(args.working_gain)
    recorded = record(Pipeline.load(args.model), samples)
    if args.no_types:
        for item in recorded:
            item.kwargs["room_types"] = None
    names = list(grid)
    owners = {name: knob_module(name) for name in names}
    defaults = {name: getattr(owners[name], name) for name in names}
    rows = []
    for values in itertools.product(*(grid[n] for n in names)) if names else [()]:
        for name, value in zip(names, values, strict=True):
            kind = type(defaults[name])
            setattr(owners[name], name, kind(value) if defaults[name] is not None else value)
        row = {**dict(zip(names, values, strict=True)), **score(recorded)}
        rows.append(row)
        print(
            " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
            flush=True,
        )
    for name, value in defaults.items():
        setattr(owners[name], name, value)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
