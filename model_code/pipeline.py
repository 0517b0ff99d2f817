"""One function from an RGB image to the result document, for every backend.

``backend="unet"`` thresholds the U-Net probabilities; ``backend="opencv"`` uses the
classical baseline mask.  Both masks go through the same vectorizer and room detection,
so the two backends are compared on equal terms.  Serving, evaluation, the CLI and the
annotation tool all call :meth:`Pipeline.analyze`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from model_code.model.loader import LoadedModel, load_model
from model_code.model.scale import WorkingScale
from model_code.schema import ROOM_TYPES, ResultDocument
from model_code.version import __version__

BACKENDS = ("unet", "opencv")
RENDERS = ("mask", "overlay")
RESOLUTIONS = ("working", "input")
MAX_NAMES_SHOWN = 10  # unknown option names quoted in an error message


class OptionsError(ValueError):
    """An option has an unknown name or an invalid value (HTTP 400)."""


@dataclass
class PipelineOptions:
    """Per-request options (from the custom-attributes header, a JSON body or the CLI).

    Attributes:
        threshold: wall/opening probability threshold of the U-Net masks.
        min_wall_length: walls shorter than this (input pixels) are dropped; default one wall thickness.
        backend: ``unet`` or ``opencv`` (the classical baseline).
        render: what ``image/png`` responses show: ``mask`` or ``overlay``.
        resolution: where walls and rooms are traced for the U-Net: ``working`` (default) traces
            them on the masks at the model's working size (where the network saw the plan) and
            scales the result to the input, with thicknesses re-measured on the input-size mask;
            ``input`` traces the masks upsampled to the input size (slower on large plans).
    """

    threshold: float = 0.5
    min_wall_length: float | None = None
    backend: str = "unet"
    render: str = "mask"
    resolution: str = "working"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PipelineOptions:
        """Parse and validate options given as strings or JSON values."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            shown = ", ".join(repr(name[:40]) for name in unknown[:MAX_NAMES_SHOWN])
            more = f" and {len(unknown) - MAX_NAMES_SHOWN} more" if len(unknown) > MAX_NAMES_SHOWN else ""
            raise OptionsError(f"unknown option(s) {shown}{more}; known: {sorted(known)}")
        options = cls()
        try:
            if "threshold" in values:
                options.threshold = float(values["threshold"])
            if values.get("min_wall_length") not in (None, ""):
                options.min_wall_length = float(values["min_wall_length"])
        except (TypeError, ValueError) as exc:
            raise OptionsError(f"numeric option has a non-numeric value: {exc}") from exc
        if "backend" in values:
            options.backend = str(values["backend"]).strip().lower()
        if "render" in values:
            options.render = str(values["render"]).strip().lower()
        if "resolution" in values:
            options.resolution = str(values["resolution"]).strip().lower()
        options.check()
        return options

    def check(self) -> None:
        """Raise :class:`OptionsError` for out-of-range values."""
        if not 0.0 < self.threshold < 1.0:  # also refuses NaN
            raise OptionsError(f"threshold must be strictly between 0 and 1, got {self.threshold}")
        if self.min_wall_length is not None and not (
            math.isfinite(self.min_wall_length) and self.min_wall_length >= 0
        ):
            raise OptionsError(f"min_wall_length must be a finite number >= 0, got {self.min_wall_length}")
        if self.backend not in BACKENDS:
            raise OptionsError(f"backend must be one of {list(BACKENDS)}, got {self.backend!r}")
        if self.render not in RENDERS:
            raise OptionsError(f"render must be one of {list(RENDERS)}, got {self.render!r}")
        if self.resolution not in RESOLUTIONS:
            raise OptionsError(f"resolution must be one of {list(RESOLUTIONS)}, got {self.resolution!r}")


@dataclass
class PlanResult:
    """Everything one analysis produced: the document and the masks behind it.

    ``probabilities`` are the U-Net's ``(C, h, w)`` outputs at the working scale (the document's
    ``scale`` says which; a float map of every channel at the input size of a 100 MP plan would
    not fit a worker); ``room_type_probabilities`` the
    ``(len(ROOM_TYPES), h, w)`` room-type outputs where the rooms were traced (``None`` without them).
    """

    document: ResultDocument
    wall_mask: np.ndarray
    opening_mask: np.ndarray
    probabilities: np.ndarray | None = None
    room_type_probabilities: np.ndarray | None = None


