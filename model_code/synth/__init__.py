"""Procedural floor plans with exact ground truth: ``generate_plan(seed, size, styles)``.

See ``docs/synth.md`` for the styles, the ground-truth semantics and the dataset layout written
by ``floorplan synth``.
"""

from model_code.synth.generator import SynthPlan, generate_plan, plan_id
from model_code.synth.raster import rasterize_annotation
from model_code.synth.styles import ALL_STYLES, OPT_IN_STYLES, STYLES

__all__ = [
    "ALL_STYLES",
    "OPT_IN_STYLES",
    "STYLES",
    "SynthPlan",
    "generate_plan",
    "plan_id",
    "rasterize_annotation",
]
