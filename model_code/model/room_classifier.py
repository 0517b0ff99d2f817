"""Room types from each room as a whole: features of a detected room and a gradient-boosted classifier.

The network's per-pixel room-type channels need far more training than a CPU gives them (on CPU,
a typed U-Net trained for hours reached 0.53 type accuracy on matched rooms).  A room's type is
also a property of the whole room: its size against the plan's other rooms, its shape, how many
doors it has, whether it lies on the facade, what is drawn inside it (sanitary fixtures, beds,
kitchen counters).  This module computes those :func:`room_features` from the masks every backend
produces and types the rooms with a :class:`RoomClassifier`, a gradient-boosted tree ensemble
trained on the rooms the pipeline detects (``floorplan train-rooms``, :mod:`model_code.training.rooms`).

The classifier is part of a checkpoint: ``room_classifier.safetensors`` beside ``model.safetensors``,
the trees as flat arrays, evaluated here with numpy (a serving worker imports neither torch nor
scikit-learn).  A checkpoint without the file types its rooms from the network's type channels, if
any, as before.

The pipeline measures the features where it traced the rooms, on a copy at most
:data:`FEATURE_SIZE` px on its longest side (:func:`feature_shape`), and lengths are measured in
wall thicknesses, so a room scores alike at any input size.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from model_code.io.files import atomic_write_bytes
from model_code.model.scale import mask_wall_thickness, shape_at

CLASSIFIER_FILE = "room_classifier.safetensors"
CLASSIFIER_SUMMARY_FILE = "room_classifier.json"  # how it was trained and its cross-validated accuracy
FEATURE_VERSION = 1
FEATURE_SIZE = 1024  # longest side (px) of the copy the features are measured on
HOG_SIZE = 32  # a room's grey crop is resized to HOG_SIZE x HOG_SIZE for its gradient histogram
HOG_BINS = 9


@functools.cache
def _hog() -> cv2.HOGDescriptor:
    """OpenCV's HOG of a room's patch: 8 px cells, 2 x 2-cell blocks every 8 px, over the whole HOG_SIZE
    patch. Made on first use: training never needs it, and OpenCV 5 (the lent GPU's) has no HOG."""
    return cv2.HOGDescriptor((HOG_SIZE, HOG_SIZE), (16, 16), (8, 8), (8, 8), HOG_BINS)


# The room's mean colour and its spread.  Still measured (a classifier fitted before the twenty-fourth
# session splits on them, and stays valid), no longer fitted on (``floorplan train-rooms`` leaves them
# out): on R3D they add nothing (grouped 5-fold cross-validation 0.856 with them, 0.857 without), and
# on another paper (grey, beige, a scan's tint) they measure the paper, not the room.
COLOUR_FEATURES = ("red", "green", "blue", "red_spread", "green_spread", "blue_spread")
DARK = 128  # grey level under which a pixel is ink
DEFAULT_THICKNESS = 4.0  # px, when the wall mask is too small to measure

GEOMETRY_FEATURES = (
    "log_area_t2",  # log(area / t^2), t = the plan's wall thickness
    "area_share",  # area / all rooms' area
    "area_vs_median",  # area / the plan's median room area
    "area_rank",  # 0 = the largest room, 1 = the smallest
    "log_elongation",  # log(long / short side of the minimum-area rectangle)
    "solidity",  # area / convex hull area
    "rectangularity",  # area / minimum-area rectangle area
    "inscribed_radius_t",  # largest inscribed disk radius / t
    "log_short_side_t",
    "log_long_side_t",
    "neighbours",  # rooms within two wall thicknesses
    "log_largest_neighbour",  # log(1 + largest neighbour's area / area)
    "outside_share",  # share of the surrounding ring that is no room, wall or opening (facade)
    "openings",  # opening components touching the room
    "opening_share",  # share of the boundary ring that is opening
    "ink_share",  # dark pixels in the room's interior
    "log_ink_parts",  # log(1 + connected dark parts in the interior)
    "red",
    "green",
    "blue",
    "red_spread",
    "green_spread",
    "blue_spread",
    "centre_offset",  # distance of the centroid from all rooms' centroid / sqrt(all rooms' area)
    "room_count",  # rooms in the plan
)


def feature_names() -> list[str]:
    """The names of :func:`room_features`' columns, in order (the gradient histogram last)."""
    cells = (HOG_SIZE // 8 - 1) ** 2 * 4 * HOG_BINS
    return [*GEOMETRY_FEATURES, *(f"hog_{i}" for i in range(cells))]


def _square(side: float) -> np.ndarray:
    """A square structuring element of odd side (rectangular dilation is separable, so fast)."""
    size = max(3, round(side) | 1)
    return np.ones((size, size), np.uint8)


def feature_shape(height: int, width: int) -> tuple[int, int]:
    """The ``(h, w)`` at which the rooms of a ``height x width`` plan are measured (at most FEATURE_SIZE)."""
    if max(height, width) <= FEATURE_SIZE:
        return height, width
    return shape_at(height, width, FEATURE_SIZE / max(height, width))


def room_features(
    rgb: np.ndarray,
    labels: np.ndarray,
    wall: np.ndarray,
    opening: np.ndarray,
    wall_thickness: float | None = None,
) -> np.ndarray:
    """``(K, F)`` float32 features of rooms ``1..K`` of an ``int32`` label image (0 = no room).

    ``rgb`` is the plan ``(H, W, 3)`` uint8, ``wall`` and ``opening`` its ``bool`` masks, all of
    one size (the pipeline measures at :func:`feature_shape`).  A label without pixels (a room lost
    when the plan was shrunk) gets a row of zeros.  ``wall_thickness`` (px; the vectorizer's estimate)
    is the unit of lengths; ``None`` measures it on ``wall``.  Columns: :func:`feature_names`.
    """
    labels = np.asarray(labels, np.int32)
    if rgb.shape[:2] != labels.shape or wall.shape != labels.shape or opening.shape != labels.shape:
        raise ValueError(
            f"image {rgb.shape[:2]}, labels {labels.shape}, wall {wall.shape} "
            f"and opening {opening.shape} differ"
        )
    count = int(labels.max(initial=0))
    out = np.zeros((count, len(feature_names())), np.float32)
    if count == 0:
        return out
    wall = np.ascontiguousarray(wall, bool)
    opening = np.ascontiguousarray(opening, bool)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    t = wall_thickness if wall_thickness and wall_thickness > 0 else mask_wall_thickness(wall)
    t = t or DEFAULT_THICKNESS
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:].astype(np.float64)
    present = areas > 0
    if not present.any():
        return out
    total = areas.sum()
    median = float(np.median(areas[present]))
    rank = np.argsort(np.argsort(-areas)) / max(int(present.sum()) - 1, 1)
    outside = (labels == 0) & ~wall & ~opening
    boxes = ndimage.find_objects(labels)
    centres = np.zeros((count, 2))
    for index, box in enumerate(boxes):
        if box is not None and present[index]:
            moments = cv2.moments((labels[box] == index + 1).view(np.uint8), binaryImage=True)
            centres[index] = (
                moments["m01"] / moments["m00"] + box[0].start,
                moments["m10"] / moments["m00"] + box[1].start,
            )
    centre_y, centre_x = (centres * areas[:, None]).sum(axis=0) / total
    spread = np.sqrt(total)
    ink = grey < DARK
    opening_parts = cv2.connectedComponents(opening.view(np.uint8), connectivity=8)[1]
    near, wide = _square(2 * t), _square(4 * t + 1)
    pad = wide.shape[0] // 2 + 2
    height, width = labels.shape
    for index, box in enumerate(boxes, start=1):
        if box is None or not present[index - 1]:
            continue
        y0, y1 = max(box[0].start - pad, 0), min(box[0].stop + pad, height)
        x0, x1 = max(box[1].start - pad, 0), min(box[1].stop + pad, width)
        crop = labels[y0:y1, x0:x1]
        room = crop == index
        room_u8 = room.view(np.uint8)
        area = areas[index - 1]
        contours, _ = cv2.findContours(room_u8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        contour = max(contours, key=cv2.contourArea)
        side_a, side_b = cv2.minAreaRect(contour)[1]
        long_side, short_side = max(side_a, side_b, 1.0), max(min(side_a, side_b), 1.0)
        hull = max(cv2.contourArea(cv2.convexHull(contour)), 1.0)
        radius = float(cv2.distanceTransform(np.pad(room_u8, 1), cv2.DIST_L2, 3).max())
        ring = cv2.dilate(room_u8, near).view(bool) & ~room
        far_ring = cv2.dilate(room_u8, wide).view(bool) & ~room
        neighbours = np.unique(crop[far_ring])
        neighbours = neighbours[(neighbours > 0) & (neighbours != index)]
        largest = float(areas[neighbours - 1].max()) if neighbours.size else 0.0
        touching = opening_parts[y0:y1, x0:x1][ring]
        interior = cv2.erode(room_u8, near).view(bool)
        dark = ink[y0:y1, x0:x1] & interior
        colour = rgb[y0:y1, x0:x1][room].astype(np.float64) / 255.0
        patch = grey[y0:y1, x0:x1].astype(np.float32)
        patch[~room] = 255.0
        patch = cv2.resize(patch, (HOG_SIZE, HOG_SIZE), interpolation=cv2.INTER_AREA)
        offset = np.hypot(centres[index - 1, 0] - centre_y, centres[index - 1, 1] - centre_x) / spread
        geometry = [
            np.log(area / t**2),
            area / total,
            area / median,
            rank[index - 1],
            np.log(long_side / short_side),
            area / hull,
            area / (long_side * short_side),
            radius / t,
            np.log(short_side / t),
            np.log(long_side / t),
            neighbours.size,
            np.log1p(largest / area),
            float(outside[y0:y1, x0:x1][far_ring].mean()) if far_ring.any() else 0.0,
            np.count_nonzero(np.unique(touching)),
            float(opening[y0:y1, x0:x1][ring].mean()) if ring.any() else 0.0,
            float(dark.sum() / max(int(interior.sum()), 1)),
            np.log1p(cv2.connectedComponents(dark.view(np.uint8), connectivity=8)[0] - 1),
            *colour.mean(axis=0),
            *colour.std(axis=0),
            offset,
            float(present.sum()),
        ]
        gradients = _hog().compute(patch.astype(np.uint8)).ravel()
        out[index - 1] = np.concatenate([np.asarray(geometry, np.float64), gradients])
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def softmax(raw: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``raw / temperature``."""
    scaled = np.asarray(raw, np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    probs = np.exp(scaled)
    return probs / probs.sum(axis=1, keepdims=True)


@dataclass
class RoomClassifier:
    """A gradient-boosted tree ensemble over :func:`room_features`, as flat arrays.

    Tree ``i`` adds to the raw score of class ``tree_class[i]``; its nodes are rows of the
    ``(T, N)`` arrays (padded with leaves): an inner node sends a room left when
    ``features[feature] <= threshold``; a leaf (``left == -1``) adds ``value``.  The class
    probabilities are the softmax of those raw scores (``baseline`` plus the summed leaves) divided
    by ``temperature``, fitted on held-out plans so that a probability means what it says
    (:func:`softmax`).
    """

    classes: list[str]
    baseline: np.ndarray  # (C,) float64
    tree_class: np.ndarray  # (T,) int32
    feature: np.ndarray  # (T, N) int32
    threshold: np.ndarray  # (T, N) float64
    left: np.ndarray  # (T, N) int32, -1 at leaves
    right: np.ndarray  # (T, N) int32
    value: np.ndarray  # (T, N) float64
    feature_version: int = FEATURE_VERSION
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {self.temperature}")
        trees, nodes = self.feature.shape
        for name in ("threshold", "left", "right", "value"):
            if getattr(self, name).shape != (trees, nodes):
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected {(trees, nodes)}")
        if self.baseline.shape != (len(self.classes),) or self.tree_class.shape != (trees,):
            raise ValueError("baseline must have one value per class and tree_class one per tree")
        if trees and (self.tree_class.min() < 0 or self.tree_class.max() >= len(self.classes)):
            raise ValueError("tree_class names a class that does not exist")
        inner = self.left >= 0
        if np.any(self.feature[inner] >= len(feature_names())) or np.any(self.feature[inner] < 0):
            raise ValueError("a tree splits on a feature that room_features does not compute")
        if (
            np.any(self.left[inner] >= nodes)
            or np.any(self.right[inner] >= nodes)
            or np.any(self.right[inner] < 0)
        ):
            raise ValueError("a tree points at a node it does not have")
        # flat node ids for prediction: tree i's node j is i * nodes + j, and a leaf points at itself
        self._roots = (np.arange(trees, dtype=np.int64) * nodes)[:, None]
        flat = np.arange(trees * nodes, dtype=np.int64).reshape(trees, nodes)
        leaf = self.left < 0
        per_class = np.zeros((trees, len(self.classes)))
        per_class[np.arange(trees), self.tree_class] = 1.0
        self._flat = (
            np.where(leaf, flat, self.left + self._roots).ravel(),
            np.where(leaf, flat, self.right + self._roots).ravel(),
            self.feature.ravel(),
            self.threshold.ravel(),
            self.value.ravel(),
            per_class,
        )

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """``(K, C)`` class probabilities for ``(K, F)`` room features."""
        return softmax(self.raw_scores(features), self.temperature)

    def raw_scores(self, features: np.ndarray) -> np.ndarray:
        """``(K, C)`` raw scores (log-odds before the temperature) for ``(K, F)`` room features."""
        x = np.asarray(features, np.float64)
        if x.ndim != 2 or x.shape[1] != len(feature_names()):
            raise ValueError(f"features must be (K, {len(feature_names())}), got {x.shape}")
        left, right, feature, threshold, value, per_class = self._flat
        node = np.repeat(self._roots, x.shape[0], axis=1)  # (T, K): every tree starts at its root
        rows = np.arange(x.shape[0])[None, :]
        for _ in range(self.feature.shape[1]):
            step = np.where(x[rows, feature[node]] <= threshold[node], left[node], right[node])
            if np.array_equal(step, node):
                break
            node = step
        return self.baseline[None, :] + value[node].T @ per_class

    def save(self, directory: str | Path) -> Path:
        """Write :data:`CLASSIFIER_FILE` into a checkpoint ``directory`` (atomically)."""
        from safetensors.numpy import save

        arrays = {
            "baseline": self.baseline.astype(np.float64),
            "tree_class": self.tree_class.astype(np.int32),
            "feature": self.feature.astype(np.int32),
            "threshold": self.threshold.astype(np.float64),
            "left": self.left.astype(np.int32),
            "right": self.right.astype(np.int32),
            "value": self.value.astype(np.float64),
        }
        meta = {
            "classes": json.dumps(self.classes),
            "feature_version": str(self.feature_version),
            "temperature": repr(float(self.temperature)),
        }
        path = Path(directory) / CLASSIFIER_FILE
        atomic_write_bytes(path, save(arrays, metadata=meta))
        return path


class RoomClassifierError(ValueError):
    """A checkpoint's room classifier cannot be read or does not fit this code."""


def load_room_classifier(directory: str | Path) -> RoomClassifier | None:
    """The room classifier of a checkpoint ``directory``, or ``None`` when it has none.

    Raises:
        RoomClassifierError: the file is unreadable or was made for other features.
    """
    path = Path(directory) / CLASSIFIER_FILE
    if not path.is_file():
        return None
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            meta = handle.metadata() or {}
            arrays = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open is no dict)
        version = int(meta.get("feature_version", -1))
        if version != FEATURE_VERSION:
            raise RoomClassifierError(
                f"{path} was trained on room features version {version}; this code computes version "
                f"{FEATURE_VERSION}: retrain it with `floorplan train-rooms`"
            )
        return RoomClassifier(
            classes=list(json.loads(meta["classes"])),
            feature_version=version,
            temperature=float(meta.get("temperature", 1.0)),
            **arrays,
        )
    except RoomClassifierError:
        raise
    except (OSError, KeyError, TypeError, ValueError, SafetensorError) as exc:
        raise RoomClassifierError(f"cannot read the room classifier {path}: {exc}") from exc
