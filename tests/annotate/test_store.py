"""The annotation folder: listing, state machine, atomic saves, conflicts and concurrency."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from model_code.annotate import store as store_module
from model_code.annotate.store import (
    EDITED,
    NOT_STARTED,
    PRE_ANNOTATED,
    VALIDATED,
    AnnotationStore,
    InvalidAnnotation,
    PlanNotFound,
    RevisionConflict,
    StoreError,
)
from model_code.io import files
from model_code.schema import validate_annotation
from tests.annotate.helpers import sample_annotation


def test_lists_plans_and_skips_masks(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    plans = store.plans()
    assert [p.id for p in plans] == ["plan_a", "plan_b"]
    assert all(p.state == NOT_STARTED and p.revision == 0 for p in plans)
    assert store.image_size("plan_a") == (256, 192)
    assert store.image_size("plan_b") == (200, 160)


def test_missing_folder_and_unknown_plan(tmp_path: Path, plan_folder: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        AnnotationStore(tmp_path / "nope")
    with pytest.raises(PlanNotFound):
        AnnotationStore(plan_folder).load("../plan_a")


def test_duplicate_stems_are_reported(plan_folder: Path) -> None:
    (plan_folder / "plan_a.jpg").write_bytes((plan_folder / "plan_b.jpg").read_bytes())
    store = AnnotationStore(plan_folder)
    assert store.duplicates() == ["plan_a.png"]
    assert store.image_path("plan_a").name == "plan_a.jpg"


def test_save_load_round_trip_writes_customer_json_next_to_image(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    result = store.save("plan_a", sample_annotation(), base_revision=0)
    assert (result.revision, result.state, result.problems) == (1, EDITED, [])
    on_disk = json.loads((plan_folder / "plan_a.json").read_text())
    validate_annotation(on_disk)
    assert on_disk["image"] == {"width": 256, "height": 192}
    assert on_disk["walls"][0] == {
        "id": "w1",
        "start": [20.0, 20.0],
        "end": [236.0, 20.0],
        "thickness": 6.0,
        "is_load_bearing": True,
    }
    assert on_disk["rooms"][0]["name_hint"] == "kitchen"
    assert on_disk["rooms"][0]["bounding_box"] == [20.0, 20.0, 128.0, 172.0]  # computed from the polygon
    data, info = store.load("plan_a")
    assert data == on_disk
    assert (info.state, info.revision, info.counts) == (EDITED, 1, {"walls": 3, "openings": 1, "rooms": 2})
    assert [p.name for p in store.history("plan_a")] == ["000001.json"]


def test_state_machine(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    assert store.save("plan_a", sample_annotation(), 0, source="preannotation").state == PRE_ANNOTATED
    same = store.save("plan_a", sample_annotation(), 1)  # unchanged: no new revision, state kept
    assert (same.revision, same.state) == (1, PRE_ANNOTATED)
    changed = sample_annotation()
    changed["rooms"][1]["name_hint"] = "bedroom"
    assert store.save("plan_a", changed, 1).state == EDITED
    assert store.mark_validated("plan_a", 2).state == VALIDATED
    assert store.info("plan_a").state == VALIDATED
    changed["walls"].pop()
    changed["openings"] = []
    after = store.save("plan_a", changed, 2)
    assert (after.revision, after.state) == (3, EDITED)


def test_stale_revision_is_a_conflict_and_force_overwrites(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    store.save("plan_a", sample_annotation(), 0)
    mine = sample_annotation()
    mine["walls"][0]["is_load_bearing"] = False
    with pytest.raises(RevisionConflict) as caught:
        store.save("plan_a", mine, 0)
    assert caught.value.current_revision == 1
    assert json.loads((plan_folder / "plan_a.json").read_text())["walls"][0]["is_load_bearing"] is True
    assert store.save("plan_a", mine, 0, force=True).revision == 2


def test_external_edit_bumps_revision(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    store.save("plan_a", sample_annotation(), 0)
    data = json.loads((plan_folder / "plan_a.json").read_text())
    data["rooms"][1]["name_hint"] = "edited by hand"
    (plan_folder / "plan_a.json").write_text(json.dumps(data))
    assert store.info("plan_a").revision == 2
    with pytest.raises(RevisionConflict):
        store.save("plan_a", sample_annotation(), 1)


def test_invalid_documents_are_refused_with_every_problem(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    bad = sample_annotation()
    bad["walls"][0]["start"] = [1, 2, 3]
    bad["rooms"][0] = {"id": "r1"}
    with pytest.raises(InvalidAnnotation) as caught:
        store.save("plan_a", bad, 0)
    paths = {p.path for p in caught.value.problems}
    assert {"walls/0/start", "rooms/0"} <= paths
    assert not (plan_folder / "plan_a.json").exists()


def test_validation_refuses_geometric_problems(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    bad = sample_annotation()
    bad["walls"][2]["end"] = [128, 20.2]  # zero length
    bad["walls"][1]["end"] = [236, 400]  # below the 192 px image
    result = store.save("plan_a", bad, 0)
    assert {p.path for p in result.problems} == {"walls/1", "walls/2"}
    with pytest.raises(InvalidAnnotation) as caught:
        store.mark_validated("plan_a", result.revision)
    assert len(caught.value.problems) == 2
    assert store.info("plan_a").state == EDITED


def test_crash_during_write_keeps_the_previous_file(
    plan_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AnnotationStore(plan_folder)
    store.save("plan_a", sample_annotation(), 0)
    before = (plan_folder / "plan_a.json").read_bytes()

    def crash(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", crash)  # the store writes through model_code.io.files
    changed = sample_annotation()
    changed["walls"] = []
    with pytest.raises(OSError, match="disk full"):
        store.save("plan_a", changed, 1)
    assert (plan_folder / "plan_a.json").read_bytes() == before
    assert not [p for p in plan_folder.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    assert store.info("plan_a").revision == 1


def test_concurrent_saves_from_one_revision_let_exactly_one_win(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    store.save("plan_a", sample_annotation(), 0)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(number: int) -> None:
        data = sample_annotation()
        data["rooms"][1]["name_hint"] = f"writer {number}"
        barrier.wait()
        try:
            store.save("plan_a", data, 1)
            outcomes.append(f"ok {number}")
        except RevisionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("ok")]
    assert len(winners) == 1 and outcomes.count("conflict") == 7
    on_disk = json.loads((plan_folder / "plan_a.json").read_text())
    assert on_disk["rooms"][1]["name_hint"] == f"writer {winners[0].split()[1]}"
    assert store.info("plan_a").revision == 2


def test_chained_concurrent_saves_all_land(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    errors: list[Exception] = []

    def writer(number: int) -> None:
        for _ in range(50):  # retry on conflict, as the editor does after reloading
            revision = store.info("plan_a").revision
            data = store.load("plan_a")[0] or sample_annotation()
            data["walls"].append({"start": [10, 10 + number], "end": [50, 10 + number]})
            try:
                store.save("plan_a", data, revision)
                return
            except RevisionConflict:
                continue
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return
        errors.append(RuntimeError(f"writer {number} never saved"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    data, info = store.load("plan_a")
    assert info.revision == 6
    assert len(data["walls"]) == 3 + 6


def test_history_is_bounded(plan_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "HISTORY_KEEP", 3)
    store = AnnotationStore(plan_folder)
    data = sample_annotation()
    for revision in range(5):
        data["rooms"][1]["name_hint"] = f"name {revision}"
        store.save("plan_a", data, revision)
    assert [p.name for p in store.history("plan_a")] == ["000003.json", "000004.json", "000005.json"]


def test_client_token_is_remembered(plan_folder: Path) -> None:
    store = AnnotationStore(plan_folder)
    store.save("plan_a", sample_annotation(), 0, client_token="tab1:4")
    assert store.client_token("plan_a") == "tab1:4"
    store.save("plan_a", sample_annotation(), 1, client_token="tab1:5")  # unchanged content still records it
    assert store.client_token("plan_a") == "tab1:5"


def test_unreadable_json_is_reported(plan_folder: Path) -> None:
    (plan_folder / "plan_a.json").write_text("{not json")
    store = AnnotationStore(plan_folder)
    assert store.info("plan_a").state == EDITED
    with pytest.raises(InvalidAnnotation, match="not valid JSON"):
        store.load("plan_a")
    assert os.path.exists(plan_folder / "plan_a.json")


BROKEN_FILES = {
    "walls_is_a_number": (
        '{"image_id": "plan_a", "walls": 5, "rooms": []}',
        "walls: 5 is not of type 'array'",
    ),
    "walls_is_true": ('{"image_id": "plan_a", "walls": true, "rooms": []}', "walls: True is not of type"),
    "rooms_is_a_string": (
        '{"image_id": "plan_a", "walls": [], "rooms": "abc"}',
        "rooms: 'abc' is not of type",
    ),
    "a_list": ("[1, 2]", "is not of type 'object'"),
    "a_string": ('"plan"', "is not of type 'object'"),
    "not_json": ("{not json", "not valid JSON"),
    "bad_wall": ('{"image_id": "plan_a", "walls": [{"start": [1, 2]}], "rooms": []}', "walls/0: 'end'"),
}


@pytest.mark.parametrize("name", BROKEN_FILES)
def test_a_broken_annotation_is_flagged_not_fatal(plan_folder: Path, name: str) -> None:
    text, reason = BROKEN_FILES[name]
    (plan_folder / "plan_a.json").write_text(text)
    store = AnnotationStore(plan_folder)
    plan_a, plan_b = store.plans()  # the listing still works
    assert (plan_a.id, plan_b.id) == ("plan_a", "plan_b")
    assert plan_a.annotation_error is not None and reason in plan_a.annotation_error
    assert plan_a.annotation_error.startswith("plan_a.json")
    assert plan_a.to_dict()["annotation_error"] == plan_a.annotation_error
    assert plan_a.state == EDITED and plan_a.counts == {}
    assert plan_b.annotation_error is None and plan_b.to_dict()["annotation_error"] is None
    with pytest.raises(InvalidAnnotation):
        store.mark_validated("plan_a", plan_a.revision)  # a clear refusal, not a crash
    store.save("plan_a", sample_annotation(), plan_a.revision)  # saving a good one repairs it
    assert store.info("plan_a").annotation_error is None
    assert store.info("plan_a").counts == {"walls": 3, "openings": 1, "rooms": 2}


def test_validating_a_plan_whose_size_is_not_cached_does_not_deadlock(plan_folder: Path) -> None:
    """A JSON written outside the tool, validated before the plan was ever opened (size not cached).

    mark_validated held the plan's lock and measured the image, which took the same lock again
    on another file handle: flock blocked forever, and so did every later save of that plan.
    """
    (plan_folder / "plan_a.json").write_text(json.dumps(sample_annotation()))
    store = AnnotationStore(plan_folder)
    revision = store.info("plan_a").revision
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(store.mark_validated("plan_a", revision)), daemon=True
    )
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "mark_validated deadlocked on the plan's own lock"
    assert outcome[0].state == VALIDATED
