"""Room types, recall per type and misses by cause: exact numbers on hand-made label images, and
``floorplan evaluate`` on a few small generated plans reporting them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model_code.cli import main
from model_code.evaluation import metrics
from model_code.evaluation.report import room_breakdown, worst_by_room_f1
from model_code.evaluation.scoring import METRICS_BY_KEY, PlanRecord, score_plan
from model_code.evaluation.truth import GroundTruth
from model_code.pipeline import PlanResult
from model_code.schema import ROOM_TYPES, ResultDocument, Room

SHAPE = (60, 100)
BEDROOM, BATHROOM, LIVING = (ROOM_TYPES.index(t) + 1 for t in ("bedroom", "bathroom", "living"))


def box_labels(*boxes: tuple[int, int, int, int], shape: tuple[int, int] = SHAPE) -> np.ndarray:
    """Label image: box ``k`` (``y0, y1, x0, x1``, end exclusive) is label ``k``; later boxes win."""
    labels = np.zeros(shape, np.int32)
    for k, (y0, y1, x0, x1) in enumerate(boxes, start=1):
        labels[y0:y1, x0:x1] = k
    return labels


def box_room(index: int, box: tuple[int, int, int, int], room_type: str | None = None) -> Room:
    """A room whose polygon rasterises back to exactly the pixels of ``box``."""
    y0, y1, x0, x1 = box
    polygon = [(x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1), (x0, y1 - 1)]
    return Room(f"r{index}", [x0, y0, x1 - 1, y1 - 1], polygon, type=room_type)


def causes(pred: np.ndarray, truth: np.ndarray, min_area: float = metrics.TOO_SMALL_PX) -> list[str | None]:
    n_pred = int(pred.max(initial=0))
    return [r.cause for r in metrics.room_outcomes(pred, truth, [None] * n_pred, min_area=min_area)]


# --------------------------------------------------------------------------- true types


def test_true_type_is_the_majority_of_known_type_pixels() -> None:
    truth = box_labels((0, 20, 0, 20), (0, 20, 30, 50), (30, 40, 0, 10))
    type_map = np.zeros(SHAPE, np.uint8)
    type_map[0:20, 0:20] = 255  # unknown pixels do not vote ...
    type_map[0:5, 0:20] = BATHROOM  # 100 px
    type_map[5:8, 0:20] = BEDROOM  # 60 px: the bathroom wins although most pixels are unknown
    type_map[0:20, 30:50] = 255  # only unknown pixels: unknown
    type_map[30:35, 0:10] = LIVING  # 50 px each: a tie goes to the type listed first (bathroom)
    type_map[35:40, 0:10] = BATHROOM
    assert metrics.majority_types(truth, type_map, ROOM_TYPES) == ["bathroom", "unknown", "bathroom"]


# --------------------------------------------------------------------------- type accuracy, recall per type


def typed_case() -> tuple[GroundTruth, PlanResult]:
    """Five true rooms; four predicted, matched to the first four (the fifth is lost)."""
    boxes = [(0, 20, 0, 20), (0, 20, 25, 45), (0, 20, 50, 70), (30, 50, 0, 20), (30, 50, 30, 60)]
    truth_labels = box_labels(*boxes)
    type_map = np.zeros(SHAPE, np.uint8)
    for (y0, y1, x0, x1), value in zip(boxes, (BEDROOM, BEDROOM, BATHROOM, 255, LIVING), strict=True):
        type_map[y0:y1, x0:x1] = value
    # bedroom right, bedroom typed "unknown", bathroom untyped (None), unknown-type truth typed living
    rooms = [
        box_room(1, (0, 20, 0, 20), "bedroom"),
        box_room(2, (1, 20, 25, 45), "unknown"),
        box_room(3, (0, 19, 50, 70), None),
        box_room(4, (30, 50, 0, 20), "living"),
    ]
    wall = np.zeros(SHAPE, bool)
    wall[25, :] = True  # a true wall, 1 px thick: the room stage's minimum stays below 300 px
    truth = GroundTruth("typed", np.zeros((*SHAPE, 3), np.uint8), wall, np.zeros(SHAPE, bool),
                        room_labels=truth_labels, room_type=type_map)  # fmt: skip
    document = ResultDocument(SHAPE[1], SHAPE[0], [], [], rooms, {"backend": "test"})
    return truth, PlanResult(document, wall, np.zeros(SHAPE, bool))


def test_type_accuracy_and_recall_per_type_are_exact() -> None:
    truth, result = typed_case()
    score = score_plan(truth, result, time_ms=1.0)
    outcomes = score.truth_rooms
    assert [r.type for r in outcomes] == ["bedroom", "bedroom", "bathroom", "unknown", "living"]
    assert [r.match for r in outcomes] == [0, 1, 2, 3, None]
    assert [r.predicted_type for r in outcomes] == ["bedroom", "unknown", "unknown", "living", None]
    assert [r.type_correct for r in outcomes] == [True, False, False, None, None]
    assert outcomes[4].cause == "lost_to_outside" and outcomes[4].area == 600
    # correct 1 of the 3 matched rooms whose true type is known
    assert (score.counts["room_type_tp"], score.counts["room_type_fn"]) == (1, 2)
    assert METRICS_BY_KEY["room_type_accuracy"].aggregate([score]) == pytest.approx(1 / 3)
    found = {
        t: (score.counts[f"room50_{t}_tp"], score.counts[f"room50_{t}_fn"]) for t in ("bedroom", "living")
    }
    assert found == {"bedroom": (2, 0), "living": (0, 1)}
    assert score.counts["room50_closet_tp"] + score.counts["room50_closet_fn"] == 0
    assert METRICS_BY_KEY["room_recall_50_living"].aggregate([score]) == 0.0
    assert METRICS_BY_KEY["room_recall_50_closet"].aggregate([score]) is None  # no closet: undefined
    assert score.values["room_f1_50"] == pytest.approx(2 * 4 / (4 + 5))
    assert METRICS_BY_KEY["room_missed_lost_to_outside"].aggregate([score]) == pytest.approx(1 / 5)

    record = PlanRecord("typed", SHAPE[1], SHAPE[0], scores={"b": score})
    breakdown = room_breakdown([record, record], "b")
    assert breakdown["truth_rooms"] == 10 and breakdown["typed"] == 8
    assert breakdown["type_judged"] == 6 and breakdown["type_correct"] == 2
    assert breakdown["recall_by_type"]["bedroom"] == {"truth": 4, "matched": 4}
    assert breakdown["type_confusion"]["bathroom"] == {"unknown": 2}
    lost = breakdown["misses"]["lost_to_outside"]
    assert lost["all"] == 2 == lost["living"] and sum(lost.values()) == 4
    assert json.loads(json.dumps(score.to_dict()))["truth_rooms"][1]["predicted_type"] == "unknown"


def test_without_a_type_map_only_matching_and_misses_are_counted() -> None:
    truth, result = typed_case()
    truth.room_type = None
    score = score_plan(truth, result)
    assert all(r.type == "unknown" for r in score.truth_rooms)
    assert "room_type_tp" not in score.counts and "room50_bedroom_tp" not in score.counts
    assert score.counts["room_miss_lost_to_outside_tp"] == 1


# --------------------------------------------------------------------------- misses by cause


def test_merged_the_prediction_matched_the_other_room() -> None:
    truth = box_labels((10, 50, 10, 50), (10, 50, 50, 70))  # 1600 px and 800 px
    pred = box_labels((10, 50, 10, 70))  # IoU 2/3 with the first, 1/3 with the second
    assert causes(pred, truth) == [None, "merged"]


def test_merged_the_prediction_too_big_to_match_anyone() -> None:
    truth = box_labels((10, 50, 10, 30), (10, 50, 30, 50), (10, 50, 50, 70))  # three of 800 px
    pred = box_labels((10, 50, 10, 70))  # IoU 1/3 with each
    assert causes(pred, truth) == ["merged", "merged", "merged"]


def test_split_in_three() -> None:
    truth = box_labels((10, 50, 10, 70))  # 2400 px
    pred = box_labels((10, 50, 10, 34), (10, 50, 34, 52), (10, 50, 52, 70))  # 40 %, 30 %, 30 %
    outcome = metrics.room_outcomes(pred, truth, [None] * 3)[0]
    assert outcome.cause == "split" and outcome.iou == pytest.approx(0.4)


def test_lost_to_outside() -> None:
    truth = box_labels((10, 50, 10, 50))
    assert causes(box_labels((10, 50, 10, 20)), truth) == ["lost_to_outside"]  # 75 % in no room
    assert causes(np.zeros(SHAPE, np.int32), truth) == ["lost_to_outside"]


def test_too_small_comes_first() -> None:
    truth = box_labels((10, 50, 10, 50), (10, 20, 50, 60))  # 1600 px and 100 px
    pred = box_labels((10, 50, 10, 60))  # covers both: the small one would be merged
    assert causes(pred, truth) == [None, "too_small"]
    assert causes(pred, truth, min_area=50) == [None, "merged"]
    assert causes(np.zeros(SHAPE, np.int32), truth) == ["lost_to_outside", "too_small"]


def test_other() -> None:
    truth = box_labels((10, 50, 10, 50))
    spilling = box_labels((10, 50, 10, 100))  # covers it all, IoU 0.44, no other true room
    assert causes(spilling, truth) == ["other"]
    half = box_labels((10, 50, 10, 29), (10, 50, 29, 35))  # 47.5 % + 15 %: not a split, 37.5 % outside
    assert causes(half, truth) == ["other"]


def test_a_prediction_without_pixels_never_matches_and_types_must_cover_labels() -> None:
    truth = box_labels((10, 50, 10, 50))
    rooms = metrics.room_outcomes(box_labels((10, 50, 10, 50)), truth, ["bedroom", "living"])
    assert rooms[0].match == 0 and rooms[0].predicted_type == "unknown"  # no vocabulary given
    with pytest.raises(ValueError, match="has no type"):
        metrics.room_outcomes(box_labels((0, 5, 0, 5), (10, 50, 10, 50)), truth, ["bedroom"])


def test_worst_by_room_f1_skips_plans_without_room_truth() -> None:
    truth, result = typed_case()
    good = PlanRecord("a", 1, 1, scores={"b": score_plan(truth, result)})
    bad = PlanRecord("b", 1, 1, scores={"b": score_plan(truth, result)})
    bad.scores["b"].values["room_f1_50"] = 0.1
    none = PlanRecord("c", 1, 1, scores={"b": score_plan(truth, result)})
    none.scores["b"].values.pop("room_f1_50")
    assert [r.stem for r in worst_by_room_f1([good, bad, none], "b", 5)] == ["b", "a"]


# --------------------------------------------------------------------------- the CLI end to end


def test_evaluate_reports_room_types_and_misses_on_generated_plans(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    from model_code.datasets.synthetic import write_plan
    from model_code.synth.generator import generate_plan

    data = tmp_path / "synth"
    for name in ("images", "annotations", "masks", "rooms"):
        (data / name).mkdir(parents=True)
    for seed in (7000000, 7000001, 7000002):
        write_plan(generate_plan(seed, 256), data)
    out = tmp_path / "report"
    argv = ["evaluate", "--data", str(data), "--backend", "opencv", "--backend", f"unet:{tiny_checkpoint}"]
    assert main([*argv, "--out", str(out), "--resamples", "50", "--gallery", "2"]) == 0

    report = json.loads((out / "report.json").read_text())
    names = ["opencv", f"unet:{tiny_checkpoint.name}"]
    for name in names:
        summary = report["backends"][name]
        # no backend types rooms yet (the untrained U-Net may match no room at all: undefined)
        assert summary["room_type_accuracy"]["value"] in ((0.0,) if name == "opencv" else (0.0, None))
        assert summary["room_type_accuracy"]["plans"] == 3  # the labelled rooms give the types
        for key in ("room_precision_70", "room_recall_70", "room_recall_50_bedroom", "room_missed_merged"):
            assert summary[key]["plans"] == 3, (name, key)
        rooms = report["room_breakdown"][name]
        missed = sum(cause["all"] for cause in rooms["misses"].values())
        matched = sum(p["scores"][name]["counts"]["room50_tp"] for p in report["plans"])
        assert rooms["truth_rooms"] == matched + missed > 0
        assert sum(t["matched"] for t in rooms["recall_by_type"].values()) == matched
        assert rooms["typed"] > 0 and rooms["type_correct"] == 0
        assert rooms["type_judged"] > 0 or name != "opencv"
        plan = report["plans"][0]["scores"][name]
        assert len(plan["truth_rooms"]) > 0 and "room_f1_50" in plan["values"]
    assert len(report["worst_plans_by_room_f1"]) == 2
    assert set(report["miss_causes"]) == set(metrics.MISS_CAUSES)

    markdown = (out / "report.md").read_text()
    headings = ("## Rooms", "### Room-type accuracy", "### Recall per room type", "### Misses by cause")
    for heading in (
        *headings,
        "worst plans by `opencv` room F1",
        "gallery_rooms.png",
        "| room-type accuracy",
    ):
        assert heading in markdown, heading
    for cause in metrics.MISS_CAUSES:
        assert f"- `{cause}`: " in markdown
    picture = np.asarray(Image.open(out / report["plans"][0]["room_overlay"]))
    assert picture.shape[1] > 2 * picture.shape[0]  # true rooms | two backends
    assert (out / "gallery_rooms.png").is_file()
