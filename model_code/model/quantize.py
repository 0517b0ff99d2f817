"""Post-training int8 quantisation of a checkpoint's ONNX export, calibrated on generated plans.

Two quantisers, one per int8 runtime (:mod:`model_code.model.runtimes`):

* :func:`quantize_onnx_int8` - ONNX Runtime's static quantisation: QDQ format, int8 weights per
  output channel, uint8 activations with min/max ranges (``onnx_int8``).
* :func:`quantize_openvino_int8` - NNCF's post-training quantisation for OpenVINO (``MIXED``
  preset: symmetric weights, asymmetric activations, fast bias correction), with the
  concatenations left in floating point (``openvino_int8``).  OpenVINO requantises a concatenation's
  inputs to one common scale, and the U-Net's decoder concatenates its upsampled deep features with
  shallow skip features of a much smaller range: quantised, that drops wall agreement with fp32 from
  0.995 to 0.92 on the R3D validation plans (worst plan 0.60; docs/benchmarks.md, "int8").

The calibration inputs (:func:`calibration_batches`) are generated plans of every style, some on
drawing sheets, brought to the model's working size the way the pipeline's first pass brings a plan:
fitted into the working size and padded with white paper.  They need nothing but this package, so the
Docker build and a serving container quantise any checkpoint (a customer's trained model included)
without data; real plans can be passed instead (``benchmarks/runtime_compare.py`` measures both).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

CALIBRATION_PLANS = 32  # generated plans; 24 R3D + generated plans gave the same agreement
CALIBRATION_SEED = 8_100_000  # seeds CALIBRATION_SEED .. + CALIBRATION_PLANS - 1
CALIBRATION_SHEET_SHARE = 0.25  # share of the generated plans drawn on a sheet with frame and title block
QUANTIZE_VERSION = 2  # bump whenever the quantisers or the calibration set change (cache key)


def fit_to_working_size(image: np.ndarray, working_size: int) -> np.ndarray:
    """``(S, S, 3)`` uint8: ``image`` fitted into ``working_size`` (aspect kept) on white paper."""
    from model_code.model.scale import fit_shape

    height, width = image.shape[:2]
    h, w = fit_shape(height, width, working_size)
    shrink = h <= height and w <= width
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(
        resized, 0, working_size - h, 0, working_size - w, cv2.BORDER_CONSTANT, value=(255, 255, 255)
    )


def calibration_batches(
    working_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    images: Sequence[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Normalised ``(1, 3, S, S)`` float32 calibration inputs (``S = working_size``).

    ``images`` (``(H, W, 3)`` uint8 RGB plans) replace the default set: :data:`CALIBRATION_PLANS`
    generated plans, 512 to 1,536 px, every style, a quarter of them on drawing sheets.
    """
    from model_code.model.preprocess import normalize

    plans = generated_calibration_plans() if images is None else list(images)
    if not plans:
        raise ValueError("calibration needs at least one image")
    size = int(working_size) + (-int(working_size)) % 32
    return [normalize(fit_to_working_size(image, size), tuple(mean), tuple(std))[None] for image in plans]


def generated_calibration_plans() -> tuple[np.ndarray, ...]:
    """The default calibration set: :data:`CALIBRATION_PLANS` generated RGB plans (made once per process)."""
    return _generated_plans(CALIBRATION_PLANS)


@functools.lru_cache(maxsize=1)
def _generated_plans(count: int) -> tuple[np.ndarray, ...]:
    from model_code.synth import generate_plan

    rng = np.random.default_rng(CALIBRATION_SEED)
    plans = []
    for k in range(count):
        size = int(rng.integers(512, 1537))
        sheet = 1.0 if rng.random() < CALIBRATION_SHEET_SHARE else 0.0
        plans.append(generate_plan(CALIBRATION_SEED + k, size=size, sheet=sheet).image)
    return tuple(plans)


def _onnx_path(model: bytes | str | Path, folder: Path) -> Path:
    """A path holding the ONNX model (the bytes written into ``folder`` when need be)."""
    if isinstance(model, bytes | bytearray):
        path = folder / "model.onnx"
        path.write_bytes(bytes(model))
        return path
    return Path(model)


def quantize_onnx_int8(model: bytes | str | Path, batches: Sequence[np.ndarray]) -> bytes:
    """ONNX Runtime static int8 quantisation (QDQ) of an fp32 ONNX model; returns the model's bytes."""
    if not batches:
        raise ValueError("quantisation needs calibration batches")
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {"image": np.ascontiguousarray(batch, np.float32)}

    with tempfile.TemporaryDirectory(prefix="floorplan-quantize-") as tmp:
        folder = Path(tmp)
        prepared = folder / "prepared.onnx"
        quant_pre_process(str(_onnx_path(model, folder)), str(prepared), skip_symbolic_shape=True)
        target = folder / "int8.onnx"
        quantize_static(
            str(prepared),
            str(target),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            # 7-bit weights: on x86 CPUs without VNNI (AVX2, AVX-512 Skylake, AMD EPYC) the u8 x s8
            # kernels saturate on full-range weights (ONNX Runtime's quantisation guide)
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        return target.read_bytes()


def quantize_openvino_int8(model: bytes | str | Path, batches: Sequence[np.ndarray]) -> Any:
    """NNCF int8 quantisation of an fp32 ONNX model for OpenVINO; returns the ``openvino.Model``."""
    if not batches:
        raise ValueError("quantisation needs calibration batches")
    import nncf
    import openvino as ov

    nncf.set_log_level(logging.WARNING)  # its INFO lines would go to stdout (floorplan export prints a path)
    scratch = tempfile.TemporaryDirectory(prefix="floorplan-quantize-")
    with contextlib.redirect_stdout(sys.stderr), scratch as tmp:
        fp32 = ov.Core().read_model(str(_onnx_path(model, Path(tmp))))
        return nncf.quantize(
            fp32,
            nncf.Dataset(list(batches)),
            preset=nncf.QuantizationPreset.MIXED,
            subset_size=len(batches),
            ignored_scope=nncf.IgnoredScope(types=["Concat"], validate=False),
        )


def openvino_ir_bytes(model: Any) -> tuple[bytes, bytes]:
    """An ``openvino.Model`` as its IR ``(xml, bin)`` bytes (weights kept as they are)."""
    import openvino as ov

    with tempfile.TemporaryDirectory(prefix="floorplan-ir-") as tmp:
        xml = Path(tmp) / "model.xml"
        ov.save_model(model, str(xml), compress_to_fp16=False)
        return xml.read_bytes(), xml.with_suffix(".bin").read_bytes()
