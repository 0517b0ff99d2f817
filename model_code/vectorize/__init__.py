"""Wall mask -> walls (with thickness and load-bearing flag) and openings.

Public API::

    from model_code.vectorize import VectorizeOptions, vectorize
    plan = vectorize(wall_mask, opening_mask, VectorizeOptions(min_wall_length=None))
    plan.walls, plan.openings, plan.wall_thickness, plan.shape

The steps live in their own modules: :mod:`.graph` (skeleton pixel graph, spur pruning),
:mod:`.segments` (Douglas-Peucker, orientation snapping, collinear merge, junction snapping),
:mod:`.thickness` (distance-transform thickness, load-bearing heuristic), :mod:`.openings`
and :mod:`.options` (the one options object).  Rooms are closed by :mod:`model_code.rooms`.
"""

from model_code.vectorize.options import ResolvedOptions, VectorizeOptions
from model_code.vectorize.plan import VectorizedPlan, scale_plan, vectorize

__all__ = ["ResolvedOptions", "VectorizeOptions", "VectorizedPlan", "scale_plan", "vectorize"]
