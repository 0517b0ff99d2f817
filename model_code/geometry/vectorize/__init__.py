"""Wall mask -> walls (with thickness and load-bearing flag) and openings.

Public API::

    from model_code.geometry.vectorize import VectorizeOptions, vectorize
    plan = vectorize(wall_mask, opening_mask, VectorizeOptions(min_wall_length=None))
    plan.walls, plan.openings, plan.wall_thickness, plan.shape

Room detection also uses :func:`content_window` (the crop around a plan's content),
:func:`scale_points`, :func:`lengths` (segment lengths) and :func:`distance_map` (each pixel's
distance to the mask's outside) from here.

The steps live in their own modules: :mod:`.graph` (skeleton pixel graph, spur pruning),
:mod:`.segments` (Douglas-Peucker, orientation snapping, collinear merge, junction snapping),
:mod:`.thickness` (distance-transform thickness, load-bearing heuristic), :mod:`.openings`
and :mod:`.options` (the one options object).  Rooms are closed by :mod:`model_code.geometry.rooms`.
"""

from model_code.geometry.vectorize.options import ResolvedOptions, VectorizeOptions
from model_code.geometry.vectorize.plan import (
    VectorizedPlan,
    content_window,
    scale_plan,
    scale_points,
    vectorize,
)
from model_code.geometry.vectorize.segments import lengths
from model_code.geometry.vectorize.thickness import distance_map

__all__ = [
    "ResolvedOptions",
    "VectorizeOptions",
    "VectorizedPlan",
    "content_window",
    "distance_map",
    "lengths",
    "scale_plan",
    "scale_points",
    "vectorize",
]
