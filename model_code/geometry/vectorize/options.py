"""The one options object for vectorization and room detection.

Every tolerance is in pixels (or degrees) and defaults to ``None``, meaning "derive it from
the image size and the measured wall thickness": :meth:`VectorizeOptions.resolve` turns the
options into a :class:`ResolvedOptions` with concrete numbers for one mask.  Nothing is a
fixed pixel constant, so a plan scanned at twice the resolution gets twice the tolerances.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ResolvedOptions:
    """Concrete tolerances for one mask (all lengths in pixels, angles in degrees)."""

    wall_thickness: float
    speck_area: float
    spur_factor: float
    dp_epsilon: float
    merge_angle: float
    merge_offset: float
    merge_gap: float
    snap_angle: float
    snap_distance: float
    extend_distance: float
    min_wall_length: float
    opening_speck_area: float
    opening_gap: float
    opening_host_distance: float
    door_gap: float
    room_min_area: float
    room_simplify: float
    thick_ratio: float

    def as_dict(self) -> dict[str, float]:
        """The resolved values, e.g. for logs and reports."""
        return asdict(self)


@dataclass
class VectorizeOptions:
    """User-facing knobs; ``None`` means derived from image size and wall thickness.

    Attributes:
        min_wall_length: walls shorter than this (px) are dropped (default: one wall thickness).
        wall_thickness: typical wall thickness (px); default measured from the mask.
        speck_area: wall blobs smaller than this (px^2) are noise (default 2 t^2).
        spur_factor: skeleton spurs shorter than this many local thicknesses are pruned (1.5).
        dp_epsilon: Douglas-Peucker tolerance (default t / 8, at least 1 px; straight runs are merged
            again afterwards, so a small value only keeps curves and shallow bends faithful).
        merge_angle: collinear merge angle tolerance in degrees (5).
        merge_offset: collinear merge perpendicular offset tolerance (default t / 2, >= 1.5 px).
        merge_gap: largest gap bridged when merging collinear runs (default 1.5 t + 2 px).
        snap_angle: near-axis walls within this many degrees snap to the dominant orientation (5).
        snap_distance: endpoints this close to another wall meet it exactly (default t + 2 px).
        extend_distance: dangling ends are extended to a wall this far away (default 1.5 t + 2 px).
        opening_speck_area: opening blobs smaller than this (px^2) are noise (default t^2 / 2).
        opening_gap: widest door or window a wall is continued through when the gap between two
            collinear wall pieces lies on the opening mask (default 30 % of the longest side).
        opening_host_distance: an opening's host wall must be this close (default 2 t + 2 px).
        door_gap: widest gap between a dangling wall end and a wall that room closing bridges
            when no opening was detected (default 8 t, at most 10 % of the longest side).
        room_min_area: smaller free-space regions are not rooms (default max(3 t^2, 1e-4 H W)); a
            closet is a few wall thicknesses wide.
        room_simplify: room polygon simplification tolerance (default max(1, t / 4) px).
        thick_ratio: a wall this many times thicker than the typical interior wall is load-bearing (1.3).
        half_resolution_thickness: when the quick thickness estimate (distance-transform ridge) is
            at least this (default 16 px), the skeleton is computed at half resolution, about 40 %
            faster on large plans at a small cost in segment accuracy; 1e6 never does.
    """

    min_wall_length: float | None = None
    wall_thickness: float | None = None
    speck_area: float | None = None
    spur_factor: float | None = None
    dp_epsilon: float | None = None
    merge_angle: float | None = None
    merge_offset: float | None = None
    merge_gap: float | None = None
    snap_angle: float | None = None
    snap_distance: float | None = None
    extend_distance: float | None = None
    opening_speck_area: float | None = None
    opening_gap: float | None = None
    opening_host_distance: float | None = None
    door_gap: float | None = None
    room_min_area: float | None = None
    room_simplify: float | None = None
    thick_ratio: float | None = None
    half_resolution_thickness: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            try:
                number = float(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"vectorize option {f.name} must be a number, got {value!r}") from exc
            if not number >= 0 or number == float("inf"):
                raise ValueError(f"vectorize option {f.name} must be a finite number >= 0, got {value!r}")
            setattr(self, f.name, number)

    def resolve(self, shape: tuple[int, ...], wall_thickness: float) -> ResolvedOptions:
        """Concrete tolerances for a mask of ``shape`` whose measured wall thickness is given."""
        height, width = int(shape[0]), int(shape[1])
        t = float(self.wall_thickness if self.wall_thickness is not None else wall_thickness)
        t = max(t, 1.0)
        longest = max(height, width, 1)

        def pick(name: str, default: float) -> float:
            value = getattr(self, name)
            return float(default if value is None else value)

        return ResolvedOptions(
            wall_thickness=t,
            speck_area=pick("speck_area", 2.0 * t * t),
            spur_factor=pick("spur_factor", 1.5),
            dp_epsilon=pick("dp_epsilon", max(1.0, 0.125 * t)),
            merge_angle=pick("merge_angle", 5.0),
            merge_offset=pick("merge_offset", max(1.5, 0.5 * t)),
            merge_gap=pick("merge_gap", 1.5 * t + 2.0),
            snap_angle=pick("snap_angle", 5.0),
            snap_distance=pick("snap_distance", t + 2.0),
            extend_distance=pick("extend_distance", 1.5 * t + 2.0),
            min_wall_length=pick("min_wall_length", t),
            opening_speck_area=pick("opening_speck_area", 0.5 * t * t),
            opening_gap=pick("opening_gap", 0.3 * longest),
            opening_host_distance=pick("opening_host_distance", 2.0 * t + 2.0),
            door_gap=pick("door_gap", min(8.0 * t, 0.1 * longest)),
            room_min_area=pick("room_min_area", max(3.0 * t * t, 1e-4 * height * width)),
            room_simplify=pick("room_simplify", max(1.0, 0.25 * t)),
            thick_ratio=pick("thick_ratio", 1.3),
        )
