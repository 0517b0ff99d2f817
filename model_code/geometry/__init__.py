"""Geometry: pixel masks to vector walls, openings and rooms, and vectors back to pixels.

* :mod:`~model_code.geometry.vectorize` - wall and opening masks to wall segments (with thickness
  and load-bearing flag) and openings;
* :mod:`~model_code.geometry.rooms` - walls and openings to closed room polygons;
* :mod:`~model_code.geometry.raster` - vector walls, openings and rooms drawn into masks;
* :mod:`~model_code.geometry.spatial` - a segment index for near-pair queries;
* :mod:`~model_code.geometry.components` - connected components of a mask.

Geometry knows records (:mod:`model_code.schema`) and pixels; it never imports the model,
serving or evaluation.
"""
