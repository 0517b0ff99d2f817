"""The OCR engine: PP-OCRv4 text detection and recognition on OpenVINO or ONNX Runtime, loaded once.

The two ONNX models (a DB text detector and a CTC recogniser, with its character list in the model's
metadata) ship inside the ``rapidocr-onnxruntime`` wheel; we use only those files, with our own
sessions and our own pre- and post-processing, never its Python code (which would bring
``opencv-python`` beside our ``opencv-python-headless``).  Nothing is downloaded at run time.

Runtime (:func:`default_runtime`): OpenVINO's CPU plugin in fp32 when ``openvino`` is importable
(faster than ONNX Runtime on these two models, docs/text.md "Speed"), else ONNX Runtime.  bf16 is
available for measurement only (``precision="bf16"``): it is slower on CPUs without AMX or
AVX512-BF16, so it is never a default.

Speed on a plan (docs/text.md): the detector runs once at a reduced scale (its longest side at most
``detect_side`` pixels, never enlarged), words the detector cut apart are joined into their line
(:func:`merge_line_parts`), boxes that cannot be plan text (too small, too thin, too faint) are
dropped, and only the rest are cropped from the full-resolution image and recognised, each at its
own width (padding a crop to a batch's widest costs the recogniser the spaces between words).  A thin
line running through an upright label and on past both its ends (a grid line) is painted out of its
crop first (:func:`_erase_crossing_lines`), or it is read as hyphens.
:func:`shared_reader` keeps one :class:`TextReader` per process, so a serving worker loads it once,
with the worker's thread count.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ENGINE_DISTRIBUTION = "rapidocr-onnxruntime"
DETECTOR_FILE = "ch_PP-OCRv4_det_infer.onnx"
RECOGNISER_FILE = "ch_PP-OCRv4_rec_infer.onnx"
DETECT_SIDE = 2048  # the detector's view of the plan: its longest side scaled down to at most this
DETECT_TILE = 1280  # the detector runs on tiles of at most this side (memory), ...
DETECT_OVERLAP = 320  # ... overlapping by this much: a line up to this long lies whole in one tile
DETECT_THRESHOLD = 0.3  # text probability of a pixel
BOX_THRESHOLD = 0.5  # mean text probability inside a box
UNCLIP_RATIO = 1.6  # the detector's shrunk text kernels grow back by area * ratio / perimeter
MIN_TEXT_HEIGHT = 5.0  # input pixels: shorter boxes are specks, not words
MAX_BOXES = 80  # the largest candidates recognised; the rest are dropped
REC_HEIGHT = 48
REC_MAX_WIDTH = 960  # recogniser input width cap (a 20:1 line)
CROSSING_COVERAGE = 0.35  # share of a line height inked beside a label, on both sides: a line through it
CROSSING_MAX_THICKNESS = 0.2  # of the label's height: thicker bands through a label are left alone
REC_BATCH = 1  # each crop at its own width: padded to a batch's widest, crops lose their spaces
SPACE_EVIDENCE = 0.05  # space probability in a gap between two characters that reads as a space
MIN_CONFIDENCE = 0.5  # recognised strings below this mean character confidence are dropped
SAME_TILT_DEGREES = 3.0  # boxes whose sides differ in angle by at most this may be parts of one line
SQUARE_RATIO = 1.3  # a box whose sides differ by less than this factor (a lone glyph) has no tilt to compare
PART_THICKNESS_RATIO = 0.6  # two parts of one line: the thinner at least this of the thicker, across the line
PART_OVERLAP = 0.6  # ... overlapping across the line by this much of the thinner
PART_GAP = 0.5  # ... with at most this gap along the line, in line thicknesses
GLYPH_GAP = 1.5  # a lone glyph found past a line's end: at most this far from it, in line heights (ink)
GLYPH_WIDTH = 0.8  # ... at most this wide
GLYPH_SPAN = 0.6  # ... and spanning at least this of the line's ink across it
GLYPH_CLEAR = 0.6  # ... with clear paper after it for this much
GLYPH_SHIFT = 0.25  # ... reaching past the line's ink across it by at most this (the box's tilt is not exact)
ELONGATED = 1.5  # a box this many times longer along an axis than across runs along it
RUNTIMES = ("openvino", "onnxruntime")  # what runs the two models; the first importable is the default
CHARACTER_KEY = "character"  # the recogniser's metadata entry holding its character list


class TextEngineMissing(RuntimeError):
    """The OCR models are not installed (``pip install --no-deps rapidocr-onnxruntime``)."""


@dataclass
class TextBox:
    """One line of text read on the plan: its axis-aligned box in input pixels, the text, its confidence.

    ``quad`` is the (4, 2) rotated rectangle the detector found (for rotated labels); ``angle`` its
    reading direction in degrees (0 = left to right, counter-clockwise positive).
    """

    box: tuple[float, float, float, float]
    text: str
    confidence: float
    quad: np.ndarray | None = None
    angle: float = 0.0

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return ((x0 + x1) / 2, (y0 + y1) / 2)

    @property
    def height(self) -> float:
        """The text's line height: the shorter side of its rotated rectangle."""
        if self.quad is not None:
            q = self.quad
            return float(min(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[1] - q[2])))
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def model_directory() -> Path:
    """Where the installed engine distribution keeps its ONNX models (found without importing it)."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or spec.origin is None:
        raise TextEngineMissing(
            f"the OCR models are not installed: pip install --no-deps {ENGINE_DISTRIBUTION} (docs/text.md)"
        )
    folder = Path(spec.origin).parent / "models"
    if not (folder / DETECTOR_FILE).is_file() or not (folder / RECOGNISER_FILE).is_file():
        raise TextEngineMissing(f"{folder} lacks {DETECTOR_FILE} or {RECOGNISER_FILE}")
    return folder


def engine_available() -> bool:
    """True when the OCR models are installed."""
    try:
        model_directory()
    except TextEngineMissing:
        return False
    return True


def default_runtime() -> str:
    """``openvino`` when the package is importable, else ``onnxruntime`` (see :data:`RUNTIMES`)."""
    return "openvino" if importlib.util.find_spec("openvino") is not None else "onnxruntime"


class OnnxRuntimeSession:
    """One model on ONNX Runtime's CPU provider: :meth:`run` maps the input batch to the first output."""

    def __init__(self, path: Path, threads: int | None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The model's first output for ``batch`` (float32 NCHW)."""
        return self.session.run(None, {self.input_name: batch})[0]

    def metadata(self, key: str) -> str:
        """The ONNX file's metadata entry ``key`` (empty when absent)."""
        return self.session.get_modelmeta().custom_metadata_map.get(key, "")


class OpenVINOSession:
    """One model compiled by OpenVINO's CPU plugin, with one infer request reused for every call.

    Threads as given (``None``: OpenVINO's choice), not pinned to cores (two workers of a container must
    not fight over one core), one stream and the latency hint.  ``precision`` is the inference
    precision, ``f32`` (the default, the same arithmetic everywhere) or ``bf16`` (measurement only:
    fast with AMX, several times slower without).  Input shapes stay dynamic: each new shape costs a
    slower first run, after which OpenVINO reuses its kernels.
    """

    def __init__(self, path: Path, threads: int | None, precision: str = "f32"):
        import openvino as ov

        core = ov.Core()
        self.model = core.read_model(str(path))
        config: dict[str, Any] = {
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": precision,
            "ENABLE_CPU_PINNING": False,
        }
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.compiled = core.compile_model(self.model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.lock = threading.Lock()  # an infer request is not thread-safe; the reader is shared

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The model's first output for ``batch`` (float32 NCHW), copied out of the request's buffer."""
        array = np.ascontiguousarray(batch, dtype=np.float32)
        with self.lock:
            self.request.infer([array])
            return np.array(self.request.get_output_tensor(0).data, dtype=np.float32, copy=True)

    def metadata(self, key: str) -> str:
        """The ONNX file's metadata entry ``key`` (kept under ``framework``; empty when absent)."""
        if not self.model.has_rt_info(["framework", key]):
            return ""
        return str(self.model.get_rt_info(["framework", key]).astype(str))


def _session(path: Path, threads: int | None, runtime: str, precision: str = "f32"):
    """A session running ``path`` on ``runtime`` (see :data:`RUNTIMES`)."""
    if runtime == "openvino":
        return OpenVINOSession(path, threads, precision)
    if runtime == "onnxruntime":
        if precision != "f32":
            raise ValueError(f"ONNX Runtime runs the OCR models in f32 only, not {precision}")
        return OnnxRuntimeSession(path, threads)
    raise ValueError(f"runtime must be one of {list(RUNTIMES)}, got {runtime!r}")


class TextReader:
    """Detects and recognises the text lines of a plan image (RGB uint8) with two model sessions.

    ``runtime`` is ``openvino`` or ``onnxruntime`` (``None``: :func:`default_runtime`); ``precision``
    the OpenVINO inference precision (``f32``; ``bf16`` for measurement only).
    """

    def __init__(
        self,
        threads: int | None = None,
        detect_side: int = DETECT_SIDE,
        runtime: str | None = None,
        precision: str = "f32",
    ):
        folder = model_directory()
        self.threads = threads
        self.detect_side = int(detect_side)
        self.runtime = default_runtime() if runtime is None else runtime
        self.detector = _session(folder / DETECTOR_FILE, threads, self.runtime, precision)
        self.recogniser = _session(folder / RECOGNISER_FILE, threads, self.runtime, precision)
        characters = self.recogniser.metadata(CHARACTER_KEY).splitlines()
        if not characters:
            raise TextEngineMissing(f"{RECOGNISER_FILE} carries no character list")
        # CTC classes: 0 is the blank, then the model's characters, then a space
        self.characters = ["", *characters, " "]
        self._lock = threading.Lock()

    # -- detection -------------------------------------------------------------------------------------
    def detect(self, image: np.ndarray, detect_side: int | None = None) -> list[tuple[np.ndarray, float]]:
        """Text quads ``(4, 2)`` in input pixels with their detector score, largest first.

        The plan is seen with its longest side scaled down to at most ``detect_side`` (default: the
        reader's), in overlapping tiles of at most :data:`DETECT_TILE` pixels (:func:`tile_starts`),
        so the detector's memory stays that of one tile whatever the side.  A line is kept from the
        tile whose core (the tile less half the overlap on each inner side) holds its centre.
        """
        height, width = image.shape[:2]
        side = self.detect_side if detect_side is None else int(detect_side)
        scale = min(1.0, side / max(height, width))
        dh = max(32, round(height * scale / 32) * 32)
        dw = max(32, round(width * scale / 32) * 32)
        small = cv2.resize(image[..., ::-1], (dw, dh), interpolation=cv2.INTER_AREA)
        sx, sy = width / dw, height / dh
        found = []
        rows, cols = tile_starts(dh), tile_starts(dw)
        for i, y0 in enumerate(rows):
            for j, x0 in enumerate(cols):
                tile = small[y0 : y0 + DETECT_TILE, x0 : x0 + DETECT_TILE]
                core = (
                    _core_edge(cols, j, dw, DETECT_TILE),
                    _core_edge(rows, i, dh, DETECT_TILE),
                    _core_edge(cols, j + 1, dw, DETECT_TILE),
                    _core_edge(rows, i + 1, dh, DETECT_TILE),
                )
                for quad, score in self._detect_tile(tile):
                    centre = quad.mean(axis=0) + np.array([x0, y0], np.float32)
                    if core[0] <= centre[0] < core[2] and core[1] <= centre[1] < core[3]:
                        quad = (quad + np.array([x0, y0], np.float32)) * np.array([sx, sy], dtype=np.float32)
                        found.append((_order_quad(quad), score))
        found = merge_line_parts(found)
        found = [q for q in found if _quad_sides(q[0])[1] >= MIN_TEXT_HEIGHT]
        found.sort(key=lambda q: -float(np.prod(_quad_sides(q[0]))))
        bgr = np.ascontiguousarray(image[..., ::-1])
        return [(_take_trailing_glyph(bgr, quad), score) for quad, score in found[:MAX_BOXES]]

    def _detect_tile(self, tile: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """Text quads ``(4, 2)`` in the pixels of one BGR tile (sides multiples of 32) with their scores."""
        batch = ((tile.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
        with self._lock:
            prob = self.detector.run(batch)[0, 0]
        bitmap = (prob > DETECT_THRESHOLD).astype(np.uint8)
        bitmap = cv2.dilate(bitmap, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        found = []
        for contour in contours:
            if len(contour) < 3:
                continue
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
            if min(rw, rh) < 2:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            patch = np.zeros((h, w), np.uint8)
            cv2.drawContours(patch, [contour - np.array([x, y])], -1, 1, -1)
            score = float(cv2.mean(prob[y : y + h, x : x + w], patch)[0])
            if score < BOX_THRESHOLD:
                continue
            grow = rw * rh * UNCLIP_RATIO / (2 * (rw + rh))
            found.append((cv2.boxPoints(((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle)), score))
        return found

    # -- recognition -----------------------------------------------------------------------------------
    def recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Text and mean character confidence of each BGR crop (text reading left to right)."""
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        ratios = [c.shape[1] / max(1, c.shape[0]) for c in crops]
        order = np.argsort(ratios)
        for start in range(0, len(order), REC_BATCH):
            chunk = order[start : start + REC_BATCH]
            width = int(min(REC_MAX_WIDTH, max(REC_HEIGHT * max(ratios[i] for i in chunk), 4 * REC_HEIGHT)))
            width = int(math.ceil(width / 8) * 8)
            batch = np.zeros((len(chunk), 3, REC_HEIGHT, width), np.float32)
            for row, index in enumerate(chunk):
                crop = crops[index]
                w = int(min(width, math.ceil(REC_HEIGHT * ratios[index])))
                resized = cv2.resize(crop, (max(1, w), REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
                batch[row, :, :, :w] = ((resized.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
            with self._lock:
                preds = self.recogniser.run(batch)
            for row, index in enumerate(chunk):
                results[index] = self._decode(preds[row])
        return results

    def _decode(self, pred: np.ndarray) -> tuple[str, float]:
        """Greedy CTC decoding, with a space wherever the gap between two characters says one.

        The recogniser (trained mostly on Chinese) is shy of spaces: in the blank frames between two
        words the space class often rises well above its level inside a word without winning the
        frame.  A gap whose space probability reaches :data:`SPACE_EVIDENCE` is read as a space.
        """
        ids = pred.argmax(axis=1)
        probs = pred.max(axis=1)
        keep = np.ones(len(ids), bool)
        keep[1:] = ids[1:] != ids[:-1]
        keep &= ids != 0
        if not keep.any():
            return "", 0.0
        space = len(self.characters) - 1
        frames = np.flatnonzero(keep)
        out = []
        for k, frame in enumerate(frames):
            index = int(ids[frame])
            if k and index != space and int(ids[frames[k - 1]]) != space:
                gap = pred[frames[k - 1] + 1 : frame, space]
                if gap.size and float(gap.max()) >= SPACE_EVIDENCE:
                    out.append(" ")
            out.append(self.characters[index] if index < len(self.characters) else "")
        return "".join(out).strip(), float(probs[keep].mean())

    # -- both ------------------------------------------------------------------------------------------
    @staticmethod
    def crops(
        image: np.ndarray, quads: list[tuple[np.ndarray, float]]
    ) -> tuple[list[np.ndarray], list[int], list[float]]:
        """The BGR crops to recognise for ``quads``, with the index of the quad each reads and its angle.

        A label turned by 90 degrees (a crop at least 1.5 times taller than wide) gives two crops, one
        turned each way; :meth:`read` keeps the more confident reading.
        """
        bgr = np.ascontiguousarray(image[..., ::-1])
        crops: list[np.ndarray] = []
        owners: list[int] = []
        angles: list[float] = []
        for index, (quad, _) in enumerate(quads):
            crop, angle = _crop(bgr, quad)
            vertical = crop.shape[0] >= 1.5 * crop.shape[1]
            if angle == 0.0 and not vertical:
                crop = _erase_crossing_lines(bgr, quad, crop)
            if vertical:  # a label turned by 90 degrees: read it both ways, keep the better
                for k, turn in ((1, 90.0), (-1, -90.0)):
                    crops.append(np.ascontiguousarray(np.rot90(crop, k)))
                    owners.append(index)
                    angles.append(turn)
            else:
                crops.append(crop)
                owners.append(index)
                angles.append(angle)
        return crops, owners, angles

    def read(self, image: np.ndarray, detect_side: int | None = None) -> list[TextBox]:
        """Every text line read on ``image`` (``(H, W, 3)`` uint8 RGB) with enough confidence."""
        quads = self.detect(image, detect_side)
        if not quads:
            return []
        crops, owners, angles = self.crops(image, quads)
        best: dict[int, tuple[str, float, float]] = {}
        for (text, confidence), index, angle in zip(self.recognise(crops), owners, angles, strict=True):
            if index not in best or confidence > best[index][1]:
                best[index] = (text, confidence, angle)
        out = []
        for index, (quad, _) in enumerate(quads):
            text, confidence, angle = best[index]
            if not text or confidence < MIN_CONFIDENCE:
                continue
            x0, y0 = quad.min(axis=0)
            x1, y1 = quad.max(axis=0)
            h, w = image.shape[:2]
            box = (
                max(0.0, float(x0)),
                max(0.0, float(y0)),
                min(float(w), float(x1)),
                min(float(h), float(y1)),
            )
            out.append(TextBox(box, text, confidence, quad, angle))
        out.sort(key=lambda t: (t.box[1], t.box[0]))
        return out


def tile_starts(length: int, tile: int = DETECT_TILE, overlap: int = DETECT_OVERLAP) -> list[int]:
    """Where the detector's tiles start along a side of ``length`` pixels (a multiple of 32): as few
    tiles of at most ``tile`` pixels as overlap by at least ``overlap``, spread evenly, each start a
    multiple of 32 (so every tile's sides are too)."""
    if length <= tile:
        return [0]
    last = length - tile
    count = 1 + math.ceil(last / (tile - overlap - 32))  # a start rounded down loses < 32 of overlap
    return [32 * math.floor(last * k / (count - 1) / 32) if k < count - 1 else last for k in range(count)]


def _core_edge(starts: list[int], index: int, length: int, tile: int) -> float:
    """The edge between tile ``index - 1``'s core and tile ``index``'s: the middle of their overlap
    (0 before the first tile, ``length`` after the last)."""
    if index <= 0:
        return 0.0
    if index >= len(starts):
        return float(length)
    return (starts[index] + min(starts[index - 1] + tile, length)) / 2.0


def _tilt(quad: np.ndarray) -> float:
    """The angle of a rectangle's sides to the axes, in degrees in ``[-45, 45)``."""
    dx, dy = quad[1] - quad[0]
    return (math.degrees(math.atan2(float(dy), float(dx))) + 45.0) % 90.0 - 45.0


def _box_in_frame(quad: np.ndarray, tilt: float) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` of ``quad`` in the frame turned by ``tilt`` degrees (a tilted box upright)."""
    a = math.radians(tilt)
    turn = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]], np.float32)
    points = quad @ turn.T
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _same_line(a: tuple[float, ...], b: tuple[float, ...], axis: int) -> bool:
    """Whether upright boxes ``a`` and ``b`` are two parts of one line running along ``axis`` (0: x, 1: y).

    The parts must be about as thick across the line (:data:`PART_THICKNESS_RATIO`), overlap
    across it by most of the thinner one, follow each other along it with a gap of at most
    :data:`PART_GAP` of the line's thickness, and one of them must run along it (a word; the other
    may be a glyph such as the "1" of "Chambre 1").  Two lines of a label, one above the other,
    run across the direction they follow each other in, so they are never joined.
    """
    along = [a[2 + axis] - a[axis], b[2 + axis] - b[axis]]
    across = [a[3 - axis] - a[1 - axis], b[3 - axis] - b[1 - axis]]
    if min(across) <= 0 or min(along) <= 0 or min(across) < PART_THICKNESS_RATIO * max(across):
        return False
    overlap = min(a[3 - axis], b[3 - axis]) - max(a[1 - axis], b[1 - axis])
    if overlap < PART_OVERLAP * min(across):
        return False
    gap = max(b[axis] - a[2 + axis], a[axis] - b[2 + axis])
    if gap > PART_GAP * max(across):
        return False
    return any(g >= ELONGATED * c for c, g in zip(across, along, strict=True))


def merge_line_parts(found: list[tuple[np.ndarray, float]]) -> list[tuple[np.ndarray, float]]:
    """Detections that are parts of one line (words the detector cut apart) joined into one box.

    The detector often cuts a label at the space between its words ("Chambre" | "1", or the
    words of a label turned by 90 degrees), so the recogniser never sees the whole name.  Boxes
    tilted alike (within :data:`SAME_TILT_DEGREES`: an upright plan, or one scanned a little
    askew) that :func:`_same_line` pairs, along either side of their frame, become one box (their
    union in that frame, with the parts' area-weighted score); chains join.  A near-square box (a
    lone glyph such as the "3" of "HABITACION 3", sides within :data:`SQUARE_RATIO`) has no
    direction of its own: the detector's rectangle around it can come out turned by any angle, so
    its tilt is not compared, and it counts as a square of its area in its neighbour's frame.  A
    group's frame is that of its longest member.
    """
    tilts = [_tilt(quad) for quad, _ in found]
    sides = [_quad_sides(quad) for quad, _ in found]
    square = [long < SQUARE_RATIO * short for long, short in sides]

    def shape(i: int, tilt: float) -> np.ndarray:
        """Box ``i``'s corners; a near-square one as a square of its area turned by ``tilt``."""
        if not square[i]:
            return found[i][0]
        half = math.sqrt(sides[i][0] * sides[i][1]) / 2
        a = math.radians(tilt)
        back = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
        corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]], np.float32)
        return corners @ back.T + found[i][0].mean(axis=0)

    parent = list(range(len(found)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(found)):
        for j in range(i + 1, len(found)):
            if not (square[i] or square[j]) and abs(tilts[i] - tilts[j]) > SAME_TILT_DEGREES:
                continue
            tilt = tilts[j] if square[i] and not square[j] else tilts[i]
            a = _box_in_frame(shape(i, tilt), tilt)
            b = _box_in_frame(shape(j, tilt), tilt)
            if _same_line(a, b, 0) or _same_line(a, b, 1):
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(found)):
        groups.setdefault(root(i), []).append(i)
    out = []
    for members in groups.values():
        if len(members) == 1:
            out.append(found[members[0]])
            continue
        tilt = tilts[max(members, key=lambda i: sides[i][0])]
        parts = [_box_in_frame(shape(i, tilt), tilt) for i in members]
        x0 = min(p[0] for p in parts)
        y0 = min(p[1] for p in parts)
        x1 = max(p[2] for p in parts)
        y1 = max(p[3] for p in parts)
        areas = [(p[2] - p[0]) * (p[3] - p[1]) for p in parts]
        score = sum(found[i][1] * w for i, w in zip(members, areas, strict=True)) / max(1e-6, sum(areas))
        a = math.radians(tilt)
        back = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32) @ back.T
        out.append((_order_quad(corners), float(score)))
    return out


def _ink_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of True in a 1-D array."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _take_trailing_glyph(bgr: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """``quad`` lengthened over a lone glyph the detector missed just after its line ("Chambre" | "1").

    The detector often sees no text in a thin lone digit after a word.  In the line's band, just
    past its end (either end of a label turned by 90 degrees), dark ink one space away from the
    word that is no wider than :data:`GLYPH_WIDTH` line heights, stays inside the band (a wall
    or a line crossing the band touches its edges), spans at least :data:`GLYPH_SPAN` of the
    word's ink across the line and is followed by clear paper (:data:`GLYPH_CLEAR`) is taken as
    that glyph; the recogniser then reads the line with it.
    """
    tl, tr, br, bl = np.asarray(quad, np.float32)
    across_x = float(np.linalg.norm(tr - tl)) >= float(np.linalg.norm(bl - tl))
    length = float(np.linalg.norm(tr - tl) if across_x else np.linalg.norm(bl - tl))
    thickness = float(np.linalg.norm(bl - tl) if across_x else np.linalg.norm(tr - tl))
    if thickness < MIN_TEXT_HEIGHT or length < ELONGATED * thickness:
        return quad
    along = ((tr - tl) if across_x else (bl - tl)) / length
    reach = 1.5 * thickness
    # in the frame with the line along x: the word, then ``reach`` on each side
    back, ahead = -along * reach, along * reach
    if across_x:
        longer = np.array([tl + back, tr + ahead, br + ahead, bl + back], np.float32)
    else:
        longer = np.array([tl + back, tr + back, br + ahead, bl + ahead], np.float32)
    height, width = bgr.shape[:2]
    if longer.min() < 0 or longer[:, 0].max() >= width or longer[:, 1].max() >= height:
        return quad
    crop, _ = _crop(bgr, longer)
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    if not across_x:
        gray = np.ascontiguousarray(gray.T)
    if int(gray.max()) - int(gray.min()) < 60:
        return quad
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    h, w = ink.shape
    scale = w / (length + 2 * reach)
    word0, word1 = reach * scale, (reach + length) * scale
    rows = np.flatnonzero(ink[:, int(word0) : int(word1)].any(axis=1))
    if len(rows) == 0:
        return quad
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    runs = _ink_runs(ink.any(axis=0))
    line = bottom - top
    gain = [0.0, 0.0]
    # an upright line reads left to right: only its right end; a turned label: either end
    for side in (+1,) if across_x else (+1, -1):
        ordered = runs if side > 0 else [(w - r[1], w - r[0]) for r in reversed(runs)]
        end = word1 if side > 0 else w - word0
        k = next((k for k, r in enumerate(ordered) if r[1] > end + 0.1 * line), None)
        if not k:  # nothing past the end, or nothing of the word before it
            continue
        run, previous = ordered[k], ordered[k - 1]
        gap = run[0] - previous[1]
        if not (0.3 * line <= gap <= GLYPH_GAP * line and run[1] - run[0] <= GLYPH_WIDTH * line):
            continue
        following = ordered[k + 1][0] if k + 1 < len(ordered) else w
        if previous[1] <= end - length * scale or following - run[1] < GLYPH_CLEAR * line:
            continue
        r0, r1 = (run[0], run[1]) if side > 0 else (w - run[1], w - run[0])
        glyph_rows = np.flatnonzero(ink[:, r0:r1].any(axis=1))
        g0, g1 = int(glyph_rows[0]), int(glyph_rows[-1]) + 1
        if g0 == 0 or g1 == h or (g1 - g0) < GLYPH_SPAN * line:
            continue
        if g0 < top - GLYPH_SHIFT * line or g1 > bottom + GLYPH_SHIFT * line:
            continue
        gain[side < 0] = max(0.0, (run[1] + 0.25 * line - end) / scale)
    if not any(gain):
        return quad
    forward, backward = along * gain[0], along * gain[1]
    if across_x:
        return np.array([tl - backward, tr + forward, br + forward, bl - backward], np.float32)
    return np.array([tl - backward, tr - backward, br + forward, bl + forward], np.float32)


def _quad_sides(quad: np.ndarray) -> tuple[float, float]:
    """(long side, short side) of a rectangle's four corners."""
    a = float(np.linalg.norm(quad[0] - quad[1]))
    b = float(np.linalg.norm(quad[1] - quad[2]))
    return max(a, b), min(a, b)


def _order_quad(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left of the text's reading frame."""
    quad = np.asarray(quad, np.float32)
    s = quad.sum(axis=1)
    d = np.diff(quad, axis=1)[:, 0]
    return np.array(
        [quad[np.argmin(s)], quad[np.argmin(d)], quad[np.argmax(s)], quad[np.argmax(d)]], np.float32
    )


def _erase_crossing_lines(bgr: np.ndarray, quad: np.ndarray, crop: np.ndarray) -> np.ndarray:
    """An upright crop without the thin horizontal lines that run through it (a grid or axis line,
    solid or dashed, through a label: read as hyphens between its words).

    A row of the crop is such a line when the same row is inked along at least
    :data:`CROSSING_COVERAGE` of a line height on *both* sides just outside the crop; runs of such
    rows at most :data:`CROSSING_MAX_THICKNESS` of the crop's height are painted with the paper.
    """
    height, width = bgr.shape[:2]
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1 = int(np.ceil(quad[:, 0].max()))
    rows = crop.shape[0]
    reach = rows
    if rows < MIN_TEXT_HEIGHT or x0 - reach < 0 or x1 + reach > width or y0 < 0 or y0 + rows > height:
        return crop
    gray = cv2.cvtColor(bgr[y0 : y0 + rows, x0 - reach : x1 + reach], cv2.COLOR_BGR2GRAY)
    paper = float(np.percentile(gray, 90))
    ink = gray < paper - 60
    left, right = ink[:, :reach].mean(axis=1), ink[:, -reach:].mean(axis=1)
    crossing = (left >= CROSSING_COVERAGE) & (right >= CROSSING_COVERAGE)
    if not crossing.any():
        return crop
    light = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).ravel() >= paper - 10
    colour = np.median(crop.reshape(-1, 3)[light], axis=0) if light.any() else np.full(3, 255.0)
    out = crop.copy()
    for first, last in _ink_runs(crossing):
        if last - first <= CROSSING_MAX_THICKNESS * rows:
            out[first:last] = colour.astype(np.uint8)
    return out


def _crop(bgr: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, float]:
    """The text inside ``quad`` straightened into its own image, and its angle (degrees)."""
    width = round(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = round(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    width, height = max(width, 2), max(height, 2)
    dx, dy = quad[1] - quad[0]
    angle = -math.degrees(math.atan2(float(dy), float(dx)))
    if abs(angle) < 1.0:  # upright: a plain slice, no resampling
        x0, y0 = np.floor(quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
        h, w = bgr.shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            return bgr[y0:y1, x0:x1], 0.0
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    crop = cv2.warpPerspective(
        bgr, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, angle


_SHARED: dict[tuple[int | None, int, str], TextReader] = {}
_SHARED_LOCK = threading.Lock()


def shared_reader(
    threads: int | None = None, detect_side: int = DETECT_SIDE, runtime: str | None = None
) -> TextReader:
    """The process's one :class:`TextReader` for these settings (loaded on first use; ``runtime``
    ``None`` is :func:`default_runtime`).

    Raises:
        TextEngineMissing: the OCR models are not installed.
    """
    key = (threads, int(detect_side), default_runtime() if runtime is None else runtime)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = TextReader(threads, detect_side, key[2])
        return _SHARED[key]
