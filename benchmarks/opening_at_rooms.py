"""The network's opening probability along the true openings of one room type, against all other openings.

Runs the serving pipeline on every plan, brings the checkpoint's opening probabilities to the plan's
size and reads them on the true opening pixels within ``--reach`` px of a true room of ``--room-type``
(its doors: a closet's wardrobe front) and on every other true opening pixel.  Prints the quantiles
and the share above a few thresholds for both; docs/vectorize.md ("The neck cut") quotes the closet
numbers:

    python benchmarks/opening_at_rooms.py --data ../shared/datasets/r3d/train --split train

Needs a dataset with room types (R3D room colours, or annotations whose rooms carry a type).
"""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
from rooms_tuning import add_sample_arguments, selected_samples
from tqdm import tqdm

from model_code.evaluation import metrics
from model_code.evaluation.scoring import truth_room_labels
from model_code.evaluation.truth import load_ground_truth
from model_code.pipeline import Pipeline
from model_code.schema import ROOM_TYPES

THRESHOLDS = (0.5, 0.3, 0.1, 0.01)
QUANTILES = (10, 25, 50, 75, 90)


def opening_probabilities(
    pipeline: Pipeline, samples: list, room_type: str, reach: int
) -> dict[str, np.ndarray]:
    """Opening probabilities on the true openings at rooms of ``room_type`` (``"at_rooms"``) and on the
    other true openings (``"other"``), pooled over ``samples`` (plans without room types are skipped)."""
    assert pipeline.model is not None
    channel = list(pipeline.model.metadata.spec.channels).index("opening")
    ring = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    found: dict[str, list[np.ndarray]] = {"at_rooms": [], "other": []}
    for sample in tqdm(samples, desc="plans"):
        truth = load_ground_truth(sample)
        labels = truth_room_labels(truth)
        if labels is None or truth.room_type is None:
            continue
        result = pipeline.analyze(truth.image)
        height, width = truth.shape
        probability = cv2.resize(
            result.probabilities[channel].astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
        )
        rooms = metrics.relabel(labels)
        types = metrics.majority_types(rooms, truth.room_type, ROOM_TYPES)
        chosen = np.isin(rooms, [k for k, kind in enumerate(types, start=1) if kind == room_type])
        near = (cv2.dilate(chosen.view(np.uint8), ring) > 0) & truth.opening
        found["at_rooms"].append(probability[near])
        found["other"].append(probability[truth.opening & ~near])
    empty = np.zeros(0, np.float32)
    return {name: np.concatenate(parts) if parts else empty for name, parts in found.items()}


def summary(values: np.ndarray) -> dict[str, float]:
    """Pixel count, quantiles and the share above each of :data:`THRESHOLDS`."""
    if values.size == 0:
        return {"pixels": 0}
    row: dict[str, float] = {"pixels": int(values.size)}
    quantiles = np.percentile(values, QUANTILES)
    row.update({f"q{q}": round(float(v), 3) for q, v in zip(QUANTILES, quantiles, strict=True)})
    row.update({f"above_{t}": round(float((values > t).mean()), 3) for t in THRESHOLDS})
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sample_arguments(parser)
    parser.add_argument(
        "--room-type", choices=ROOM_TYPES, default="closet", help="whose openings to single out"
    )
    parser.add_argument(
        "--reach", type=int, default=3, help="px from the room within which an opening is its own"
    )
    args = parser.parse_args()
    pipeline = Pipeline.load(args.model)
    found = opening_probabilities(pipeline, selected_samples(args), args.room_type, args.reach)
    print(json.dumps({name: summary(values) for name, values in found.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