class Pipeline:
    """Holds the loaded model (once per process) and analyses images with any backend."""

    def __init__(self, model: LoadedModel | None):
        self.model = model

    @classmethod
    def load(cls, model_dir: str | Path | None = None) -> Pipeline:
        """Load the checkpoint in ``model_dir`` (``None``: the bundled default model)."""
        return cls(load_model(model_dir))

    def model_info(self, backend: str) -> dict[str, str]:
        """The ``model`` object of the result document."""
        if backend == "opencv" or self.model is None:
            return {"name": "opencv-baseline", "version": __version__, "backend": "opencv"}
        meta = self.model.metadata
        return {"name": meta.name, "version": meta.version, "backend": "unet"}

    def masks(
        self, image: np.ndarray, options: PipelineOptions, timing: dict[str, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Wall mask, opening mask (both ``bool``, input size) and U-Net probabilities if any.

        The probabilities are at the working scale (:meth:`forward`), not the input size.
        """
        timing = {} if timing is None else timing
        if options.backend == "opencv":
            from model_code.model.baseline import baseline_masks

            start = time.perf_counter()
            wall_mask, opening_mask = baseline_masks(image)
            timing["baseline"] = (time.perf_counter() - start) * 1000
            return wall_mask, opening_mask, None
        probs, _, _ = self.forward(image, options, timing)
        wall_mask, opening_mask = self._input_masks(probs, image.shape[:2], options)
        return wall_mask, opening_mask, probs

    def training_wall_thickness(self) -> float:
        """Typical wall thickness (px) at the model's working size in its training plans."""
        from model_code.model.scale import DEFAULT_TRAINING_WALL_THICKNESS_PX

        assert self.model is not None
        return float(self.model.metadata.wall_thickness_px or DEFAULT_TRAINING_WALL_THICKNESS_PX)

    def forward(
        self, image: np.ndarray, options: PipelineOptions, timing: dict[str, float] | None = None
    ) -> tuple[np.ndarray, WorkingScale, int]:
        """U-Net probabilities ``(C, h, w)`` at the working scale, that scale, and the network passes.

        The coarse pass sees the plan at the fit-to-working-size scale (as before); the wall
        thickness measured on its mask picks the working scale (:mod:`model_code.model.scale`).
        When that is the fit scale the coarse pass is the answer; otherwise the plan goes through
        the network again at the chosen scale (``timing_ms.forward_scaled``), tiled when large.
        """
        if self.model is None:
            raise RuntimeError("no U-Net model is loaded: use backend=opencv or load a checkpoint")
        from model_code.model.inference import predict_probabilities, tile_count
        from model_code.model.scale import choose_working_scale, mask_wall_thickness

        timing = {} if timing is None else timing
        meta = self.model.metadata
        height, width = image.shape[:2]
        start = time.perf_counter()
        fit = choose_working_scale(height, width, meta.working_size, None)
        probs = predict_probabilities(self.model, image, at_working_size=True, shape=fit.shape)
        wall = probs[list(meta.spec.channels).index("wall")] > options.threshold
        choice = choose_working_scale(
            height, width, meta.working_size, mask_wall_thickness(wall), self.training_wall_thickness()
        )
        timing["forward"] = (time.perf_counter() - start) * 1000
        passes = tile_count(fit.shape)
        if choice.shape != fit.shape:
            start = time.perf_counter()
            del probs, wall
            probs = predict_probabilities(self.model, image, at_working_size=True, shape=choice.shape)
            timing["forward_scaled"] = (time.perf_counter() - start) * 1000
            passes += tile_count(choice.shape)
        return probs, choice, passes

    def _mask_channels(self) -> list[str]:
        """The channels thresholded into masks: wall, and opening when the model has it."""
        assert self.model is not None
        return [c for c in ("wall", "opening") if c in self.model.metadata.spec.channels]

    def room_type_rows(self, probs: np.ndarray | None) -> np.ndarray | None:
        """The room-type channels of ``(C, h, w)`` probabilities in ``ROOM_TYPES`` order, or ``None``
        when the model does not output every type."""
        if probs is None or self.model is None:
            return None
        channels = list(self.model.metadata.spec.channels)
        if not all(t in channels for t in ROOM_TYPES):
            return None
        return probs[[channels.index(t) for t in ROOM_TYPES]]

    def _threshold(self, probs: np.ndarray, options: PipelineOptions) -> tuple[np.ndarray, np.ndarray]:
        """Wall and opening masks from U-Net probabilities ``(C, h, w)`` at their own size."""
        assert self.model is not None
        channels = list(self.model.metadata.spec.channels)
        wall_mask = probs[channels.index("wall")] > options.threshold
        if "opening" in channels:
            opening_mask = probs[channels.index("opening")] > options.threshold
        else:
            opening_mask = np.zeros_like(wall_mask)
        return wall_mask, opening_mask

    def _input_masks(
        self, probs: np.ndarray, shape: tuple[int, int], options: PipelineOptions
    ) -> tuple[np.ndarray, np.ndarray]:
        """Wall and opening masks at the input ``shape`` from working-scale probabilities.

        Bilinear probabilities thresholded, one byte per pixel (:func:`upsample_mask`).
        """
        from model_code.model.inference import upsample_mask

        assert self.model is not None
        channels = list(self.model.metadata.spec.channels)
        wall_mask = upsample_mask(probs[channels.index("wall")], shape, options.threshold)
        if "opening" in channels:
            opening_mask = upsample_mask(probs[channels.index("opening")], shape, options.threshold)
        else:
            opening_mask = np.zeros(shape, bool)
        return wall_mask, opening_mask

    def analyze_file(self, source: str | Path | bytes, options: PipelineOptions | None = None) -> PlanResult:
        """Decode a plan (a file path or its bytes) with the one decoder and run :meth:`analyze`.

        Raises:
            model_code.io.images.ImageDecodeError: the bytes are not a supported image.
            model_code.io.images.ImageTooLargeError: the image is over the decoder's pixel budget.
        """
        from model_code.io.images import decode_image

        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        return self.analyze(decode_image(data), options)

    def analyze(
        self,
        image: np.ndarray,
        options: PipelineOptions | None = None,
        between_stages: Callable[[], None] | None = None,
    ) -> PlanResult:
        """Run the whole flow on an ``(H, W, 3)`` uint8 RGB image.

        ``between_stages`` is called after the masks, the vectorizer and the rooms; whatever it
        raises abandons the analysis there (the server's request deadline).  A stage already
        running is never interrupted.
        """
        from model_code.geometry.rooms import detect_rooms, scale_rooms
        from model_code.geometry.vectorize import VectorizeOptions, scale_plan, vectorize

        options = options or PipelineOptions()
        options.check()
        timing: dict[str, float] = {}
        height, width = image.shape[:2]
        scale: dict[str, Any] | None = None
        at_working = False
        if options.backend == "unet":
            probs, choice, passes = self.forward(image, options, timing)
            start = time.perf_counter()
            wall_mask, opening_mask = self._input_masks(probs, (height, width), options)
            timing["upsample"] = (time.perf_counter() - start) * 1000
            at_working = options.resolution == "working" and max(choice.shape) < max(height, width)
            room_types = self.room_type_rows(probs)
            if at_working:
                trace_wall, trace_opening = self._threshold(probs, options)
            else:
                trace_wall, trace_opening = wall_mask, opening_mask
                if room_types is not None:
                    from model_code.model.inference import upsample_probabilities

                    room_types = upsample_probabilities(room_types, (height, width))
            scale = {
                "working_scale": choice.scale,
                "working_width": choice.shape[1],
                "working_height": choice.shape[0],
                "wall_thickness_px": choice.wall_thickness_px,
                "method": choice.method,
                "tiles": passes,
            }
        else:
            wall_mask, opening_mask, probs = self.masks(image, options, timing)
            trace_wall, trace_opening, room_types = wall_mask, opening_mask, None
        if between_stages is not None:
            between_stages()
        scale_x = wall_mask.shape[1] / trace_wall.shape[1]
        scale_y = wall_mask.shape[0] / trace_wall.shape[0]
        min_length = options.min_wall_length
        if min_length is not None:
            min_length /= (scale_x + scale_y) / 2
        start = time.perf_counter()
        vec_options = VectorizeOptions(min_wall_length=min_length)
        plan = vectorize(trace_wall, trace_opening, vec_options)
        timing["vectorize"] = (time.perf_counter() - start) * 1000
        if between_stages is not None:
            between_stages()
        start = time.perf_counter()
        rooms = detect_rooms(plan, trace_wall, vec_options)
        timing["rooms"] = (time.perf_counter() - start) * 1000
        if between_stages is not None:
            between_stages()
        if at_working:
            start = time.perf_counter()
            plan = scale_plan(plan, scale_x, scale_y, wall_mask, opening_mask)
            rooms = scale_rooms(rooms, scale_x, scale_y)
            timing["rescale"] = (time.perf_counter() - start) * 1000
        document = ResultDocument(
            width=width,
            height=height,
            walls=plan.walls,
            openings=plan.openings,
            rooms=rooms,
            model=self.model_info(options.backend),
            timing_ms=timing,
            scale=scale,
        )
        return PlanResult(document, wall_mask, opening_mask, probs, room_types)
