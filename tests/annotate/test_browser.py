"""End-to-end: the annotation tool in a real headless Chromium, used as a person would.

Needs Debian's ``chromium`` (``make test`` installs it); Playwright drives it through
``executable_path``, no browser download.  Set ``ANNOTATE_SCREENSHOT=path.png`` to keep the
editor screenshot (docs/images/annotate_editor.png is made that way).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from model_code.annotate.app import create_app
from model_code.io.images import write_png
from model_code.schema import validate_annotation
from tests.annotate.helpers import sample_annotation
from tests.browser import chromium, served

pytestmark = pytest.mark.slow


def _serve(folder: Path) -> Iterator[str]:
    with served(create_app(folder, backend="opencv")) as url:
        yield url


@pytest.fixture
def server(plan_folder: Path) -> Iterator[str]:
    yield from _serve(plan_folder)


@pytest.fixture
def synth_folder(tmp_path: Path) -> tuple[Path, dict]:
    """One generated plan (the OpenCV backend finds its walls) and its ground-truth annotation."""
    from model_code.synth import generate_plan

    folder = tmp_path / "synth"
    folder.mkdir()
    plan = generate_plan(2, 320)
    write_png(folder / "synth_a.png", plan.image)
    return folder, plan.annotation.to_dict()


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 820})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.errors = errors
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def _client(page, x: float, y: float) -> tuple[float, float]:
    """Screen position of image pixel (x, y) in the editor's current view."""
    return tuple(page.evaluate(f"window.annotate.toClient({x}, {y})"))


def _click(page, x: float, y: float) -> None:
    page.mouse.click(*_client(page, x, y))


