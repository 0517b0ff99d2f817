"""The ground truth of one plan, whatever the dataset layout.

Pixel masks always (R3D masks, a channel-layout grey mask, or rasterised annotation JSON);
vector walls, openings and rooms when an annotation JSON exists; room instances from R3D
``_rooms.png`` (colour components cut by walls) or a synthetic ``rooms/<stem>.png``
(16-bit instance ids); the room-type map (:mod:`model_code.datasets.room_maps`) that the
dataset reader gives, or, for a ``rooms/`` instance image beside an annotation (``floorplan
synth``'s layout: id ``k`` is the annotation's room ``k``), one made from those rooms' types
and names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from model_code.datasets.layouts import Sample
from model_code.io.images import read_image
from model_code.schema import Annotation


class GroundTruthError(ValueError):
    """A plan's ground truth cannot be read or does not match its image."""


@dataclass
class GroundTruth:
    """Everything one plan is scored against; optional parts are None when the layout lacks them."""

    stem: str
    image: np.ndarray  # (H, W, 3) uint8 RGB
    wall: np.ndarray  # (H, W) bool
    opening: np.ndarray  # (H, W) bool
    annotation: Annotation | None = None
    room_labels: np.ndarray | None = None  # (H, W) int32, 0 = not a room
    room_type: np.ndarray | None = None  # (H, W) uint8 room-type map (datasets.room_maps), None: no types

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the plan."""
        return self.wall.shape


def read_instance_labels(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Read a 16-bit (or 8-bit) PNG of room instance ids as ``int32`` labels of ``shape``."""
    with Image.open(path) as image:
        labels = np.asarray(image).astype(np.int32)
    if labels.ndim != 2:
        raise GroundTruthError(f"room label image {path} must have one channel, got shape {labels.shape}")
    if labels.shape != tuple(shape):
        raise GroundTruthError(f"room label image {path} is {labels.shape}, its plan is {tuple(shape)}")
    return labels


def room_labels_for(sample: Sample, wall: np.ndarray) -> np.ndarray | None:
    """Room instances of a sample: R3D colour rooms cut by walls, or synthetic instance ids."""
    if sample.rooms_path is None:
        return None
    if sample.layout == "r3d":
        from model_code.datasets.r3d import room_instances

        colours = read_image(sample.rooms_path)
        if colours.shape[:2] != wall.shape:
            colours = cv2.resize(colours, (wall.shape[1], wall.shape[0]), interpolation=cv2.INTER_NEAREST)
        return room_instances(colours, wall)
    return read_instance_labels(sample.rooms_path, wall.shape)


def room_types_for(
    type_map: np.ndarray | None, rooms: np.ndarray | None, annotation: Annotation | None
) -> np.ndarray | None:
    """The dataset's room-type map, else one from instance ids that index the annotation's rooms."""
    if type_map is not None or rooms is None or annotation is None or not annotation.rooms:
        return type_map
    if int(rooms.max(initial=0)) > len(annotation.rooms):
        return None  # the ids do not index the annotation's rooms
    from model_code.datasets.room_maps import label_type_map
    from model_code.schema import ROOM_TYPES

    names = [r.type if r.type in ROOM_TYPES else r.name_hint for r in annotation.rooms]
    return label_type_map(rooms, names)


def load_ground_truth(sample: Sample) -> GroundTruth:
    """Read a sample's image and all the ground truth its layout provides."""
    try:
        plan = sample.load()
        annotation = sample.load_annotation()
        rooms = room_labels_for(sample, plan.wall)
    except GroundTruthError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise GroundTruthError(f"cannot read plan {sample.stem}: {exc}") from exc
    return GroundTruth(
        stem=sample.stem,
        image=plan.image,
        wall=plan.wall,
        opening=plan.opening,
        annotation=annotation,
        room_labels=rooms,
        room_type=room_types_for(plan.room_type, rooms, annotation),
    )
