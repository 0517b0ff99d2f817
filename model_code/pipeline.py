"""One function from an RGB image to the result document, for every backend.

``backend="unet"`` thresholds the U-Net probabilities; ``backend="opencv"`` uses the
classical baseline mask.  Both masks go through the same vectorizer and room detection,
so the two backends are compared on equal terms.  Serving, evaluation, the CLI and the
annotation tool all call :meth:`Pipeline.analyze`.

:func:`decode_plan` turns the bytes a customer has (PNG, JPEG, TIFF with pages, BMP, WebP, a PDF,
vector or scanned) into the page to analyse; :func:`pdf_render_dpi` is the one place that chooses
the resolution a PDF page is rendered at (150 dpi today; a later change chooses it from the
drawing's scale).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from model_code.io.images import DEFAULT_MAX_PIXELS, sniff_format
from model_code.io.pages import PDF_DPI, Page, read_page
from model_code.model.inference import VIEW_FLIPS
from model_code.model.loader import LoadedModel, load_model
from model_code.model.scale import WorkingScale
from model_code.schema import ROOM_TYPES, TYPE_NAMES, UNKNOWN_TYPE, ResultDocument, Room
from model_code.version import __version__

BACKENDS = ("unet", "opencv")
RENDERS = ("mask", "overlay")
RESOLUTIONS = ("working", "input")
WALL_EDGES = ("drawing", "network")
TEXT_MODES = ("on", "off")
DEFAULT_TEXT = "off"  # reading costs more than the 150 ms budget on 2 cores (docs/text.md)
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
        page: which page of a PDF or multi-page TIFF to analyse, from 1; a single image has only page 1.
            Read by :func:`decode_plan` (through :meth:`Pipeline.analyze_file` or the server), not by
            :meth:`Pipeline.analyze`, which is given the decoded page.
        text: ``on`` reads the plan's text (``model_code.text``): ``texts``, room names, the scale;
            ``off`` (default) does not.
        pixels_per_meter: the plan's scale, overriding any estimate: rooms get ``area_m2``, walls
            ``length_m`` and ``thickness_m``.
        wall_edges: where the U-Net's input-size wall mask has its edges: ``drawing`` (default) moves
            them onto the plan's own ink (a guided filter, :func:`~model_code.model.inference.guided_mask`),
            ``network`` keeps the network's upsampled probabilities as they are.  The returned mask
            and the walls' thicknesses and re-measured centrelines follow it; walls and rooms are
            traced on the network's edges either way.
        views: how many views of the plan the U-Net averages at the chosen working scale: ``1``
            (default), ``2`` (also mirrored left-right) or ``4`` (also upside down, and both);
            test-time augmentation, about that many times the forward pass's time
            (:data:`~model_code.model.inference.VIEW_FLIPS`, docs/benchmarks.md "Views").
    """

    threshold: float = 0.5
    min_wall_length: float | None = None
    backend: str = "unet"
    render: str = "mask"
    resolution: str = "working"
    page: int = 1
    text: str = DEFAULT_TEXT
    pixels_per_meter: float | None = None
    wall_edges: str = "drawing"
    views: int = 1

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
            if values.get("pixels_per_meter") not in (None, ""):
                options.pixels_per_meter = float(values["pixels_per_meter"])
        except (TypeError, ValueError) as exc:
            raise OptionsError(f"numeric option has a non-numeric value: {exc}") from exc
        if "backend" in values:
            options.backend = str(values["backend"]).strip().lower()
        if "render" in values:
            options.render = str(values["render"]).strip().lower()
        if "resolution" in values:
            options.resolution = str(values["resolution"]).strip().lower()
        if "wall_edges" in values:
            options.wall_edges = str(values["wall_edges"]).strip().lower()
        if values.get("page") not in (None, ""):
            options.page = _page_number(values["page"])
        if values.get("views") not in (None, ""):
            options.views = _views(values["views"])
        if "text" in values:
            text = values["text"]
            options.text = {True: "on", False: "off"}.get(text, str(text).strip().lower())  # type: ignore[arg-type]
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
        if self.wall_edges not in WALL_EDGES:
            raise OptionsError(f"wall_edges must be one of {list(WALL_EDGES)}, got {self.wall_edges!r}")
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            raise OptionsError(f"page must be a whole number >= 1 (pages count from 1), got {self.page!r}")
        if isinstance(self.views, bool) or self.views not in VIEW_FLIPS:
            raise OptionsError(f"views must be one of {list(VIEW_FLIPS)}, got {str(self.views)[:40]!r}")
        if self.text not in TEXT_MODES:
            raise OptionsError(f"text must be one of {list(TEXT_MODES)}, got {str(self.text)[:40]!r}")
        if self.pixels_per_meter is not None and not (
            math.isfinite(self.pixels_per_meter) and self.pixels_per_meter > 0
        ):
            raise OptionsError(f"pixels_per_meter must be a finite number > 0, got {self.pixels_per_meter}")


