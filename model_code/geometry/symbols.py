"""Solid drawing symbols that a wall mask picks up: north arrows, arrow heads, filled triangles.

A network that has learnt "solid black ink is wall" also fires on the solid symbols of a plan: the
filled triangle of a north arrow, the head of an entrance arrow.  On the R3D validation split these
were the largest wholly false wall components (574 and 789 px against walls of 5.5 px), and they gave
the two documents 2 and 5 spurious walls.  They have a shape no wall has: a wall piece, a column or a
pier is a rectangle, or a union of rectangles joined to other walls; a wall component that is
convex and fills only half of its smallest enclosing rectangle is a triangle.

A component of the wall mask is a **symbol** when all of these hold (lengths in the mask's pixels):

* it is convex: its area is at least :data:`MIN_SOLIDITY` of its convex hull's (an L-shaped or
  T-shaped wall piece is far from convex);
* it fills at most :data:`MAX_RECTANGLE_FILL` of its minimum-area (rotated) rectangle: a triangle
  fills 1/2, a rectangle of any orientation nearly 1, a disk (a round column) pi/4 = 0.79;
* it fills at least :data:`MIN_TRIANGLE_FILL` of its smallest enclosing triangle: a triangle fills
  it (about 1, more for a small one, whose pixels reach past the triangle through their centres), a
  rectangle at most 1/2, a disk 0.60, and a small T-shaped pier between two windows, which the first
  two tests let through, 0.83-0.84;
* it is solid: its largest inscribed disk is at least :data:`MIN_WIDTH` wall thicknesses across and
  :data:`MIN_RADIUS_PX` pixels in radius.  A thin line fills its pixel-rounded rectangle badly
  whatever its shape, so thin pieces are never judged.

A network may mark only part of a symbol: two thirds of a north arrow's triangle is a cut triangle
that fills its enclosing triangle too badly (0.75-0.82) to pass.  So the drawing's own ink is judged
too, when the caller has it (:func:`on_solid_symbols`): a wall component lying mostly on an ink
component that is a solid symbol goes with it.

Chosen on the R3D training share (161 plans: 1,930 false wall pixels removed, no true one) and checked
on the R3D validation split, the generated test set, generated CAD-like sheets and ``cad_walls``
(docs/scale.md "Solid symbols are not walls").
"""

from __future__ import annotations

import cv2
import numpy as np

from model_code.geometry.components import Components, label_components

MIN_SOLIDITY = 0.9  # area / convex hull area
MAX_RECTANGLE_FILL = 0.6  # area / minimum-area rectangle area (pixel-inclusive)
MIN_TRIANGLE_FILL = 0.86  # area / smallest enclosing triangle's area (pixel centres)
MIN_WIDTH = 1.0  # the inscribed disk's diameter, in wall thicknesses
MIN_RADIUS_PX = 4.0  # the inscribed disk's radius, in pixels (3 took a true wall piece of a CAD sheet)
MIN_SHARE_ON_SYMBOL = 0.5  # share of a wall component on a symbol of the ink for it to go with it
SYMBOL_REACH = 2  # px round a symbol's ink that count as on it (the network's edges spill over)


def is_solid_symbol(piece: np.ndarray, wall_thickness: float) -> bool:
    """Whether one connected wall component (a ``bool`` crop holding only it) is a solid symbol."""
    piece = np.ascontiguousarray(piece, dtype=bool)
    area = int(np.count_nonzero(piece))
    if area == 0:
        return False
    # the hull of the outer contours' pixels is the hull of all the pixels, from far fewer points
    contours, _ = cv2.findContours(piece.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.concatenate(contours))
    hull_area = cv2.contourArea(hull)
    if hull_area <= 0 or area < MIN_SOLIDITY * hull_area:  # first: it rejects a wall network cheaply
        return False
    radius = float(cv2.distanceTransform(np.pad(piece.view(np.uint8), 1), cv2.DIST_L2, cv2.DIST_MASK_5).max())
    if radius < MIN_RADIUS_PX or 2.0 * radius < MIN_WIDTH * wall_thickness:
        return False
    (_, _), (side_a, side_b), _ = cv2.minAreaRect(hull)
    if area > MAX_RECTANGLE_FILL * (side_a + 1.0) * (side_b + 1.0):
        return False
    triangle_area, _ = cv2.minEnclosingTriangle(hull.astype(np.float32))
    return area >= MIN_TRIANGLE_FILL * triangle_area