def _free_segment(doc: dict, length: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two points ``length`` apart horizontally, both far from every endpoint (nothing to snap to)."""
    ends = [item[end] for kind in ("walls", "openings") for item in doc[kind] for end in ("start", "end")]
    width, height = doc["image"]["width"], doc["image"]["height"]
    for y in range(20, height - 20, 5):
        for x in range(20, int(width - 20 - length), 5):
            a, b = (float(x), float(y)), (float(x + length), float(y))
            if all(math.dist(a, e) > 15 and math.dist(b, e) > 15 for e in ends):
                return a, b
    raise AssertionError("no free spot on the plan")


def _wait_ready(page) -> None:
    page.wait_for_selector("body[data-ready=true]")


def test_annotate_a_plan_end_to_end(page, synth_folder: tuple[Path, dict]) -> None:
    folder, truth = synth_folder
    room = max(truth["rooms"], key=lambda r: r["bounding_box"][2] - r["bounding_box"][0])
    x0, y0, x1, y1 = room["bounding_box"]
    inside = lambda fx, fy: (x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))  # noqa: E731
    url = next(server_urls := _serve(folder))
    try:
        page.goto(url + "/")
        assert page.locator("#plans tbody tr").count() == 1
        assert page.locator('tr[data-plan="synth_a"] .badge').inner_text() == "not started"
        page.click("text=synth_a.png")
        _wait_ready(page)

        # pre-annotate with the OpenCV backend
        page.select_option("#backend", "opencv")
        page.click("#btn-preannotate")
        page.wait_for_function("document.getElementById('plan-state').textContent === 'pre-annotated'")
        walls = page.evaluate("window.annotate.doc.walls")
        assert len(walls) >= 4, walls
        assert page.locator("#layer-walls g.wall").count() == len(walls)
        assert json.loads((folder / "synth_a.json").read_text())["walls"] == walls

        # drag one endpoint (Shift: no snapping) by (+4, +3) image pixels
        openings = page.evaluate("window.annotate.doc.openings")
        others = [o[end] for o in openings for end in ("start", "end")]
        wall = next(w for w in walls if all(math.dist(w["start"], p) > 8 for p in others))
        start = wall["start"]
        page.mouse.move(*_client(page, *start))
        page.keyboard.down("Shift")
        page.mouse.down()
        page.mouse.move(*_client(page, start[0] + 4, start[1] + 3), steps=6)
        page.mouse.up()
        page.keyboard.up("Shift")
        moved = page.evaluate(f"window.annotate.doc.walls.find(w => w.id === {json.dumps(wall['id'])}).start")
        assert moved == pytest.approx([start[0] + 4, start[1] + 3], abs=0.6)

        # select that wall (clicking again reaches what lies beneath), toggle load-bearing, set thickness
        middle = ((moved[0] + wall["end"][0]) / 2, (moved[1] + wall["end"][1]) / 2)
        for _ in range(6):
            _click(page, *middle)
            if page.evaluate("window.annotate.selection.id") == wall["id"]:
                break
        assert page.locator("#wall-id").inner_text() == f"wall {wall['id']}"
        page.keyboard.press("l")
        page.fill("#wall-thickness", "7.5")
        page.keyboard.press("Enter")
        edited = page.evaluate(f"window.annotate.doc.walls.find(w => w.id === {json.dumps(wall['id'])})")
        assert edited["is_load_bearing"] is not wall["is_load_bearing"]
        assert edited["thickness"] == 7.5 and "confidence" not in edited

        # add a wall by two clicks; the second, slightly off, snaps to horizontal
        page.keyboard.press("w")
        a, b = _free_segment(page.evaluate("window.annotate.doc"), length=40)
        _click(page, *a)
        _click(page, b[0], b[1] + 1.5)
        page.keyboard.press("Escape")
        added = page.evaluate("window.annotate.doc.walls.at(-1)")
        assert added["start"] == pytest.approx(list(a), abs=0.6)
        assert added["end"] == pytest.approx([b[0], added["start"][1]], abs=0.6)

        # a door on the new wall: two clicks, it records its host wall and thickness
        page.keyboard.press("d")
        _click(page, added["start"][0] + 10, added["start"][1] + 1)
        _click(page, added["start"][0] + 25, added["start"][1] - 1)
        door = page.evaluate("window.annotate.doc.openings.at(-1)")
        assert door["type"] == "door" and door["wall_id"] == added["id"]
        assert door["start"] == pytest.approx([added["start"][0] + 10, added["start"][1]], abs=0.6)
        assert door["end"][1] == pytest.approx(added["start"][1], abs=0.01)
        assert door["thickness"] == added["thickness"]

        # undo removes the door, redo brings it back
        count = len(page.evaluate("window.annotate.doc.openings"))
        page.keyboard.press("Control+z")
        assert len(page.evaluate("window.annotate.doc.openings")) == count - 1
        page.keyboard.press("Control+Shift+z")
        assert page.evaluate("window.annotate.doc.openings.at(-1)") == door

        # draw a room rectangle and name it
        page.keyboard.press("r")
        c, d = inside(0.25, 0.25), inside(0.75, 0.75)
        page.keyboard.down("Shift")  # corners exactly where clicked, no snapping
        _click(page, *c)
        _click(page, *d)
        page.keyboard.up("Shift")
        page.keyboard.type("kitchen")
        page.keyboard.press("Enter")
        page.keyboard.press("v")

        # save, reload, everything is still there
        page.click("#btn-save")
        page.wait_for_function("!window.annotate.dirty")
        page.reload()
        _wait_ready(page)
        assert page.locator("#plan-state").inner_text() == "edited"
        assert page.locator("#layer-labels text", has_text="kitchen").count() == 1

        # the JSON on disk is the customers' format with our extensions
        on_disk = json.loads((folder / "synth_a.json").read_text())
        validate_annotation(on_disk)
        assert on_disk["image_id"] == "synth_a"
        assert on_disk["image"]["width"] == 320 or on_disk["image"]["height"] == 320
        saved_wall = next(w for w in on_disk["walls"] if w["id"] == added["id"])
        assert saved_wall["start"] == pytest.approx(added["start"], abs=0.01)
        assert saved_wall["end"] == pytest.approx(added["end"], abs=0.01)
        assert saved_wall["thickness"] > 0 and saved_wall["is_load_bearing"] is False
        moved_wall = next(w for w in on_disk["walls"] if w["id"] == wall["id"])
        assert moved_wall["start"] == pytest.approx(moved, abs=0.01)
        assert moved_wall["thickness"] == 7.5 and moved_wall["is_load_bearing"] is edited["is_load_bearing"]
        assert next(o for o in on_disk["openings"] if o["id"] == door["id"])["wall_id"] == added["id"]
        kitchen = next(r for r in on_disk["rooms"] if r["name_hint"] == "kitchen")
        assert kitchen["bounding_box"] == pytest.approx([*c, *d], abs=0.6)
        assert len(kitchen["polygon"]) == 4

        screenshot = os.environ.get("ANNOTATE_SCREENSHOT")
        if screenshot:
            page.click(f"#layer-rooms polygon:nth-child({len(on_disk['rooms'])})")
            page.screenshot(path=screenshot)

        # the list shows the new state
        page.goto(url + "/")
        assert page.locator('tr[data-plan="synth_a"] .badge').inner_text() == "edited"
    finally:
        server_urls.close()


def test_edits_survive_a_dead_server_and_a_closed_tab(browser, server: str, plan_folder: Path) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        page = context.new_page()
        page.goto(server + "/plan/plan_b")
        _wait_ready(page)
        page.route("**/annotation", lambda route: route.abort())  # the server is unreachable
        page.keyboard.press("r")
        _click(page, 30, 30)
        _click(page, 90, 120)
        page.keyboard.type("hall")
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('save-status').textContent.startsWith('offline')")
        assert not (plan_folder / "plan_b.json").exists()
        # a crash: no exit save gets through
        page.evaluate("() => { window.fetch = () => Promise.reject(new TypeError('crash')); }")
        page.close()
        assert not (plan_folder / "plan_b.json").exists()  # only the browser's copy is left

        page = context.new_page()
        page.goto(server + "/plan/plan_b")
        _wait_ready(page)
        page.wait_for_function("!window.annotate.dirty")
        assert "Restored unsaved edits" in page.locator("#banner-text").inner_text()
        on_disk = json.loads((plan_folder / "plan_b.json").read_text())
        assert [r["name_hint"] for r in on_disk["rooms"]] == ["hall"]

        # an edit followed at once by closing the tab is delivered by the exit save (a keepalive fetch)
        page.keyboard.press("p")
        for x, y in ((100, 30), (170, 30), (170, 120)):
            _click(page, x, y)
        page.keyboard.press("Enter")
        page.keyboard.type("office")
        page.close(run_before_unload=True)
        deadline = time.monotonic() + 10
        names: list[str] = []
        while time.monotonic() < deadline:
            names = [r["name_hint"] for r in json.loads((plan_folder / "plan_b.json").read_text())["rooms"]]
            if "office" in names:
                break
            time.sleep(0.1)
        assert names == ["hall", "office"]
    finally:
        context.close()


def test_conflicting_tabs_are_told_not_overwritten(browser, server: str, plan_folder: Path) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        first, second = context.new_page(), context.new_page()
        for page in (first, second):
            page.goto(server + "/plan/plan_a")
            _wait_ready(page)
        for page, name in ((first, "first"), (second, "second")):
            page.bring_to_front()
            page.keyboard.press("r")
            _click(page, 30, 30)
            _click(page, 100, 100)
            page.keyboard.type(name)
            page.keyboard.press("Enter")
            page.evaluate("window.annotate.save()")
        second.wait_for_selector("#banner:not([hidden])")
        assert "saved elsewhere" in second.locator("#banner-text").inner_text()
        on_disk = json.loads((plan_folder / "plan_a.json").read_text())
        assert [r["name_hint"] for r in on_disk["rooms"]] == ["first"]
        second.click("text=Overwrite with mine")
        second.wait_for_function("!window.annotate.dirty")
        on_disk = json.loads((plan_folder / "plan_a.json").read_text())
        assert [r["name_hint"] for r in on_disk["rooms"]] == ["second"]
    finally:
        context.close()


def test_validation_errors_are_drawn_on_the_plan(page, server: str, plan_folder: Path) -> None:
    imported = sample_annotation()
    imported["walls"].append({"id": "w9", "start": [60, 60], "end": [60, 60]})  # zero length
    (plan_folder / "plan_a.json").write_text(json.dumps(imported))
    page.goto(server + "/plan/plan_a")
    _wait_ready(page)
    page.keyboard.press("?")  # the shortcut help panel
    assert page.locator("#help").is_visible() and "Ctrl" in page.locator("#help").inner_text()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()
    _click(page, 128, 50)  # wall w3 lies on the edge between two rooms
    assert page.evaluate("window.annotate.selection.id") == "w3"
    _click(page, 128, 50)  # the same spot again: what lies beneath
    assert page.evaluate("window.annotate.selection.kind") == "rooms"
    page.keyboard.press("Escape")
    assert page.locator("#problem-count").inner_text() == "1"
    assert page.locator("#layer-problems .problem-marker").count() == 1
    assert page.locator("#layer-walls g.wall.bad").count() == 1
    page.click("#btn-validate")
    page.wait_for_selector("#banner:not([hidden])")
    assert "1 problem(s)" in page.locator("#banner-text").inner_text()
    assert page.locator("#plan-state").inner_text() == "edited"
    page.click("#problems li")  # selects the wall and centres the view on it
    assert page.locator("#wall-id").inner_text() == "wall w9"
    page.keyboard.press("Delete")
    page.click("#btn-validate")
    page.wait_for_function("document.getElementById('plan-state').textContent === 'validated'")
    assert page.locator("#problem-count").inner_text() == "0"
    assert len(json.loads((plan_folder / "plan_a.json").read_text())["walls"]) == 3


def test_large_plan_stays_responsive(page, tmp_path: Path) -> None:
    """A 4000 px plan with hundreds of walls: zoom, pan and drag frame times."""
    from model_code.synth import generate_plan

    folder = tmp_path / "big"
    folder.mkdir()
    plan = generate_plan(7, 4000)
    write_png(folder / "big.png", plan.image)
    annotation = plan.annotation.to_dict()
    height, width = plan.image.shape[:2]
    for row in range(20):  # stress: 400 extra short walls on top of the plan's own
        for col in range(20):
            x, y = 100 + col * (width - 200) / 20, 100 + row * (height - 200) / 20
            annotation["walls"].append({"start": [x, y], "end": [x + 60, y], "thickness": 8})
    (folder / "big.json").write_text(json.dumps(annotation))
    for url in _serve(folder):
        started = time.perf_counter()
        page.goto(url + "/plan/big")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_function("document.getElementById('plan-image').getBBox().width > 0")
        load_s = time.perf_counter() - started
        walls = page.evaluate("window.annotate.doc.walls.length")
        frames = page.evaluate(
            """async () => {
                const svg = document.getElementById('canvas');
                const r = svg.getBoundingClientRect();
                const times = [];
                let last = performance.now();
                for (let i = 0; i < 40; i++) {
                    svg.dispatchEvent(new WheelEvent('wheel', {
                        deltaY: i < 20 ? -60 : 60, clientX: r.left + r.width / 2,
                        clientY: r.top + r.height / 2, bubbles: true, cancelable: true}));
                    await new Promise(requestAnimationFrame);
                    const now = performance.now();
                    times.push(now - last);
                    last = now;
                }
                return times;
            }"""
        )
        start = page.evaluate("window.annotate.doc.walls[0].start")
        page.mouse.move(*_client(page, *start))
        page.mouse.down()
        drag_started = time.perf_counter()
        for step in range(20):
            page.mouse.move(*_client(page, start[0] + step, start[1] + step))
        drag_ms = (time.perf_counter() - drag_started) * 1000 / 20
        page.mouse.up()
        zoom_median = statistics.median(frames)
        zoom_p95 = sorted(frames)[int(0.95 * len(frames)) - 1]
        print(
            f"\n4000px plan {width}x{height}, {walls} walls: load {load_s:.2f} s, zoom frame median "
            f"{zoom_median:.1f} ms p95 {zoom_p95:.1f} ms, drag step {drag_ms:.1f} ms"
        )
        assert walls >= 400
        assert zoom_median < 100, frames
        assert drag_ms < 150


def test_a_broken_annotation_is_flagged_and_explained(page, server: str, plan_folder: Path) -> None:
    (plan_folder / "plan_a.json").write_text('{"image_id": "plan_a", "walls": 5, "rooms": []}')
    page.goto(server + "/")
    assert page.locator("#plans tbody tr").count() == 2
    flag = page.locator('tr[data-plan="plan_a"] .badge.invalid')
    assert flag.inner_text() == "invalid annotation"
    assert "walls: 5 is not of type 'array'" in page.locator('tr[data-plan="plan_a"]').inner_text()
    assert page.locator('tr[data-plan="plan_b"] .badge.invalid').count() == 0
    page.click("text=plan_a.png")
    page.wait_for_selector("#banner:not([hidden])")
    text = page.locator("#banner-text").inner_text()
    assert "Cannot open the plan: plan_a.json does not match the annotation schema: walls: 5" in text
    assert "Fix or delete plan_a.json" in text
    assert json.loads((plan_folder / "plan_a.json").read_text())["walls"] == 5  # left as it was


def test_another_site_cannot_write_through_the_browser(page, plan_folder: Path, tmp_path: Path) -> None:
    """The reported attack, in a real browser: a page of another origin posts text/plain, no-cors."""
    from model_code.annotate.store import AnnotationStore

    AnnotationStore(plan_folder).save("plan_a", sample_annotation(), base_revision=0)
    before = (plan_folder / "plan_a.json").read_bytes()
    forged = sample_annotation()
    forged["rooms"][0]["name_hint"] = "pwned"
    body = json.dumps({"annotation": forged, "base_revision": 0, "force": True})
    other = tmp_path / "other"
    other.mkdir()
    write_png(other / "x.png", np.full((8, 8, 3), 255, np.uint8))
    for target in _serve(plan_folder):
        for attacker in _serve(other):  # another origin (another port) stands in for another site
            page.goto(attacker + "/")
            for method in ("POST", "PUT"):
                page.evaluate(
                    """async ([url, method, body]) => {
                        try {
                            await fetch(url, {method, mode: 'no-cors', body,
                                              headers: {'Content-Type': 'text/plain'}});
                        } catch (error) {}
                    }""",
                    [target + "/api/plans/plan_a/annotation", method, body],
                )
            time.sleep(0.5)
    assert (plan_folder / "plan_a.json").read_bytes() == before
