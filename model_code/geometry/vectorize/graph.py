"""Wall mask -> skeleton pixel graph (junctions and ends as nodes, pixel paths as edges).

The graph is built with whole-image OpenCV/scikit-image operations rather than a walk over
pixels: junction pixels (three or more skeleton neighbours) are labelled into clusters, the
remaining skeleton pixels fall apart into simple paths, and each path is put in order by
tracing its outline with :func:`cv2.findContours` (the outline of a one-pixel path visits it
end to end and back).  Python loops run only over edges, never over pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage.morphology import skeletonize

from model_code.geometry.components import remove_small

_NEIGHBOURS = np.ones((3, 3), np.float32)


@dataclass
class SkeletonGraph:
    """Nodes (junction centroids and free ends) and edges (ordered pixel paths).

    ``nodes`` is an ``(N, 2)`` float array of ``(x, y)``; ``edges`` maps an edge id to
    ``(node_a, node_b, path)`` where ``path`` is a ``(K, 2)`` float array from node_a to node_b
    (both node positions included).
    """

    nodes: np.ndarray
    edges: dict[int, tuple[int, int, np.ndarray]] = field(default_factory=dict)

    def degree(self) -> np.ndarray:
        """Number of edge ends at each node (a self-loop counts twice)."""
        deg = np.zeros(len(self.nodes), np.int64)
        for a, b, _ in self.edges.values():
            deg[a] += 1
            deg[b] += 1
        return deg


def remove_specks(mask: np.ndarray, min_area: float) -> np.ndarray:
    """Drop 8-connected foreground blobs with fewer than ``min_area`` pixels."""
    return remove_small(mask, min_area, connectivity=8)


def skeleton_of(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide 8-connected skeleton (scikit-image, Zhang's method) as ``bool``."""
    if not mask.any():
        return np.zeros(mask.shape, bool)
    return skeletonize(mask)


# Walls at least this thick (px) are skeletonized at half resolution, where they are still eight
# pixels or more across: thinning peels one layer per pass over the whole window, so halving the
# resolution cuts its cost about eightfold, and every position it gives is refined later on the
# full-resolution mask (line fits, width profiles, junction and end fitting).
HALF_RESOLUTION_THICKNESS = 16.0


def ridge_map(dist: np.ndarray) -> np.ndarray:
    """Largest distance-transform value in each pixel's 3 x 3 neighbourhood (the centreline value nearby)."""
    return cv2.dilate(dist, np.ones((3, 3), np.uint8))


def ridge_thickness(dist: np.ndarray, ridge: np.ndarray) -> float:
    """Quick typical wall thickness before any skeleton: median over the distance transform's ridge."""
    peaks = (dist >= ridge) & (dist > 0)
    if not peaks.any():
        return 0.0
    return float(np.maximum(2.0 * np.median(dist[peaks]) - 0.5, 1.0))


def skeleton_factor(wall_thickness: float, limit: float | None = None) -> int:
    """1 (full resolution) or 2 (half resolution) for skeletonizing walls of this typical thickness.

    ``limit`` is the thickness from which half resolution is used (default
    :data:`HALF_RESOLUTION_THICKNESS`).
    """
    return 2 if wall_thickness >= (HALF_RESOLUTION_THICKNESS if limit is None else limit) else 1