def solid_pieces(wall: np.ndarray, wall_thickness: float) -> tuple[Components | None, list[int]]:
    """The labelled components of a ``bool`` mask and the labels of those solid enough to be judged:
    each holds the disk of :data:`MIN_RADIUS_PX` and :data:`MIN_WIDTH` wall thicknesses somewhere
    (``(None, [])`` when none does)."""
    # The whole mask's distance map says where the disk fits: a component's own crop's distances are
    # never larger (other components and the crop's edge only add zeros).
    radius = max(MIN_RADIUS_PX, 0.5 * MIN_WIDTH * wall_thickness)
    distance = cv2.distanceTransform(np.ascontiguousarray(wall, np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    if float(distance.max()) < radius:
        return None, []
    parts = label_components(wall, connectivity=8)
    holding = np.zeros(parts.count, bool)
    holding[np.unique(parts.labels[distance >= radius])] = True
    smallest = np.pi * MIN_RADIUS_PX**2
    labels = []
    for label in np.flatnonzero(holding[1:]) + 1:
        box = parts.boxes[label]
        if box is None or parts.area(label) < smallest:
            continue
        if min(box[0].stop - box[0].start, box[1].stop - box[1].start) < 2 * MIN_RADIUS_PX:
            continue
        labels.append(int(label))
    return parts, labels


def solid_symbols(wall: np.ndarray, wall_thickness: float) -> np.ndarray:
    """The components of a ``bool`` wall mask that are solid symbols (``bool``, the mask's shape).

    ``wall_thickness`` is the plan's typical wall thickness in the mask's pixels.
    """
    wall = np.asarray(wall, bool)
    found = np.zeros_like(wall)
    if not wall.any():
        return found
    parts, labels = solid_pieces(wall, wall_thickness)
    if parts is None:
        return found
    for label in labels:
        piece, x, y = parts.crop(label)
        if is_solid_symbol(piece, wall_thickness):
            found[y : y + piece.shape[0], x : x + piece.shape[1]] |= piece
    return found


def on_solid_symbols(wall: np.ndarray, ink: np.ndarray, wall_thickness: float) -> np.ndarray:
    """The components of a ``bool`` wall mask that lie mostly on the drawing's solid symbols.

    ``ink`` is the drawing's dark ink (``bool``, the mask's shape and scale): its solid symbols are
    judged whole (:func:`solid_symbols`), so a wall mask that marks only part of a north arrow (a cut
    triangle, which fills its enclosing triangle too badly to be judged a symbol itself, or a thin
    sliver of it) goes too.  A wall component is dropped when at least :data:`MIN_SHARE_ON_SYMBOL` of
    it lies within :data:`SYMBOL_REACH` px of a symbol's ink; a true wall that touches a symbol is
    never part of that symbol's ink component (the ink would then not be convex), so it keeps most of
    its pixels off it.
    """
    wall = np.asarray(wall, bool)
    found = np.zeros_like(wall)
    if not wall.any():
        return found
    ink = np.asarray(ink, bool)
    if ink.shape != wall.shape:
        raise ValueError(f"ink {ink.shape} and wall {wall.shape} masks differ in shape")
    symbols = solid_symbols(ink, wall_thickness)
    if not symbols.any():
        return found
    side = 2 * SYMBOL_REACH + 1
    near = cv2.dilate(symbols.view(np.uint8), np.ones((side, side), np.uint8)).view(bool)
    parts = label_components(wall, connectivity=8)
    assert parts.areas is not None  # 8-connected labelling counts them
    on = np.bincount(parts.labels[near & wall], minlength=parts.count)
    dropped = on >= MIN_SHARE_ON_SYMBOL * parts.areas
    dropped[0] = False
    return dropped[parts.labels]


def drop_solid_symbols(
    wall: np.ndarray,
    opening: np.ndarray,
    wall_thickness: float,
    larger_walls: tuple[np.ndarray, ...] = (),
    larger_openings: tuple[np.ndarray, ...] = (),
    ink: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``wall`` without its solid symbols and ``opening`` without the components touching them (new
    arrays); the same components are cleared whole, in place, from ``larger_walls`` and
    ``larger_openings``, the same drawing's masks at a larger size (:func:`clear_upsampled`).

    A symbol is a wall component that is one itself (:func:`solid_symbols`) or, given the drawing's
    ``ink`` at the mask's scale, one that lies on a symbol of the ink (:func:`on_solid_symbols`)."""
    symbols = solid_symbols(wall, wall_thickness)
    if ink is not None:
        symbols |= on_solid_symbols(wall, ink, wall_thickness)
    if not symbols.any():
        return wall, opening
    stray = touching(opening, symbols)  # the opening a network sees at an arrow's tip
    clear_upsampled(larger_walls, symbols)
    clear_upsampled(larger_openings, stray)
    return wall & ~symbols, opening & ~stray


def touching(mask: np.ndarray, region: np.ndarray, reach: int = 2) -> np.ndarray:
    """The components of a ``bool`` mask that come within ``reach`` pixels of ``region`` (same shape):
    the opening a network sees at the tip of a north arrow goes with the arrow."""
    mask = np.asarray(mask, bool)
    found = np.zeros_like(mask)
    if not mask.any() or not region.any():
        return found
    near = cv2.dilate(region.astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)).view(bool)
    if not (mask & near).any():
        return found
    parts = label_components(mask, connectivity=8)
    hit = np.unique(parts.labels[mask & near])
    return np.isin(parts.labels, hit[hit > 0])


def clear_upsampled(masks: tuple[np.ndarray, ...], dropped: np.ndarray, margin: int = 2) -> None:
    """Clear, in place, the parts of larger ``masks`` that lie on the components ``dropped`` marks.

    ``dropped`` is a ``bool`` mask at a smaller (working) scale; each mask is the same drawing at its
    own larger size.  Within each dropped component's box (grown by ``margin`` small pixels), a
    mask's components that touch the component, upsampled, are cleared whole, so the edges a larger
    mask adds round a symbol go with it.  Only those boxes are labelled.
    """
    if not dropped.any():
        return
    parts = label_components(dropped, connectivity=8)
    small_h, small_w = dropped.shape
    for mask in masks:
        sy, sx = mask.shape[0] / small_h, mask.shape[1] / small_w
        for label in range(1, parts.count):
            piece, x, y = parts.crop(label)
            x0, y0 = max(x - margin, 0), max(y - margin, 0)
            x1, y1 = min(x + piece.shape[1] + margin, small_w), min(y + piece.shape[0] + margin, small_h)
            big = (slice(int(y0 * sy), int(np.ceil(y1 * sy))), slice(int(x0 * sx), int(np.ceil(x1 * sx))))
            window = mask[big]
            if not window.any():
                continue
            marked = np.zeros((y1 - y0, x1 - x0), np.uint8)
            marked[y - y0 : y - y0 + piece.shape[0], x - x0 : x - x0 + piece.shape[1]] = piece
            marked = cv2.resize(marked, (window.shape[1], window.shape[0]), interpolation=cv2.INTER_NEAREST)
            local = label_components(window, connectivity=8)
            touched = np.unique(local.labels[(marked > 0) & window])
            window[np.isin(local.labels, touched[touched > 0])] = False
