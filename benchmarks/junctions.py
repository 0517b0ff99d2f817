"""Do walls that meet share their end point exactly in the returned coordinates? (a script)

The truth: on a generated plan, a *junction end* is a wall end of the annotation that coincides
(within 0.5 px) with the end of another wall (L corners, and the corners where three or four
walls end together).  For each, its *counterpart* is the nearest end of a returned wall within
one truth wall thickness (the thicker wall at that junction, at least 3 px).  The end *meets
exactly* when its counterpart is identical, to the last bit of the returned (JSON, 2-decimal)
coordinates, to an end of another returned wall.  Printed per plan and pooled: junction ends,
those with a counterpart, those meeting exactly; the score is exact / junction ends (the issue's
target is >= 95 % at 2,048 px) and exact / counterparts (exactness of what was found).  Example::

    .venv/bin/python benchmarks/junctions.py --seeds 0 1 2 3 4 5 --size 2048
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def junction_ends(segments: np.ndarray, tolerance: float = 0.5) -> np.ndarray:
    """Indices (into the ``2N`` ends: starts then ends) of ends that coincide with another wall's end."""
    n = len(segments)
    ends = np.vstack([segments[:, :2], segments[:, 2:]])
    owner = np.concatenate([np.arange(n), np.arange(n)])
    gap = np.hypot(*(ends[:, None, :] - ends[None, :, :]).transpose(2, 0, 1))
    gap[owner[:, None] == owner[None, :]] = np.inf
    return np.flatnonzero(gap.min(axis=1, initial=np.inf) <= tolerance)


def score(truth_walls, walls) -> tuple[int, int, int]:
    """``(junction ends, with a counterpart, meeting exactly)`` of one plan."""
    truth = np.array([[*w.start, *w.end] for w in truth_walls], np.float64).reshape(-1, 4)
    thick = np.array([w.thickness or 0.0 for w in truth_walls])
    pred = np.array([[*w["start"], *w["end"]] for w in walls], np.float64).reshape(-1, 4)
    t_ends = np.vstack([truth[:, :2], truth[:, 2:]])
    t_owner = np.concatenate([np.arange(len(truth)), np.arange(len(truth))])
    p_ends = np.vstack([pred[:, :2], pred[:, 2:]])
    p_owner = np.concatenate([np.arange(len(pred)), np.arange(len(pred))])
    index = junction_ends(truth)
    found = exact = 0
    for k in index:
        here = np.hypot(*(t_ends - t_ends[k]).T) <= 0.5
        radius = max(3.0, float(thick[t_owner[here]].max()))
        if not len(p_ends):
            continue
        dist = np.hypot(*(p_ends - t_ends[k]).T)
        best = int(np.argmin(dist))
        if dist[best] > radius:
            continue
        found += 1
        same = (p_ends == p_ends[best]).all(axis=1) & (p_owner != p_owner[best])
        exact += bool(same.any())
    return len(index), found, exact


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--size", type=int, default=2048)
    args = parser.parse_args()
    from model_code.pipeline import Pipeline
    from model_code.synth import generate_plan

    pipeline = Pipeline.load()
    totals = np.zeros(3, int)
    print("| seed | style | working side | junction ends | with a counterpart | meeting exactly |")
    print("| --- | --- | --- | --- | --- | --- |")
    for seed in args.seeds:
        plan = generate_plan(seed, args.size)
        document = pipeline.analyze(plan.image).document.to_dict()
        counts = np.array(score(plan.annotation.walls, document["walls"]))
        totals += counts
        side = max(document["inference"]["working_width"], document["inference"]["working_height"])
        print(f"| {seed} | {plan.style} | {side} | {counts[0]} | {counts[1]} | {counts[2]} |", flush=True)
    ends, found, exact = totals.tolist()
    print(
        f"\n{len(args.seeds)} plans at {args.size} px: {exact}/{ends} junction ends meet exactly "
        f"({exact / max(ends, 1):.1%}); {exact}/{found} of those with a counterpart "
        f"({exact / max(found, 1):.1%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