def downscale_mask(mask: np.ndarray, factor: int) -> np.ndarray:
    """``mask`` reduced by ``factor`` in 2 x 2 (for 2) blocks: a block is set when half of it is."""
    if factor == 1:
        return mask
    height, width = mask.shape
    padded = np.pad(mask.view(np.uint8) * np.uint8(255), ((0, (-height) % factor), (0, (-width) % factor)))
    small = cv2.resize(
        padded,
        (padded.shape[1] // factor, padded.shape[0] // factor),
        interpolation=cv2.INTER_AREA,
    )
    # INTER_AREA averages each block: 2 of 4 set pixels give 127.5, rounded to 127 or 128
    return small >= 127


def block_max_at(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, factor: int) -> np.ndarray:
    """Largest value of ``values`` in the ``factor`` x ``factor`` block of each reduced pixel (row, col)."""
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    if factor == 1:
        return values[rows, cols]
    height, width = values.shape
    out = np.full(len(rows), -np.inf)
    for dy in range(factor):
        for dx in range(factor):
            ys = np.minimum(rows * factor + dy, height - 1)
            xs = np.minimum(cols * factor + dx, width - 1)
            out = np.maximum(out, values[ys, xs])
    return out


def scale_graph(graph: SkeletonGraph, factor: int) -> SkeletonGraph:
    """Graph of a ``factor``-times reduced skeleton in full-resolution pixel coordinates (in place).

    Path points stay ``factor`` pixels apart; steps that count path points take that spacing.
    """
    if factor == 1:
        return graph
    offset = (factor - 1) / 2.0  # centre of the block of full-resolution pixels
    graph.nodes = graph.nodes * factor + offset
    graph.edges = {k: (a, b, path * factor + offset) for k, (a, b, path) in graph.edges.items()}
    return graph


def _neighbour_count(binary: np.ndarray) -> np.ndarray:
    """For every pixel, how many of its 8 neighbours are set (border counts as unset)."""
    counts = cv2.filter2D(binary.astype(np.float32), -1, _NEIGHBOURS, borderType=cv2.BORDER_CONSTANT)
    return np.rint(counts).astype(np.int16) - binary.astype(np.int16)


def _ordered_paths(edge_pixels: np.ndarray) -> list[np.ndarray]:
    """Each 8-connected component of a graph-free skeleton as an ordered ``(K, 2)`` int (x, y) path.

    A path with two ends is returned end to end; a closed ring is returned with its first
    point repeated at the end.
    """
    degree = _neighbour_count(edge_pixels)
    # CCOMP: every component's outer boundary is at the top level, even inside another's hole
    contours, hierarchy = cv2.findContours(edge_pixels.view(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    paths = []
    outer = [c for c, h in zip(contours, hierarchy[0], strict=True) if h[3] < 0] if contours else []
    for contour in outer:
        pts = contour[:, 0, :]
        if len(pts) == 1:
            paths.append(pts.copy())
            continue
        ends = np.flatnonzero(degree[pts[:, 1], pts[:, 0]] <= 1)
        if len(ends) >= 2:
            first, second = int(ends[0]), int(ends[1])
            paths.append(pts[first : second + 1].copy())
        elif len(ends) == 1:  # a lasso-like shape: walk from the single end all the way round
            rolled = np.roll(pts, -int(ends[0]), axis=0)
            paths.append(rolled[: len(rolled) // 2 + 1].copy())
        else:
            paths.append(np.vstack([pts, pts[:1]]))
    return paths


def _cluster_junctions(ys: np.ndarray, xs: np.ndarray) -> tuple[dict[tuple[int, int], int], np.ndarray]:
    """8-connected clusters of the (few) junction pixels: ``{(x, y): cluster}`` and centroids ``(K, 2)``.

    Junction pixels are sparse, so a union-find over their coordinates is far cheaper than
    labelling a whole-image array.
    """
    index = {(int(x), int(y)): k for k, (x, y) in enumerate(zip(xs, ys, strict=True))}
    parent = list(range(len(index)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for (x, y), k in index.items():
        for dx, dy in ((1, 0), (-1, 1), (0, 1), (1, 1)):
            other = index.get((x + dx, y + dy))
            if other is not None:
                parent[find(other)] = find(k)
    roots = np.array([find(k) for k in range(len(parent))], np.int64)
    _, cluster = np.unique(roots, return_inverse=True)
    count = int(cluster.max()) + 1 if cluster.size else 0
    weights = np.maximum(np.bincount(cluster, minlength=count), 1)
    centroids = np.stack(
        [np.bincount(cluster, xs, count) / weights, np.bincount(cluster, ys, count) / weights], axis=1
    )
    labels = {key: int(cluster[k]) for key, k in index.items()}
    return labels, centroids.reshape(-1, 2)


def _touching_cluster(labels: dict[tuple[int, int], int], x: int, y: int) -> int:
    """The junction cluster among the 8 neighbours of ``(x, y)`` (or the pixel itself), else -1."""
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            found = labels.get((x + dx, y + dy))
            if found is not None:
                return found
    return -1


def build_graph(skeleton: np.ndarray) -> SkeletonGraph:
    """Turn a one-pixel skeleton into a :class:`SkeletonGraph`."""
    skeleton = np.asarray(skeleton, bool)
    degree = _neighbour_count(skeleton)
    junctions = skeleton & (degree >= 3)
    ys, xs = np.nonzero(junctions)
    junction_labels, centroids = _cluster_junctions(ys, xs)
    nodes: list[tuple[float, float]] = [(float(x), float(y)) for x, y in centroids]  # node id = cluster
    graph = SkeletonGraph(nodes=np.zeros((0, 2)))
    edge_pixels = skeleton & ~junctions
    for pixel_path in _ordered_paths(edge_pixels):
        closed = len(pixel_path) > 2 and np.array_equal(pixel_path[0], pixel_path[-1])
        head, tail = pixel_path[0], pixel_path[-1]
        a_label = _touching_cluster(junction_labels, int(head[0]), int(head[1]))
        b_label = _touching_cluster(junction_labels, int(tail[0]), int(tail[1]))
        path = pixel_path.astype(np.float64)
        if a_label >= 0:
            node_a = a_label
            path = np.vstack([centroids[a_label], path])
        else:
            nodes.append((float(head[0]), float(head[1])))
            node_a = len(nodes) - 1
        if closed and a_label < 0:
            node_b = node_a
        elif b_label >= 0:
            node_b = b_label
            path = np.vstack([path, centroids[b_label]])
        else:
            nodes.append((float(tail[0]), float(tail[1])))
            node_b = len(nodes) - 1
        graph.edges[len(graph.edges)] = (node_a, node_b, path)
    graph.nodes = np.asarray(nodes, np.float64).reshape(-1, 2)
    return graph


def path_length(path: np.ndarray) -> float:
    """Polyline length of a ``(K, 2)`` path."""
    if len(path) < 2:
        return 0.0
    return float(np.hypot(*np.diff(path, axis=0).T).sum())


def prune_spurs(
    graph: SkeletonGraph,
    local_thickness: np.ndarray,
    factor: float,
    protected: np.ndarray | None = None,
    rounds: int = 3,
) -> None:
    """Remove spurs in place: edges from a junction to a free end shorter than ``factor`` x thickness.

    ``local_thickness[i]`` is the wall thickness at node ``i``; a free end with
    ``protected[i]`` (it touches a door or window) is a real wall piece, never a spur.  Spurs
    of spurs are removed in later rounds; an isolated edge (two free ends) is kept here and
    judged by length later.  A junction is never stripped below two edges.
    """
    for _ in range(rounds):
        degree = graph.degree()
        removed = False
        for edge_id in list(graph.edges):
            a, b, path = graph.edges[edge_id]
            if a == b or (degree[a] == 1) == (degree[b] == 1):
                continue
            junction = a if degree[a] > 1 else b
            tip = b if junction == a else a
            if degree[junction] <= 2 or (protected is not None and protected[tip]):
                continue
            if path_length(path) < factor * max(float(local_thickness[junction]), 1.0):
                del graph.edges[edge_id]
                degree[a] -= 1
                degree[b] -= 1
                removed = True
        if not removed:
            return


def merge_pass_through(graph: SkeletonGraph) -> None:
    """Join the two edges at every node of degree 2 into one edge (in place)."""
    incident: dict[int, set[int]] = {}
    for edge_id, (a, b, _) in graph.edges.items():
        incident.setdefault(a, set()).add(edge_id)
        incident.setdefault(b, set()).add(edge_id)
    for node in list(incident):
        ids = incident[node]
        if len(ids) != 2:
            continue
        first, second = sorted(ids)
        a1, b1, p1 = graph.edges[first]
        a2, b2, p2 = graph.edges[second]
        if a1 == b1 or a2 == b2:
            continue
        if b1 != node:
            a1, b1, p1 = b1, a1, p1[::-1]
        if a2 != node:
            a2, b2, p2 = b2, a2, p2[::-1]
        del graph.edges[second]
        graph.edges[first] = (a1, b2, np.vstack([p1, p2[1:]]))
        incident[node] = set()
        incident[b2].discard(second)
        incident[b2].add(first)
