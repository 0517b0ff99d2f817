"""Floor-plan vectorization: raster plan -> walls, openings and rooms.

The package follows the data flow (see ``docs/architecture.md``):
``imageio`` decodes, ``network``/``inference`` produce wall and opening probabilities,
``vectorize`` turns masks into wall segments, ``rooms`` closes them into polygons and
``pipeline`` ties it all together for serving, evaluation and the CLI.
"""

__version__ = "0.1.0"
