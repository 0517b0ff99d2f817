"""Room-type maps: the ground truth of the network's room-type channels, from every dataset layout.

A room-type map is an ``(H, W)`` ``uint8`` image: ``TYPE_NONE`` (0) is outside any room (walls,
the outside, the sheet), ``k`` in ``1..len(ROOM_TYPES)`` a room of type ``ROOM_TYPES[k - 1]``,
and ``TYPE_UNKNOWN`` (255) a pixel whose type the truth does not say (an unnamed room, a colour
outside the R3D legend); the loss ignores those pixels.

* R3D: the room-colour image, by the legend of the dataset's README;
* the customers' annotations: each room's polygon (else its bounding box) filled with the type its
  ``name_hint`` names (:func:`model_code.schema.room_type_of_name`), unknown where no name maps, and
  unknown outside every room (annotations need not list every room);
* generated plans: the generator's room labels and kinds.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from model_code.datasets.r3d import NOISE_MAX
from model_code.schema import ROOM_TYPES, Annotation, room_type_of_name

TYPE_NONE = 0
TYPE_UNKNOWN = 255

# The R3D legend (README): colour -> vocabulary type.  Colours not listed (224,224,224 and
# 224,224,128, present in some masks but not in the legend) are rooms of unknown type.
R3D_ROOM_COLOURS: dict[tuple[int, int, int], str] = {
    (192, 192, 224): "closet",
    (192, 255, 255): "bathroom",
    (224, 255, 192): "living",
    (255, 224, 128): "bedroom",
    (255, 160, 96): "hall",
    (255, 224, 224): "balcony",
}


def type_index(room_type: str | None) -> int:
    """The map value of a vocabulary type (``None`` or an unknown name: ``TYPE_UNKNOWN``)."""
    return ROOM_TYPES.index(room_type) + 1 if room_type in ROOM_TYPES else TYPE_UNKNOWN


def r3d_type_map(rooms_rgb: np.ndarray) -> np.ndarray:
    """The room-type map of an R3D room-colour image ``(H, W, 3)``."""
    rgb = np.asarray(rooms_rgb)[:, :, :3].astype(np.int32)
    code = (rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2]
    out = np.full(code.shape, TYPE_UNKNOWN, np.uint8)
    dark = rgb.max(axis=2) <= NOISE_MAX  # black and the near-black noise of the R3D masks
    out[dark] = TYPE_NONE
    for (r, g, b), room_type in R3D_ROOM_COLOURS.items():
        out[code == ((r << 16) | (g << 8) | b)] = type_index(room_type)
    return out


def annotation_type_map(annotation: Annotation, width: int, height: int) -> np.ndarray:
    """The room-type map of a customers' annotation (rooms filled by their ``name_hint``'s type)."""
    out = np.full((height, width), TYPE_UNKNOWN, np.uint8)
    for room in annotation.rooms:
        value = type_index(room.type if room.type in ROOM_TYPES else room_type_of_name(room.name_hint))
        if room.polygon:
            points = np.round(np.asarray(room.polygon, np.float64)).astype(np.int32)
            cv2.fillPoly(out, [points], int(value))
        else:
            x0, y0, x1, y1 = (round(float(v)) for v in room.bounding_box)
            out[max(y0, 0) : max(y1, 0) + 1, max(x0, 0) : max(x1, 0) + 1] = value
    return out


def label_type_map(labels: np.ndarray, kinds: Sequence[str | None]) -> np.ndarray:
    """The room-type map of a label image (``0`` = no room, ``k`` = room ``kinds[k - 1]``)."""
    lookup = np.array([TYPE_NONE, *[type_index(room_type_of_name(k)) for k in kinds]], np.uint8)
    labels = np.asarray(labels)
    return lookup[np.clip(labels, 0, len(kinds))]
