"""The OCR engine: PP-OCRv4 text detection and recognition on ONNX Runtime, sessions loaded once.

The two ONNX models (a DB text detector and a CTC recogniser, with its character list in the model's
metadata) ship inside the ``rapidocr-onnxruntime`` wheel; we use only those files, with our own ONNX
Runtime sessions and our own pre- and post-processing, never its Python code (which would bring
``opencv-python`` beside our ``opencv-python-headless``).  Nothing is downloaded at run time.

Speed on a plan (docs/text.md): the detector runs once at a reduced scale (its longest side at most
``detect_side`` pixels, never enlarged), boxes that cannot be plan text (too small, too thin, too
faint) are dropped, and only the rest are cropped from the full-resolution image and recognised in
batches of similar width.  :func:`shared_reader` keeps one :class:`TextReader` per process, so a
serving worker loads it once, with the worker's thread count.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ENGINE_DISTRIBUTION = "rapidocr-onnxruntime"
DETECTOR_FILE = "ch_PP-OCRv4_det_infer.onnx"
RECOGNISER_FILE = "ch_PP-OCRv4_rec_infer.onnx"
DETECT_SIDE = 1024  # the detector's input: the plan's longest side scaled down to at most this
DETECT_THRESHOLD = 0.3  # text probability of a pixel
BOX_THRESHOLD = 0.5  # mean text probability inside a box
UNCLIP_RATIO = 1.6  # the detector's shrunk text kernels grow back by area * ratio / perimeter
MIN_TEXT_HEIGHT = 5.0  # input pixels: shorter boxes are specks, not words
MAX_BOXES = 80  # the largest candidates recognised; the rest are dropped
REC_HEIGHT = 48
REC_MAX_WIDTH = 960  # recogniser input width cap (a 20:1 line)
REC_BATCH = 8
MIN_CONFIDENCE = 0.5  # recognised strings below this mean character confidence are dropped


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


def _session(path: Path, threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class TextReader:
    """Detects and recognises the text lines of a plan image (RGB uint8) with two ONNX sessions."""

    def __init__(self, threads: int | None = None, detect_side: int = DETECT_SIDE):
        folder = model_directory()
        self.threads = threads
        self.detect_side = int(detect_side)
        self.detector = _session(folder / DETECTOR_FILE, threads)
        self.recogniser = _session(folder / RECOGNISER_FILE, threads)
        meta = self.recogniser.get_modelmeta().custom_metadata_map
        characters = meta.get("character", "").splitlines()
        if not characters:
            raise TextEngineMissing(f"{RECOGNISER_FILE} carries no character list")
        # CTC classes: 0 is the blank, then the model's characters, then a space
        self.characters = ["", *characters, " "]
        self._lock = threading.Lock()

    # -- detection -------------------------------------------------------------------------------------
    def detect(self, image: np.ndarray, detect_side: int | None = None) -> list[tuple[np.ndarray, float]]:
        """Text quads ``(4, 2)`` in input pixels with their detector score, largest first."""
        height, width = image.shape[:2]
        side = self.detect_side if detect_side is None else int(detect_side)
        scale = min(1.0, side / max(height, width))
        dh = max(32, round(height * scale / 32) * 32)
        dw = max(32, round(width * scale / 32) * 32)
        small = cv2.resize(image[..., ::-1], (dw, dh), interpolation=cv2.INTER_AREA)
        batch = ((small.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
        with self._lock:
            prob = self.detector.run(None, {self.detector.get_inputs()[0].name: batch})[0][0, 0]
        bitmap = (prob > DETECT_THRESHOLD).astype(np.uint8)
        bitmap = cv2.dilate(bitmap, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = width / dw, height / dh
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
            quad = cv2.boxPoints(((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle))
            quad = quad * np.array([sx, sy], dtype=np.float32)
            found.append((_order_quad(quad), score))
        found = [q for q in found if _quad_sides(q[0])[1] >= MIN_TEXT_HEIGHT]
        found.sort(key=lambda q: -float(np.prod(_quad_sides(q[0]))))
        return found[:MAX_BOXES]

    # -- recognition -----------------------------------------------------------------------------------
    def recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Text and mean character confidence of each BGR crop (text reading left to right)."""
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        ratios = [c.shape[1] / max(1, c.shape[0]) for c in crops]
        order = np.argsort(ratios)
        name = self.recogniser.get_inputs()[0].name
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
                preds = self.recogniser.run(None, {name: batch})[0]
            for row, index in enumerate(chunk):
                results[index] = self._decode(preds[row])
        return results

    def _decode(self, pred: np.ndarray) -> tuple[str, float]:
        ids = pred.argmax(axis=1)
        probs = pred.max(axis=1)
        keep = np.ones(len(ids), bool)
        keep[1:] = ids[1:] != ids[:-1]
        keep &= ids != 0
        if not keep.any():
            return "", 0.0
        text = "".join(self.characters[i] if i < len(self.characters) else "" for i in ids[keep])
        return text.strip(), float(probs[keep].mean())

    # -- both ------------------------------------------------------------------------------------------
    def read(self, image: np.ndarray, detect_side: int | None = None) -> list[TextBox]:
        """Every text line read on ``image`` (``(H, W, 3)`` uint8 RGB) with enough confidence."""
        quads = self.detect(image, detect_side)
        if not quads:
            return []
        bgr = np.ascontiguousarray(image[..., ::-1])
        crops, owners, angles = [], [], []
        for index, (quad, _) in enumerate(quads):
            crop, angle = _crop(bgr, quad)
            vertical = crop.shape[0] >= 1.5 * crop.shape[1]
            if vertical:  # a label turned by 90 degrees: read it both ways, keep the better
                for k, turn in ((1, 90.0), (-1, -90.0)):
                    crops.append(np.ascontiguousarray(np.rot90(crop, k)))
                    owners.append(index)
                    angles.append(turn)
            else:
                crops.append(crop)
                owners.append(index)
                angles.append(angle)
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


_SHARED: dict[tuple[int | None, int], TextReader] = {}
_SHARED_LOCK = threading.Lock()


def shared_reader(threads: int | None = None, detect_side: int = DETECT_SIDE) -> TextReader:
    """The process's one :class:`TextReader` for these settings (loaded on first use).

    Raises:
        TextEngineMissing: the OCR models are not installed.
    """
    key = (threads, int(detect_side))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = TextReader(threads, detect_side)
        return _SHARED[key]
