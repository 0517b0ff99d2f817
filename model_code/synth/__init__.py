"""Procedural floor plans with exact ground truth: ``generate_plan(seed, size, styles)``.

See ``docs/synth.md`` for the styles, the ground-truth semantics and the dataset layout written
by ``floorplan synth``.
"""

from model_code.synth.generator import SynthPlan, generate_plan, plan_id
from model_code.synth.raster import rasterize_annotation
from model_code.synth.styles import STYLES

__all__ = ["STYLES", "SynthPlan", "generate_plan", "plan_id", "rasterize_annotation"]