def _page_number(value: Any) -> int:
    """``page`` as given (``"2"``, ``2``, ``2.0``) -> 2; anything else is an :class:`OptionsError`."""
    if isinstance(value, bool):
        raise OptionsError(f"page must be a whole number >= 1 (pages count from 1), got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit() or (text.startswith(("-", "+")) and text[1:].isdigit()):
        return int(text)
    raise OptionsError(f"page must be a whole number >= 1 (pages count from 1), got {str(value)[:40]!r}")


def _views(value: Any) -> int:
    """``views`` as given (``"4"``, ``4``, ``4.0``) -> 4; anything else is an :class:`OptionsError`."""
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if number in VIEW_FLIPS:
            return int(number)
    raise OptionsError(f"views must be one of {list(VIEW_FLIPS)}, got {str(value)[:40]!r}")


def pdf_render_dpi(data: bytes, page: int) -> float:
    """The resolution (dpi) page ``page`` (from 1) of the PDF ``data`` is rendered at.

    The one place that chooses it: :data:`model_code.io.pages.PDF_DPI` (150) for every page today.
    Choosing it from the drawing's scale (so that a wall has a useful width in pixels) belongs here;
    the pixel budget still lowers it for very large pages (see :func:`model_code.io.pages.render_pdf_page`).
    """
    return float(PDF_DPI)


def decode_plan(
    data: bytes,
    page: int = 1,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    pdf_dpi: float | None = None,
) -> Page:
    """Decode page ``page`` (from 1) of a plan file's bytes: any image, a PDF or a multi-page TIFF.

    ``pdf_dpi`` renders a PDF at that resolution; ``None`` lets :func:`pdf_render_dpi` choose.  The
    returned :class:`~model_code.io.pages.Page` carries the page number and the document's page count.

    Raises:
        model_code.io.pages.PageNotFoundError: no such page (its ``count`` says how many there are).
        model_code.io.images.ImageDecodeError: the bytes are not a supported image or document.
        model_code.io.images.ImageTooLargeError: the page is over ``max_pixels``.
    """
    dpi: float = PDF_DPI
    if sniff_format(data) == "pdf":
        dpi = pdf_dpi if pdf_dpi is not None else pdf_render_dpi(data, page)
    return read_page(data, page, max_pixels, dpi)


def page_of(decoded: Page) -> tuple[int, int] | None:
    """What a result document records as its ``page``: ``(number, count)`` for a PDF or TIFF, else None."""
    return (decoded.number, decoded.count) if decoded.paged else None


def _on_page(mask: np.ndarray, box: tuple[int, int, int, int], shape: tuple[int, int]) -> np.ndarray:
    """A mask of the ``box`` (x0, y0, x1, y1) of an image placed on the whole image's ``shape``."""
    x0, y0, x1, y1 = box
    page = np.zeros(shape, dtype=mask.dtype)
    page[y0:y1, x0:x1] = mask
    return page


def keep_drawing_area(
    wall: np.ndarray,
    opening: np.ndarray,
    area: tuple[int, int, int, int] | None,
    input_shape: tuple[int, int],
    choice: WorkingScale,
) -> tuple[np.ndarray, np.ndarray]:
    """Wall and opening masks at the working scale without the sheet around the plan: nothing
    outside ``area`` (input px) and no wall touching its edge (the frame, title-block and legend
    lines a network may take for walls; ``model_code.model.baseline.drop_sheet``).  Unchanged when
    ``area`` is None."""
    if area is None:
        return wall, opening
    from model_code.model.baseline import drop_sheet

    sy, sx = wall.shape[0] / input_shape[0], wall.shape[1] / input_shape[1]
    x0, y0, x1, y1 = area
    box = (int(x0 * sx), int(y0 * sy), math.ceil(x1 * sx), math.ceil(y1 * sy))
    thickness = (choice.wall_thickness_px or 0.0) * (sx + sy) / 2
    wall = drop_sheet(wall, box, max(2, round(thickness)))
    inside = np.zeros_like(opening)
    inside[box[1] : box[3], box[0] : box[2]] = opening[box[1] : box[3], box[0] : box[2]]
    return wall, inside


def restrict_input_masks(
    wall: np.ndarray,
    opening: np.ndarray,
    area: tuple[int, int, int, int],
    dropped: np.ndarray,
    *more_walls: np.ndarray,
) -> None:
    """Apply :func:`keep_drawing_area`'s decision, taken at the working scale, to the input-size masks
    in place: clear everything outside ``area`` and the walls ``dropped`` there (grown by a working
    pixel, upsampled nearest), in ``wall`` and in any ``more_walls``.  No labelling at the input
    size: a 120 MP sheet costs one byte mask."""
    import cv2

    x0, y0, x1, y1 = area
    for mask in (wall, opening, *more_walls):
        mask[:y0] = False
        mask[y1:] = False
        mask[:, :x0] = False
        mask[:, x1:] = False
    if dropped.any():
        grown = cv2.dilate(dropped.astype(np.uint8), np.ones((3, 3), np.uint8))
        up = cv2.resize(grown, (wall.shape[1], wall.shape[0]), interpolation=cv2.INTER_NEAREST).view(bool)
        for mask in (wall, *more_walls):
            mask[up] = False


@dataclass
class PlanResult:
    """Everything one analysis produced: the document and the masks behind it.

    ``probabilities`` are the U-Net's ``(C, h, w)`` outputs at the working scale (the document's
    ``scale`` says which; a float map of every channel at the input size of a 100 MP plan would
    not fit a worker); ``room_type_probabilities`` the
    ``(len(ROOM_TYPES), h, w)`` room-type outputs where the rooms were traced (``None`` without them);
    ``room_features`` the ``(K, F)`` features of the document's K rooms that the room classifier
    reads (:mod:`model_code.model.room_classifier`), when the model has one or
    :attr:`Pipeline.measure_rooms` is set.
    """

    document: ResultDocument
    wall_mask: np.ndarray
    opening_mask: np.ndarray
    probabilities: np.ndarray | None = None
    room_type_probabilities: np.ndarray | None = None
    room_features: np.ndarray | None = None


class Pipeline:
    """Holds the loaded model (once per process) and analyses images with any backend.

    ``text_reader`` (a :class:`model_code.text.TextReader`) reads the plan's text with ``text=on``;
    ``None`` loads the process's shared reader on first use, with ``text_threads`` threads (``None``:
    the CPUs this process may use).  With the U-Net, a checkpoint's room classifier types the rooms
    (:meth:`type_rooms`); ``measure_rooms`` keeps the rooms' features in the result even without
    one (``floorplan train-rooms`` learns from them).
    """

    def __init__(self, model: LoadedModel | None, text_reader: Any = None, text_threads: int | None = None):
        self.model = model
        self.text_reader = text_reader
        self.text_threads = text_threads
        self.measure_rooms = False

    def read_text(self, image: np.ndarray, options: PipelineOptions, timing: dict[str, float]) -> list | None:
        """The plan's text lines with ``text=on`` (``model_code.text``), else ``None``."""
        if options.text != "on":
            return None
        from model_code.text import TextEngineMissing, read_text, shared_reader

        start = time.perf_counter()
        if self.text_reader is None:
            try:
                self.text_reader = shared_reader(threads=self.text_threads)
            except TextEngineMissing as exc:
                raise OptionsError(f"text=on is not available here: {exc}") from exc
        texts = read_text(self.text_reader, image)
        timing["text"] = (time.perf_counter() - start) * 1000
        return texts

    @classmethod
    def load(cls, model_dir: str | Path | None = None) -> Pipeline:
        """Load the checkpoint in ``model_dir`` (``None``: the bundled default model)."""
        return cls(load_model(model_dir))

    def model_info(self, backend: str) -> dict[str, str]:
        """The ``model`` object of the result document."""
        if backend == "opencv" or self.model is None:
            return {"name": "opencv-baseline", "version": __version__, "backend": "opencv"}
        meta = self.model.metadata
        return {"name": meta.name, "version": meta.version, "backend": "unet", "runtime": self.model.runtime}

    def masks(
        self, image: np.ndarray, options: PipelineOptions, timing: dict[str, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Wall mask, opening mask (both ``bool``, input size) and U-Net probabilities if any.

        The probabilities are at the working scale (:meth:`forward`), not the input size.  As in
        :meth:`analyze`, a light-on-dark drawing is looked at as its negative, and a large image mostly
        blank round its drawing (or any image in a scan border) on the drawing's box (the probabilities
        then cover the box).
        """
        timing = {} if timing is None else timing
        image, _, extent, timing["paper"] = self._on_paper(image)
        if extent is None:
            return self._masks(image, options, timing)
        x0, y0, x1, y1 = extent
        wall, opening, probs = self._masks(np.ascontiguousarray(image[y0:y1, x0:x1]), options, timing)
        return _on_page(wall, extent, image.shape[:2]), _on_page(opening, extent, image.shape[:2]), probs

    def _masks(
        self, image: np.ndarray, options: PipelineOptions, timing: dict[str, float]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`masks` on the image as given."""
        area = self.drawing_area(image, timing)
        if options.backend == "opencv":
            return (*self._baseline_masks(image, area, timing), None)
        probs, choice, _ = self.forward(image, options, timing, area)
        wall_mask, opening_mask, _ = self._input_masks(probs, image, options)
        self._working_masks(probs, image, options, area, choice, wall_mask, opening_mask)
        return wall_mask, opening_mask, probs

    def _working_masks(
        self,
        probs: np.ndarray,
        image: np.ndarray,
        options: PipelineOptions,
        area: tuple[int, int, int, int] | None,
        choice: WorkingScale,
        wall_mask: np.ndarray,
        opening_mask: np.ndarray,
        other_wall: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The working-scale wall and opening masks, cleaned: without the sheet round a drawing
        (:func:`keep_drawing_area`, when ``area`` is given) and without solid symbols such as north
        arrows, judged on the mask and on the drawing's ink at the working scale
        (:func:`~model_code.geometry.symbols.drop_solid_symbols`).  The input-size masks (and
        ``other_wall``, another input-size wall mask) are cleared to match, in place."""
        from model_code.geometry.symbols import drop_solid_symbols
        from model_code.model.baseline import ink_mask
        from model_code.model.scale import mask_wall_thickness

        work_wall, work_opening = self._threshold(probs, options)
        input_walls = (wall_mask,) if other_wall is None else (wall_mask, other_wall)
        if area is not None:
            shape = wall_mask.shape
            kept_wall, work_opening = keep_drawing_area(work_wall, work_opening, area, shape, choice)
            restrict_input_masks(wall_mask, opening_mask, area, work_wall & ~kept_wall, *input_walls[1:])
            work_wall = kept_wall
        zoom = (work_wall.shape[0] / wall_mask.shape[0] + work_wall.shape[1] / wall_mask.shape[1]) / 2
        thickness = (
            choice.wall_thickness_px * zoom if choice.wall_thickness_px else mask_wall_thickness(work_wall)
        )
        height, width = work_wall.shape
        ink = ink_mask(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
        return drop_solid_symbols(
            work_wall, work_opening, thickness or 1.0, input_walls, (opening_mask,), ink=ink
        )

    @staticmethod
    def _baseline_masks(
        image: np.ndarray, area: tuple[int, int, int, int] | None, timing: dict[str, float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The OpenCV baseline's wall and opening masks, given the sheet's drawing area, without solid
        symbols (:func:`~model_code.geometry.symbols.solid_symbols`, as for the U-Net; judged on a copy
        of at most ``MAX_WORKING_PIXELS``, so a huge scan costs no full-size labelling)."""
        from model_code.geometry.symbols import drop_solid_symbols
        from model_code.model.baseline import baseline_masks
        from model_code.model.scale import MAX_WORKING_PIXELS, mask_wall_thickness, shape_at

        start = time.perf_counter()
        wall, opening = baseline_masks(image, area=area)
        judged, judged_opening = wall, opening
        if wall.size > MAX_WORKING_PIXELS:
            height, width = shape_at(*wall.shape, math.sqrt(MAX_WORKING_PIXELS / wall.size))
            judged, judged_opening = (
                cv2.resize(m.view(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).view(bool)
                for m in (wall, opening)
            )
        # cleared in place at full size (``judged`` may be ``wall`` itself: what it returns is not needed)
        drop_solid_symbols(judged, judged_opening, mask_wall_thickness(judged) or 1.0, (wall,), (opening,))
        timing["baseline"] = (time.perf_counter() - start) * 1000
        return wall, opening

    @staticmethod
    def drawing_area(image: np.ndarray, timing: dict[str, float]) -> tuple[int, int, int, int] | None:
        """The drawing area inside a sheet's frame and title block (input px), or None when the plan
        is not drawn on a sheet (``model_code.model.baseline.sheet_area``, for every backend)."""
        from model_code.model.baseline import sheet_area

        start = time.perf_counter()
        area = sheet_area(image)
        timing["sheet"] = (time.perf_counter() - start) * 1000
        return area

    def training_wall_thickness(self) -> float:
        """Typical wall thickness (px) at the model's working size in its training plans."""
        from model_code.model.scale import DEFAULT_TRAINING_WALL_THICKNESS_PX

        assert self.model is not None
        return float(self.model.metadata.wall_thickness_px or DEFAULT_TRAINING_WALL_THICKNESS_PX)

    def forward(
        self,
        image: np.ndarray,
        options: PipelineOptions,
        timing: dict[str, float] | None = None,
        area: tuple[int, int, int, int] | None = None,
    ) -> tuple[np.ndarray, WorkingScale, int]:
        """U-Net probabilities ``(C, h, w)`` at the working scale, that scale, and the network passes.

        The coarse pass sees the plan at the fit-to-working-size scale (of the drawing ``area`` on a
        sheet, :func:`~model_code.model.scale.drawing_zoom`); the wall thickness measured on its
        mask picks the working scale (:mod:`model_code.model.scale`).
        When that is the fit scale the coarse pass is the answer; otherwise the plan goes through
        the network again at the chosen scale (``timing_ms.forward_scaled``), tiled when large.
        With ``options.views`` above 1 the pass at the chosen scale averages that many mirrored views
        (when it is the coarse pass, the others join it: ``timing_ms.forward_views``).
        """
        if self.model is None:
            raise RuntimeError("no U-Net model is loaded: use backend=opencv or load a checkpoint")
        from model_code.model.inference import predict_probabilities, tile_count
        from model_code.model.scale import choose_working_scale, drawing_zoom, mask_wall_thickness

        timing = {} if timing is None else timing
        meta = self.model.metadata
        height, width = image.shape[:2]
        zoom = drawing_zoom(height, width, area)
        start = time.perf_counter()
        fit = choose_working_scale(
            height, width, meta.working_size, None, native_up_to=meta.native_up_to, zoom=zoom
        )
        probs = predict_probabilities(self.model, image, at_working_size=True, shape=fit.shape)
        wall = probs[list(meta.spec.channels).index("wall")] > options.threshold
        choice = choose_working_scale(
            height,
            width,
            meta.working_size,
            mask_wall_thickness(wall),
            self.training_wall_thickness(),
            native_up_to=meta.native_up_to,
            zoom=zoom,
        )
        timing["forward"] = (time.perf_counter() - start) * 1000
        passes = tile_count(fit.shape)
        views = VIEW_FLIPS[options.views]
        if choice.shape != fit.shape:
            start = time.perf_counter()
            del probs, wall
            probs = predict_probabilities(
                self.model, image, at_working_size=True, shape=choice.shape, flips=views
            )
            timing["forward_scaled"] = (time.perf_counter() - start) * 1000
            passes += tile_count(choice.shape) * len(views)
        elif len(views) > 1:  # the coarse pass is the first view: the others join it
            start = time.perf_counter()
            others = predict_probabilities(
                self.model, image, at_working_size=True, shape=fit.shape, flips=views[1:]
            )
            probs = (probs + others * np.float32(len(views) - 1)) / np.float32(len(views))
            timing["forward_views"] = (time.perf_counter() - start) * 1000
            passes += tile_count(fit.shape) * (len(views) - 1)
        self.model.release_memory()
        return probs, choice, passes

    def room_type_rows(self, probs: np.ndarray | None) -> np.ndarray | None:
        """The room-type channels of ``(C, h, w)`` probabilities in ``ROOM_TYPES`` order, or ``None``
        when the model does not output every type."""
        if probs is None or self.model is None:
            return None
        channels = list(self.model.metadata.spec.channels)
        if not all(t in channels for t in ROOM_TYPES):
            return None
        return probs[[channels.index(t) for t in ROOM_TYPES]]

    def type_rooms(
        self,
        image: np.ndarray,
        rooms: list[Room],
        wall: np.ndarray,
        opening: np.ndarray,
        wall_thickness: float,
    ) -> tuple[list[Room], np.ndarray | None]:
        """Rooms typed by the checkpoint's room classifier, and the features it read.

        ``rooms`` are in the coordinates of ``wall`` and ``opening`` (where they were traced, with
        walls ``wall_thickness`` px thick); ``image`` is the input plan, shrunk here.  Features are
        measured at :func:`~model_code.model.room_classifier.feature_shape`.  Each room gets the
        most likely type, its probability as ``type_confidence`` and the type's name as
        ``name_hint``.  Without a classifier the rooms come back unchanged (with their features
        when :attr:`measure_rooms` is set).
        """
        from model_code.geometry.raster import rasterize_rooms
        from model_code.geometry.rooms import scale_rooms
        from model_code.model.room_classifier import feature_shape, room_features

        classifier = None if self.model is None else self.model.room_classifier
        if not rooms or (classifier is None and not self.measure_rooms):
            return rooms, None
        height, width = wall.shape
        shape = feature_shape(height, width)
        at = rooms
        if shape != (height, width):
            at = scale_rooms(rooms, shape[1] / width, shape[0] / height)
            nearest = cv2.INTER_NEAREST
            wall = cv2.resize(wall.view(np.uint8), shape[::-1], interpolation=nearest).view(bool)
            opening = cv2.resize(opening.view(np.uint8), shape[::-1], interpolation=nearest).view(bool)
        if image.shape[:2] != shape:
            image = cv2.resize(image, shape[::-1], interpolation=cv2.INTER_AREA)
        thickness = wall_thickness * shape[1] / width
        features = room_features(image, rasterize_rooms(at, shape), wall, opening, thickness)
        if classifier is None:
            return rooms, features
        typed = []
        for room, row in zip(rooms, classifier.predict_proba(features), strict=True):
            best = int(np.argmax(row))
            kind = classifier.classes[best] if classifier.classes[best] in ROOM_TYPES else UNKNOWN_TYPE
            confidence = float(row[best])
            typed.append(replace(room, type=kind, type_confidence=confidence, name_hint=TYPE_NAMES.get(kind)))
        return typed, features

    def _wall_and_opening(
        self,
        probs: np.ndarray,
        to_mask: Callable[[np.ndarray], np.ndarray],
        wall_mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``to_mask`` of the wall and opening channels of ``probs`` (the wall's is ``wall_mask`` when
        given); an empty opening mask when the model has no opening channel."""
        if wall_mask is None:
            wall_mask = to_mask(self._channel(probs, "wall"))
        opening = self._channel(probs, "opening")
        return wall_mask, np.zeros_like(wall_mask) if opening is None else to_mask(opening)

    def _channel(self, probs: np.ndarray, name: str) -> np.ndarray | None:
        """The checkpoint's ``name`` channel of ``(C, h, w)`` probabilities, or None when it has none."""
        assert self.model is not None
        channels = list(self.model.metadata.spec.channels)
        return probs[channels.index(name)] if name in channels else None

    def _threshold(self, probs: np.ndarray, options: PipelineOptions) -> tuple[np.ndarray, np.ndarray]:
        """Wall and opening masks from U-Net probabilities ``(C, h, w)`` at their own size."""
        return self._wall_and_opening(probs, lambda p: p > options.threshold)

    def _input_masks(
        self, probs: np.ndarray, image: np.ndarray, options: PipelineOptions, network_wall: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Wall and opening masks at the size of ``image`` from working-scale probabilities, and the
        wall mask with the network's own edges when it is not the one returned and ``network_wall``
        asks for it (else None).

        Bilinear probabilities thresholded, one byte per pixel (:func:`upsample_mask`); with
        ``wall_edges=drawing`` the wall channel's edges are moved onto the plan's own ink first
        (:func:`guide_bytes`, its window growing with the upsampling: :func:`guide_radius`), from the
        same upsampled bytes as the network's mask.
        """
        from model_code.model.inference import (
            guide_bytes,
            guide_radius,
            threshold_bytes,
            upsample_bytes,
            upsample_mask,
            upsampling,
        )

        shape = image.shape[:2]
        wall_mask = network = None
        if options.wall_edges == "drawing":
            upsampled = upsample_bytes(self._channel(probs, "wall"), shape)
            radius = guide_radius(upsampling(probs.shape[1:], shape))
            wall_mask = guide_bytes(upsampled, image, options.threshold, radius)
            if network_wall:
                network = threshold_bytes(upsampled, options.threshold)
        wall_mask, opening_mask = self._wall_and_opening(
            probs, lambda p: upsample_mask(p, shape, options.threshold), wall_mask
        )
        return wall_mask, opening_mask, network

    def analyze_file(
        self,
        source: str | Path | bytes,
        options: PipelineOptions | None = None,
        *,
        page: int | None = None,
        pdf_dpi: float | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> PlanResult:
        """Decode a plan (a file path or its bytes) with the one decoder and run :meth:`analyze`.

        ``page`` (from 1; default ``options.page``, i.e. 1) picks the page of a PDF or multi-page
        TIFF; the document then records it as ``page`` (number and count).  ``pdf_dpi`` and
        ``max_pixels`` are :func:`decode_plan`'s.

        Raises:
            model_code.io.pages.PageNotFoundError: no such page.
            model_code.io.images.ImageDecodeError: the bytes are not a supported image.
            model_code.io.images.ImageTooLargeError: the image is over the decoder's pixel budget.
        """
        options = options or PipelineOptions()
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        decoded = decode_plan(data, options.page if page is None else page, max_pixels, pdf_dpi)
        result = self.analyze(decoded.image, options, dpi=decoded.dpi)
        result.document.page = page_of(decoded)
        return result

    def analyze(
        self,
        image: np.ndarray,
        options: PipelineOptions | None = None,
        between_stages: Callable[[], None] | None = None,
        dpi: float | None = None,
    ) -> PlanResult:
        """Run the whole flow on an ``(H, W, 3)`` uint8 RGB image.

        ``between_stages`` is called after the masks, the vectorizer and the rooms; whatever it
        raises abandons the analysis there (the server's request deadline).  A stage already
        running is never interrupted.  ``dpi``: the resolution a PDF page was rendered at (with a
        printed drawing scale, evidence of the plan's scale).

        A drawing in light lines on a dark ground is analysed as its negative (``inverted`` in the
        document).  A large image that is mostly blank paper round its drawing, or any image in a
        scanner's dark border, is analysed on the drawing's box
        (:func:`~model_code.model.paper.drawing_extent`), so the plan gets the working scale it would
        get alone; the result is placed back on the image (coordinates and masks are the image's,
        ``drawing_area`` is the box; the probabilities cover the box).
        """
        options = options or PipelineOptions()
        options.check()
        image, inverted, extent, paper_ms = self._on_paper(image)
        if extent is None:
            result = self._analyze(image, options, between_stages, dpi)
        else:
            x0, y0, x1, y1 = extent
            result = self._analyze(np.ascontiguousarray(image[y0:y1, x0:x1]), options, between_stages, dpi)
            document = result.document
            document.place_on(x0, y0, image.shape[1], image.shape[0])
            if document.drawing_area is None:
                document.drawing_area = extent
            result.wall_mask = _on_page(result.wall_mask, extent, image.shape[:2])
            result.opening_mask = _on_page(result.opening_mask, extent, image.shape[:2])
        result.document.timing_ms["paper"] = paper_ms
        result.document.inverted = inverted
        return result

    @staticmethod
    def _on_paper(image: np.ndarray) -> tuple[np.ndarray, bool, tuple[int, int, int, int] | None, float]:
        """The drawing as dark ink on light paper (:func:`~model_code.model.paper.dark_on_light`,
        then :func:`~model_code.model.paper.with_dark_ink` for faint ink), whether it was inverted, the
        box to analyse (:func:`~model_code.model.paper.drawing_extent`; None: the whole image) and the
        cost of all three in ms."""
        from model_code.model.paper import dark_on_light, drawing_extent, grey_sample, with_dark_ink

        start = time.perf_counter()
        grey = grey_sample(image)
        image, inverted = dark_on_light(image, grey)
        if inverted:
            grey = 255 - grey
        darker, gain = with_dark_ink(image, grey)
        if gain != 1.0:
            image, grey = darker, grey_sample(darker)
        extent = drawing_extent(image, grey)
        return image, inverted, extent, (time.perf_counter() - start) * 1000

    def _analyze(
        self,
        image: np.ndarray,
        options: PipelineOptions,
        between_stages: Callable[[], None] | None,
        dpi: float | None,
    ) -> PlanResult:
        """:meth:`analyze` on the image as given (the drawing's box, or the whole image)."""
        from model_code.geometry.rooms import detect_rooms, scale_rooms
        from model_code.geometry.vectorize import VectorizeOptions, scale_plan, vectorize

        timing: dict[str, float] = {}
        height, width = image.shape[:2]
        inference: dict[str, Any] | None = None
        at_working = False
        network_wall: np.ndarray | None = None  # the wall mask traced, when not the one returned
        area = self.drawing_area(image, timing)
        if options.backend == "unet":
            probs, choice, passes = self.forward(image, options, timing, area)
            start = time.perf_counter()
            at_working = options.resolution == "working" and max(choice.shape) < max(height, width)
            # Walls and rooms are traced on the network's own edges, at any size: the room stage and
            # the room classifier were tuned on them (on fine hatching the ink's edges are a texture).
            wall_mask, opening_mask, network_wall = self._input_masks(
                probs, image, options, network_wall=not at_working
            )
            work_wall, work_opening = self._working_masks(
                probs, image, options, area, choice, wall_mask, opening_mask, network_wall
            )
            timing["upsample"] = (time.perf_counter() - start) * 1000
            room_types = self.room_type_rows(probs)
            if at_working:
                trace_wall, trace_opening = work_wall, work_opening
            else:
                trace_wall = wall_mask if network_wall is None else network_wall
                trace_opening = opening_mask
                if room_types is not None:
                    from model_code.model.inference import upsample_probabilities

                    room_types = upsample_probabilities(room_types, (height, width))
            inference = {
                "working_scale": choice.scale,
                "working_width": choice.shape[1],
                "working_height": choice.shape[0],
                "wall_thickness_px": choice.wall_thickness_px,
                "method": choice.method,
                "tiles": passes,
                "views": options.views,
            }
        else:
            wall_mask, opening_mask = self._baseline_masks(image, area, timing)
            probs = None
            trace_wall, trace_opening, room_types = wall_mask, opening_mask, None
        if between_stages is not None:
            between_stages()
        scale_x = wall_mask.shape[1] / trace_wall.shape[1]
        scale_y = wall_mask.shape[0] / trace_wall.shape[0]
        min_length = options.min_wall_length
        if min_length is not None:
            min_length /= (scale_x + scale_y) / 2
        texts = self.read_text(image, options, timing)
        if texts:  # letters and digits are not walls
            from model_code.text import suppress_text_strokes

            trace_wall = suppress_text_strokes(trace_wall, texts, 1 / scale_x, 1 / scale_y)
        start = time.perf_counter()
        vec_options = VectorizeOptions(min_wall_length=min_length)
        plan = vectorize(trace_wall, trace_opening, vec_options)
        timing["vectorize"] = (time.perf_counter() - start) * 1000
        if between_stages is not None:
            between_stages()
        start = time.perf_counter()
        drawing = image  # the plan at the size its rooms are traced at
        if trace_wall.shape != image.shape[:2]:
            size = (trace_wall.shape[1], trace_wall.shape[0])
            drawing = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        rooms = detect_rooms(plan, trace_wall, vec_options, room_types=room_types, image=drawing)
        timing["rooms"] = (time.perf_counter() - start) * 1000
        features = None
        if options.backend == "unet":
            start = time.perf_counter()
            rooms, features = self.type_rooms(image, rooms, trace_wall, trace_opening, plan.wall_thickness)
            if features is not None:
                timing["room_types"] = (time.perf_counter() - start) * 1000
        if between_stages is not None:
            between_stages()
        if at_working:
            start = time.perf_counter()
            plan = scale_plan(plan, scale_x, scale_y, wall_mask, opening_mask)
            rooms = scale_rooms(rooms, scale_x, scale_y)
            timing["rescale"] = (time.perf_counter() - start) * 1000
        elif network_wall is not None:  # traced on the network's edges, returned with the drawing's
            start = time.perf_counter()
            plan = scale_plan(plan, 1.0, 1.0, wall_mask, opening_mask)  # thicknesses and centrelines
            timing["remeasure"] = (time.perf_counter() - start) * 1000
        document = ResultDocument(
            width=width,
            height=height,
            walls=plan.walls,
            openings=plan.openings,
            rooms=rooms,
            model=self.model_info(options.backend),
            timing_ms=timing,
            inference=inference,
            drawing_area=area,
        )
        if texts is not None or options.pixels_per_meter is not None:
            from model_code.text import annotate_document

            start = time.perf_counter()
            barrier = wall_mask | opening_mask  # rooms are measured between their wall faces
            annotate_document(document, texts, options.pixels_per_meter, dpi, barrier)
            timing["text_annotate"] = (time.perf_counter() - start) * 1000
        return PlanResult(document, wall_mask, opening_mask, probs, room_types, features)
