"""Independent checks of synthetic ground truth, written without the generator's own code."""

from __future__ import annotations

import json
from collections import deque

import numpy as np
from matplotlib.path import Path
from shapely.geometry import Point, Polygon

from model_code.schema import Annotation, validate_annotation
from model_code.synth import SynthPlan, rasterize_annotation
from model_code.synth.generator import to_annotation
from model_code.synth.layout import Layout, generate_layout
from model_code.synth.raster import wall_and_opening_masks
from model_code.synth.styles import STYLE_TABLE, Look, layout_params, realise


def round_trip(annotation: Annotation) -> Annotation:
    """Serialise to JSON text, validate against the schema and parse back."""
    data = json.loads(json.dumps(annotation.to_dict()))
    validate_annotation(data)
    return Annotation.from_dict(data)


def band(start, end, thickness: float, cap: float) -> np.ndarray:
    """Corners of the band of ``thickness`` around ``start``-``end``, extended ``cap`` at both ends."""
    p, q = np.asarray(start, float), np.asarray(end, float)
    u = (q - p) / np.linalg.norm(q - p)
    n = np.array([-u[1], u[0]]) * thickness / 2
    a, b = p - u * cap, q + u * cap
    return np.array([a + n, b + n, b - n, a - n])


def centre_rule_fill(polygons: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre (x=col, y=row) lies inside any polygon (matplotlib point-in-polygon)."""
    mask = np.zeros(shape, bool)
    for poly in polygons:
        x0, y0 = np.floor(poly.min(axis=0)).astype(int)
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int)
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, shape[1] - 1), min(y1, shape[0] - 1)
        if x1 < x0 or y1 < y0:
            continue
        yy, xx = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
        inside = Path(poly).contains_points(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
        mask[y0 : y1 + 1, x0 : x1 + 1] |= inside
    return mask


def independent_masks(annotation: Annotation, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Wall and opening masks by the documented rule, computed with matplotlib instead of the project code."""
    walls = [band(w.start, w.end, w.thickness, w.thickness / 2) for w in annotation.walls]
    openings = [band(o.start, o.end, o.thickness, 0.0) for o in annotation.openings]
    opening = centre_rule_fill(openings, shape)
    wall = centre_rule_fill(walls, shape) & ~opening
    return wall, opening


def axis_aligned(wall) -> bool:
    """True for a wall drawn along x or y: its faces lie between pixel centres, so the rule is exact."""
    return wall.start[0] == wall.end[0] or wall.start[1] == wall.end[1]


def rerasterised(plan: SynthPlan) -> tuple[Annotation, np.ndarray, np.ndarray]:
    """Save ``plan``'s annotation as JSON, rasterise it back and assert it gives the plan's wall,
    opening and room masks exactly; returns the saved annotation and its independent wall and
    opening masks (:func:`independent_masks`) for the caller's own checks."""
    annotation = round_trip(plan.annotation)  # schema-valid, rounded to 0.01 px like any saved file
    height, width = plan.wall_mask.shape
    wall, opening, labels = rasterize_annotation(annotation, height, width)
    assert np.array_equal(wall, plan.wall_mask)
    assert np.array_equal(opening, plan.opening_mask)
    assert np.array_equal(labels, plan.room_labels)
    return annotation, *independent_masks(annotation, (height, width))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def region_at(point: np.ndarray, rooms: list[Polygon]) -> int:
    """Index of the room polygon containing ``point``, or -1 for outside every room."""
    p = Point(float(point[0]), float(point[1]))
    for index, room in enumerate(rooms):
        if room.contains(p):
            return index
    return -1


def indoor_rooms(annotation: Annotation) -> set[int]:
    """Indices of the rooms inside the building (all but the terraces drawn outside it)."""
    return {k for k, room in enumerate(annotation.rooms) if room.type != "balcony"}


def door_graph(annotation: Annotation) -> tuple[dict[int, set[int]], list[tuple[str, int, int]]]:
    """Regions on both sides of every door or passage: adjacency (``-1`` = outside) and the raw sides.

    A terrace drawn outside the building (a ``balcony`` room of the truth) counts as the outside."""
    rooms = [Polygon(r.polygon) for r in annotation.rooms]
    outdoor = set(range(len(rooms))) - indoor_rooms(annotation)
    graph: dict[int, set[int]] = {i: set() for i in range(-1, len(rooms))}
    sides = []
    for opening in annotation.openings:
        a, b = np.asarray(opening.start), np.asarray(opening.end)
        u = (b - a) / np.linalg.norm(b - a)
        n = np.array([-u[1], u[0]])
        mid = (a + b) / 2
        reach = opening.thickness / 2 + 2.0
        left, right = (region_at(mid + side * n * reach, rooms) for side in (1, -1))
        left, right = (-1 if region in outdoor else region for region in (left, right))
        sides.append((opening.type, left, right))
        if opening.type in ("door", "opening"):
            graph[left].add(right)
            graph[right].add(left)
    return graph, sides


def reachable_from_outside(graph: dict[int, set[int]]) -> set[int]:
    """Rooms reachable from the outside (-1) through doors and passages (breadth-first)."""
    seen, queue = {-1}, deque([-1])
    while queue:
        node = queue.popleft()
        for other in graph[node]:
            if other not in seen:
                seen.add(other)
                queue.append(other)
    seen.discard(-1)
    return seen


def drawn_layout(
    style: str, seed: int, width: int, height: int, margin: int
) -> tuple[Layout, np.ndarray, Look]:
    """A layout of ``style`` (seed ``seed``, ``width`` x ``height`` px, the building ``margin`` px
    inside the borders, bays at most 10 px deep), its exact wall mask and a realised look, drawn from
    one random stream in that order: for tests that paint walls on a canvas and compare with the mask."""
    rng = np.random.default_rng(seed)
    table = STYLE_TABLE[style]
    layout = generate_layout(rng, width, height, layout_params(rng, table), margin, 10.0)
    annotation = to_annotation(layout, "x")
    wall_mask, _ = wall_and_opening_masks(annotation.walls, annotation.openings, height, width)
    return layout, wall_mask, realise(rng, table, width)
