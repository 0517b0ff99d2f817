"""Pixels per metre from the plan's own words: evidence from each measurement, one robust estimate.

Each measurement matched to a room gives one value of pixels per metre:

* a room's printed dimensions ``a x b`` against the sides of the room's minimum rotated rectangle
  (the longer printed side with the longer drawn side); the two sides must agree (within
  :data:`SIDE_AGREEMENT`), else the evidence counts for little (a room cut differently from what
  the text describes);
* a room's printed area against its polygon's area in pixels (square root of the ratio);
* a drawing scale ``1:100`` with the resolution a PDF page was rendered at (``dpi / 0.0254 / 100``).

:func:`estimate_scale` takes the weighted median of the values (in log), keeps the evidence within
:data:`INLIER_TOLERANCE` of it and averages those; the confidence grows with the inliers' share of
the weight and their number.  One outlier among three pieces of evidence does not move it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

INCH = 0.0254
SIDE_AGREEMENT = 0.12  # |log(ppm from the long side / ppm from the short side)| for full weight
INLIER_TOLERANCE = 0.06  # relative distance from the median that still counts as agreeing
WEIGHTS = {"dimensions": 1.0, "area": 0.7, "scale": 1.5, "length": 0.4}


@dataclass
class Evidence:
    """One value of pixels per metre and where it came from."""

    kind: str  # dimensions | area | scale | length
    text: str
    pixels_per_meter: float
    weight: float
    box: tuple[float, float, float, float] | None = None
    room_id: str | None = None
    wall_id: str | None = None
    used: bool = False

    def to_dict(self) -> dict:
        out: dict = {
            "kind": self.kind,
            "text": self.text,
            "pixels_per_meter": round(self.pixels_per_meter, 3),
        }
        if self.box is not None:
            out["box"] = [round(v, 1) for v in self.box]
        if self.room_id is not None:
            out["room_id"] = self.room_id
        if self.wall_id is not None:
            out["wall_id"] = self.wall_id
        out["weight"] = round(self.weight, 3)
        out["used"] = self.used
        return out


@dataclass
class ScaleEstimate:
    """The combined estimate: pixels per metre, its confidence (0..1), source and evidence."""

    pixels_per_meter: float
    confidence: float
    source: str  # text | pdf | option
    evidence: list[Evidence] = field(default_factory=list)


def dimension_evidence(
    sides_m: tuple[float, ...], sides_px: tuple[float, float]
) -> tuple[float, float] | None:
    """(pixels per metre, weight) of printed sides against a room's drawn sides, or ``None``."""
    if len(sides_m) != 2 or min(sides_px) <= 0:
        return None
    long_m, short_m = max(sides_m), min(sides_m)
    long_px, short_px = max(sides_px), min(sides_px)
    a, b = long_px / long_m, short_px / short_m
    disagreement = abs(math.log(a / b))
    weight = WEIGHTS["dimensions"] * (1.0 if disagreement <= SIDE_AGREEMENT else 0.15)
    return math.sqrt(a * b), weight


def area_evidence(area_m2: float, area_px: float) -> tuple[float, float] | None:
    """(pixels per metre, weight) of a printed area against a room's area in pixels."""
    if area_m2 <= 0 or area_px <= 0:
        return None
    return math.sqrt(area_px / area_m2), WEIGHTS["area"]


def ratio_evidence(ratio: float, dpi: float) -> tuple[float, float]:
    """(pixels per metre, weight) of a drawing scale 1:``ratio`` rendered at ``dpi``."""
    return dpi / INCH / ratio, WEIGHTS["scale"]


def estimate_scale(evidence: list[Evidence]) -> ScaleEstimate | None:
    """The robust combination of ``evidence`` (marks the pieces it used), or ``None`` without any."""
    usable = [
        e for e in evidence if e.pixels_per_meter > 0 and e.weight > 0 and math.isfinite(e.pixels_per_meter)
    ]
    if not usable:
        return None
    ordered = sorted(usable, key=lambda e: e.pixels_per_meter)
    total = sum(e.weight for e in ordered)
    running = 0.0
    median = ordered[-1].pixels_per_meter
    for e in ordered:
        running += e.weight
        if running >= total / 2:
            median = e.pixels_per_meter
            break
    inliers = [e for e in usable if abs(math.log(e.pixels_per_meter / median)) <= INLIER_TOLERANCE]
    weight = sum(e.weight for e in inliers)
    value = math.exp(sum(e.weight * math.log(e.pixels_per_meter) for e in inliers) / weight)
    for e in usable:
        e.used = e in inliers
    strong = sum(1 for e in inliers if e.weight >= 0.5)
    confidence = (weight / total) * (1.0 - 0.5 ** max(1, strong)) if strong else 0.3 * weight / total
    sources = {e.kind for e in inliers}
    return ScaleEstimate(
        value, round(min(1.0, confidence), 3), "pdf" if sources == {"scale"} else "text", evidence
    )
