"""Correct one pre-annotated R3D plan in the annotation tool, scripted in headless Chromium, and time it.

Nobody sits at this machine, so the correction a person would make is scripted through the
editor's own mouse and keyboard (nothing is written behind the UI's back), guided by the plan's
R3D masks, and the script reports:

* what the correction took in actions (walls deleted and drawn, openings, rooms named or drawn),
* the wall-clock time of the scripted session (a lower bound: a machine clicks fast),
* a modelled human time: the actions times the per-action seconds in ``HUMAN_SECONDS`` plus a
  look at every pre-annotated element (a model, stated as such, not a measurement),
* wall/opening tolerant F1 and room F1 (IoU 0.5) against the masks, before and after.

The plan is copied into a temporary folder outside the repository (R3D is never copied into
the repo).  Example::

    .venv/bin/python benchmarks/annotate_correction.py /work/shared/datasets/r3d/train 10 --backend opencv
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from shapely.geometry import Polygon

from model_code.annotate.app import create_app
from model_code.datasets.r3d import read_plan, room_instances
from model_code.evaluation import metrics
from model_code.geometry import raster
from model_code.geometry.vectorize import vectorize
from model_code.schema import Annotation

# R3D room colours (dataset README) -> the name_hint an annotator types
ROOM_NAMES = {
    (192, 192, 224): "closet",
    (192, 255, 255): "bathroom",
    (224, 255, 192): "living room",
    (255, 224, 128): "bedroom",
    (255, 160, 96): "hall",
    (255, 224, 224): "balcony",
    (224, 224, 224): "room",
    (224, 224, 128): "room",
}
# Modelled seconds a person needs per action (locate, click, type); stated, not measured.
HUMAN_SECONDS = {
    "review": 1.0,  # look at one pre-annotated element and decide
    "delete": 2.5,
    "add_wall": 4.0,
    "add_opening": 4.0,
    "name_room": 4.0,
    "add_room_vertex": 1.5,
    "reclick": 0.5,  # click again on the same spot to reach the element beneath
    "zoom_retry": 2.0,
    "fix_problem": 4.0,
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
]
NEAR_PX = 4.0  # a segment is "on" a mask when its samples lie within this distance


@dataclass
class Truth:
    """The R3D ground truth of the plan, as masks and as the vectors an annotator would draw."""

    wall: np.ndarray
    opening: np.ndarray
    rooms_rgb: np.ndarray
    room_labels: np.ndarray
    walls: list = field(default_factory=list)
    openings: list = field(default_factory=list)


def load_truth(folder: Path, plan_id: str) -> Truth:
    """Masks from R3D and their vectorization (the walls and doors a person would draw)."""
    plan = read_plan(folder, plan_id)
    if plan.rooms_rgb is None:
        raise SystemExit(f"plan {plan_id} has no _rooms.png")
    vectors = vectorize(plan.wall, plan.opening)
    labels = room_instances(plan.rooms_rgb, plan.wall | plan.opening)
    return Truth(plan.wall, plan.opening, plan.rooms_rgb, labels, vectors.walls, vectors.openings)


def _fraction_near(start, end, distance: np.ndarray, samples: int = 20) -> float:
    """Share of points along a segment lying within NEAR_PX of a mask (``distance`` = its EDT)."""
    height, width = distance.shape
    t = np.linspace(0.0, 1.0, samples)
    xs = np.clip(np.rint(start[0] + t * (end[0] - start[0])).astype(int), 0, width - 1)
    ys = np.clip(np.rint(start[1] + t * (end[1] - start[1])).astype(int), 0, height - 1)
    return float(np.mean(distance[ys, xs] <= NEAR_PX))


def _distance_to(mask: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)


def _segment_mask(items: list[dict], shape: tuple[int, int]) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    for item in items:
        a = tuple(round(v) for v in item["start"])
        b = tuple(round(v) for v in item["end"])
        cv2.line(canvas, a, b, 1, 1)
    return canvas.astype(bool)


def room_name_at(truth: Truth, polygon: list) -> str | None:
    """The R3D room type under most of a polygon, or None when it lies mostly outside rooms."""
    mask = np.zeros(truth.wall.shape, np.uint8)
    cv2.fillPoly(mask, [np.rint(np.asarray(polygon)).astype(np.int32)], 1)
    colours = truth.rooms_rgb[mask.astype(bool)]
    if not len(colours):
        return None
    votes = Counter(ROOM_NAMES.get(tuple(int(v) for v in c[:3])) for c in colours)
    name, count = votes.most_common(1)[0]
    return name if name is not None and count >= 0.5 * len(colours) else None


def scores(doc: dict, truth: Truth) -> dict[str, float]:
    """Tolerant wall/opening F1 and room F1 at IoU 0.5 of an annotation against the masks."""
    annotation = Annotation.from_dict(doc)
    shape = truth.wall.shape
    wall, opening = raster.rasterize_plan(annotation.walls, annotation.openings, shape)
    rooms = metrics.room_scores(raster.rasterize_rooms(annotation.rooms, shape), truth.room_labels, (0.5,))
    return {
        "wall_f1": round(metrics.tolerant_f1(wall, truth.wall), 3),
        "opening_f1": round(metrics.tolerant_f1(opening, truth.opening), 3),
        "room_f1": round(rooms[0.5].f1, 3),
        "named_rooms": sum(bool(r.get("name_hint")) for r in doc["rooms"]),
    }


class Session:
    """The editor page, driven as a person would, with every action counted."""

    def __init__(self, page):
        self.page = page
        self.actions: Counter = Counter()

    def doc(self) -> dict:
        return self.page.evaluate("window.annotate.doc")

    def client(self, x: float, y: float) -> tuple[float, float]:
        return tuple(self.page.evaluate(f"window.annotate.toClient({x}, {y})"))

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.client(x, y))

    def _selected(self, kind: str, element_id: str) -> bool:
        selection = self.page.evaluate("window.annotate.selection")
        return bool(selection) and selection["kind"] == kind and str(selection["id"]) == str(element_id)

    def select(self, kind: str, element_id: str, point) -> bool:
        """Click an element; click again (the editor cycles through what lies beneath), then zoom."""
        for zoom in range(3):
            for _ in range(4):
                self.click(*point)
                if self._selected(kind, element_id):
                    if zoom:
                        self.page.keyboard.press("f")
                    return True
                self.actions["reclick"] += 1
            self.actions["zoom_retry"] += 1
            self.page.mouse.move(*self.client(*point))
            self.page.mouse.wheel(0, -300)
            self.page.wait_for_timeout(50)
        self.page.keyboard.press("f")
        return False

    def delete(self, kind: str, element_id: str, point) -> None:
        if self.select(kind, element_id, point):
            self.page.keyboard.press("Delete")
            self.actions["delete"] += 1

    def draw_segment(self, tool_key: str, start, end, action: str) -> None:
        self.page.keyboard.press(tool_key)
        self.click(*start)
        self.click(*end)
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Escape")
        self.actions[action] += 1

    def name_selected_room(self, name: str) -> None:
        self.page.fill("#room-name", name)
        self.page.keyboard.press("Enter")
        self.actions["name_room"] += 1


def _midpoint(item: dict) -> tuple[float, float]:
    return ((item["start"][0] + item["end"][0]) / 2, (item["start"][1] + item["end"][1]) / 2)


def correct_walls(session: Session, truth: Truth) -> None:
    """Delete walls that are not on the true wall mask; draw the true walls nobody found."""
    near_wall = _distance_to(truth.wall)
    for wall in session.doc()["walls"]:
        if _fraction_near(wall["start"], wall["end"], near_wall) < 0.5:
            session.delete("walls", wall["id"], _midpoint(wall))
    session.page.keyboard.press("v")
    have = _distance_to(_segment_mask(session.doc()["walls"], truth.wall.shape))
    for wall in truth.walls:
        if wall.length >= 15 and _fraction_near(wall.start, wall.end, have) < 0.5:
            session.draw_segment("w", wall.start, wall.end, "add_wall")


def correct_openings(session: Session, truth: Truth) -> None:
    """Delete openings off the true opening mask; draw the missing doors and windows."""
    near_opening = _distance_to(truth.opening)
    session.page.keyboard.press("v")
    for opening in session.doc()["openings"]:
        if _fraction_near(opening["start"], opening["end"], near_opening) < 0.5:
            session.delete("openings", opening["id"], _midpoint(opening))
    have = _distance_to(_segment_mask(session.doc()["openings"], truth.wall.shape))
    for opening in truth.openings:
        if opening.length >= 6 and _fraction_near(opening.start, opening.end, have) < 0.5:
            session.draw_segment("d", opening.start, opening.end, "add_opening")


def correct_rooms(session: Session, truth: Truth) -> None:
    """Name every room the backend found, delete the non-rooms, draw the rooms it missed."""
    session.page.keyboard.press("v")
    for room in session.doc()["rooms"]:
        polygon = room.get("polygon") or []
        if len(polygon) < 3:
            continue
        inside = Polygon(polygon).representative_point().coords[0]
        name = room_name_at(truth, polygon)
        if name is None:
            session.delete("rooms", room["id"], inside)
        elif session.select("rooms", room["id"], inside):
            session.name_selected_room(name)
    found = raster.rasterize_rooms(Annotation.from_dict(session.doc()).rooms, truth.wall.shape)
    matrix = metrics.room_iou_matrix(metrics.relabel(found), truth.room_labels)
    min_area = 0.002 * truth.wall.size
    for label in range(1, int(truth.room_labels.max()) + 1):
        if matrix.shape[0] and matrix[:, label - 1].max() >= 0.5:
            continue
        region = (truth.room_labels == label).astype(np.uint8)
        if region.sum() < min_area:
            continue
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        contour = max(contours, key=cv2.contourArea)
        corners = cv2.approxPolyDP(contour, 0.01 * cv2.arcLength(contour, True), True).reshape(-1, 2)
        if len(corners) < 3:
            continue
        session.page.keyboard.press("p")
        session.page.keyboard.down("Shift")  # corners where clicked: no snapping onto wall ends
        for x, y in corners:
            session.click(float(x), float(y))
            session.actions["add_room_vertex"] += 1
        session.page.keyboard.up("Shift")
        session.page.keyboard.press("Enter")
        session.name_selected_room(room_name_at(truth, corners.tolist()) or "room")
        session.page.keyboard.press("Escape")
    session.page.keyboard.press("v")


def validate(session: Session) -> int:
    """Press Validate; delete what it points at until the plan is validated. Returns fixes made."""
    for fixes in range(30):
        session.page.click("#btn-validate")
        session.page.wait_for_function("!document.getElementById('btn-validate').disabled")
        if session.page.locator("#plan-state").inner_text() == "validated":
            return fixes
        session.page.click("#problems li")
        if session.page.evaluate("window.annotate.selection") is None:
            raise RuntimeError(f"cannot fix: {session.page.locator('#problems li').first.inner_text()}")
        session.page.keyboard.press("Delete")
        session.actions["fix_problem"] += 1
    raise RuntimeError("still not valid after 30 fixes")


def scratch_seconds(doc: dict) -> float:
    """Modelled time to draw the final annotation from nothing with the same per-action costs."""
    corners = sum(len(r.get("polygon") or [0] * 4) for r in doc["rooms"])
    return (
        len(doc["walls"]) * HUMAN_SECONDS["add_wall"]
        + len(doc["openings"]) * HUMAN_SECONDS["add_opening"]
        + corners * HUMAN_SECONDS["add_room_vertex"]
        + len(doc["rooms"]) * HUMAN_SECONDS["name_room"]
    )


def run(
    folder: Path,
    plan_id: str,
    backend: str,
    model_dir: str | None,
    screenshot: Path | None,
    keep: bool = False,
    views: int = 1,
) -> dict:
    """The whole measured session; returns the numbers."""
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    truth = load_truth(folder, plan_id)
    work = Path(tempfile.mkdtemp(prefix="annotate_r3d_"))
    shutil.copy(folder / f"{plan_id}.jpg", work / f"{plan_id}.jpg")
    server = make_server(
        "127.0.0.1", 0, create_app(work, backend=backend, model_dir=model_dir, views=views), threaded=True
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("dialog", lambda dialog: dialog.accept())
            session = Session(page)
            started = time.perf_counter()
            page.goto(f"{url}/plan/{plan_id}")
            page.wait_for_selector("body[data-ready=true]")
            page.select_option("#backend", backend)
            page.click("#btn-preannotate")
            page.wait_for_function("document.getElementById('plan-state').textContent !== 'not started'")
            preannotated_s = time.perf_counter() - started
            before = session.doc()
            if page.locator("#plan-state").inner_text() != "pre-annotated":
                raise RuntimeError(page.locator("#banner-text").inner_text())
            session.actions["review"] = len(before["walls"]) + len(before["openings"]) + len(before["rooms"])
            correct_walls(session, truth)
            correct_openings(session, truth)
            correct_rooms(session, truth)
            page.evaluate("window.annotate.save()")
            page.wait_for_function("!window.annotate.dirty")
            fixes = validate(session)
            scripted_s = time.perf_counter() - started
            if screenshot:
                page.screenshot(path=str(screenshot))
            browser.close()
    finally:
        server.shutdown()
    after = json.loads((work / f"{plan_id}.json").read_text())
    if not keep:
        shutil.rmtree(work)
    human = sum(HUMAN_SECONDS[k] * n for k, n in session.actions.items())
    height, width = truth.wall.shape
    return {
        "plan": plan_id,
        "size": [width, height],
        "backend": backend,
        "preannotated": {k: len(before[k]) for k in ("walls", "openings", "rooms")},
        "final": {k: len(after[k]) for k in ("walls", "openings", "rooms")},
        "actions": dict(session.actions),
        "validation_fixes": fixes,
        "preannotation_s": round(preannotated_s, 2),
        "scripted_session_s": round(scripted_s, 1),
        "modelled_human_min": round(human / 60, 1),
        "modelled_from_scratch_min": round(scratch_seconds(after) / 60, 1),
        "scores_before": scores(before, truth),
        "scores_after": scores(after, truth),
        "work_folder": str(work) if keep else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "folder", type=Path, help="R3D folder (<id>.jpg, <id>_wall.png, <id>_close.png, <id>_rooms.png)"
    )
    parser.add_argument("plan_ids", nargs="+", help="plan ids to correct, one session each")
    parser.add_argument("--backend", choices=("opencv", "unet"), default="opencv")
    parser.add_argument("--model-dir", default=None, help="U-Net checkpoint for --backend unet")
    parser.add_argument("--views", type=int, choices=(1, 2, 4), default=1, help="U-Net views averaged")
    parser.add_argument("--screenshot", type=Path, default=None, help="save the corrected editor here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (corrected JSON)")
    args = parser.parse_args(argv)
    if shutil.which("chromium") is None:
        print("error: Debian chromium is not installed", file=sys.stderr)
        return 2
    for plan_id in args.plan_ids:
        if not (args.folder / f"{plan_id}.jpg").is_file():
            print(f"error: no {plan_id}.jpg in {args.folder}", file=sys.stderr)
            return 2
        print(
            json.dumps(
                run(args.folder, plan_id, args.backend, args.model_dir, args.screenshot, views=args.views)
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
