"""The one reader for dataset folders, used by training and evaluation alike.

Three layouts are recognised (see ``docs/training.md``):

1. ``images/`` + ``annotations/`` (customers' JSON): masks are rasterised from the walls
   (drawn with their thickness, a default when absent) and openings.  When a ``masks/``
   folder exists as well, its pixel masks win for training.
2. the customers' channel layout ``images/`` + ``masks/`` (``masks/<stem>.png``: one grey PNG,
   255 = wall, 128 = opening, 0 = background; a plain binary wall mask is valid too).
   ``rooms/<stem>.png`` (16-bit instance ids) is picked up when present; with ``annotations/``
   rooms that carry a ``type`` it gives the room-type map.
3. flat R3D: ``<id>.jpg`` beside ``<id>_wall.png`` and ``<id>_close.png``
   (and ``<id>_rooms.png``).

Dataset images are single raster images (PNG, JPEG, BMP, WebP, single-page TIFF): a multi-page
TIFF is refused when its plan is loaded (:class:`PlanFileError`), and a PDF in ``images/`` stops
the scan (:class:`DatasetError`), because ground truth cannot say which page, or at which
resolution, it was drawn.  Render the annotated page to PNG first.

A folder holding ``train/`` (and ``validation/``, ``test/``) sub-folders is a split root;
:func:`open_split` opens one split of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_code.io.images import read_grey, read_labels, read_mask
from model_code.io.pages import read_single_page
from model_code.schema import Annotation

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
LAYOUTS = ("annotations", "masks", "r3d")
SPLITS = ("train", "validation", "test")
WALL_LEVEL = 255
OPENING_LEVEL = 128


class DatasetError(ValueError):
    """A dataset folder is missing, empty or not in any known layout."""


class PlanFileError(DatasetError):
    """One file of a plan (image, mask or annotation) cannot be read; the message names the file.

    Raised by :meth:`Sample.load` and friends in place of the decoder's own error (kept as the
    cause), so a failed training names the bad file, also from a DataLoader worker process.
    """


@contextmanager
def _reading(what: str, path: Path) -> Iterator[None]:
    """Re-raise any error of reading ``path`` as a :class:`PlanFileError` naming it."""
    try:
        yield
    except PlanFileError:
        raise
    except Exception as exc:
        empty = path.is_file() and path.stat().st_size == 0
        detail = "the file is empty (0 bytes)" if empty else f"{type(exc).__name__}: {exc}"
        raise PlanFileError(f"cannot read {what} {path}: {detail}") from exc


@dataclass
class PlanMasks:
    """One plan's image with its ground-truth masks, all at the image's size."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    wall: np.ndarray  # (H, W) bool
    opening: np.ndarray  # (H, W) bool
    room_type: np.ndarray | None = None  # (H, W) uint8 room-type map (datasets.room_maps); None: unknown


@dataclass(frozen=True)
class Sample:
    """One plan of a dataset: where its image and ground truth live.

    ``mask_path`` is a channel-layout grey mask; ``wall_path``/``opening_path`` are R3D masks;
    ``annotation_path`` a customers' JSON file.  Pixel masks win over the annotation.
    """

    stem: str
    image_path: Path
    layout: str
    mask_path: Path | None = None
    wall_path: Path | None = None
    opening_path: Path | None = None
    annotation_path: Path | None = None
    rooms_path: Path | None = None

    def load_image(self) -> np.ndarray:
        """The plan as an ``(H, W, 3)`` RGB uint8 array (EXIF orientation applied).

        Raises :class:`PlanFileError` (naming the file) when the image cannot be decoded or is a
        document of several pages (a multi-page TIFF).
        """
        with _reading("image", self.image_path):
            return read_single_page(self.image_path)

    def load_annotation(self) -> Annotation | None:
        """The validated annotation record, or None when this sample has none."""
        return None if self.annotation_path is None else Annotation.load(self.annotation_path)

    def load_masks(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Wall and opening ``bool`` masks at ``width`` x ``height`` (the image's size).

        Raises :class:`PlanFileError` (naming the file) when a mask or annotation cannot be read.
        """
        size = (width, height)
        if self.wall_path is not None:
            with _reading("wall mask", self.wall_path):
                wall = read_mask(self.wall_path, size)
            if self.opening_path is None:
                return wall, np.zeros_like(wall)
            with _reading("opening mask", self.opening_path):
                return wall, read_mask(self.opening_path, size)
        if self.mask_path is not None:
            with _reading("mask", self.mask_path):
                return split_grey_mask(read_grey(self.mask_path, size))
        if self.annotation_path is not None:
            from model_code.datasets.rasterize import annotation_masks

            with _reading("annotation", self.annotation_path):
                annotation = Annotation.load(self.annotation_path)
            return annotation_masks(annotation, width, height)
        raise DatasetError(f"sample {self.stem} has no ground truth")

    @property
    def has_room_types(self) -> bool:
        """Whether :meth:`load_room_types` can give this plan's room types (R3D colours, annotated rooms)."""
        if self.layout == "r3d":
            return self.rooms_path is not None
        return self.annotation_path is not None and self.mask_path is None

    def load_room_types(self, width: int, height: int) -> np.ndarray | None:
        """The room-type map (:mod:`model_code.datasets.room_maps`) at ``width`` x ``height``, or ``None``.

        R3D plans read their room-colour image; annotated plans their rooms' names.  A channel-layout
        plan's ``rooms/`` instance image carries no types itself: with an annotation whose rooms have
        a ``type`` (``floorplan synth`` writes both), room ``k`` of the image gets ``rooms[k-1].type``;
        otherwise ``None``.
        """
        from model_code.datasets import room_maps

        if self.layout == "r3d" and self.rooms_path is not None:
            from model_code.datasets.r3d import read_rooms_rgb

            with _reading("room colours", self.rooms_path):
                return room_maps.r3d_type_map(read_rooms_rgb(self.rooms_path, (width, height)))
        if self.mask_path is not None and self.rooms_path is not None and self.annotation_path is not None:
            with _reading("annotation", self.annotation_path):
                annotation = Annotation.load(self.annotation_path)
            types = [room.type for room in annotation.rooms]
            if any(t is not None for t in types):
                with _reading("room ids", self.rooms_path):
                    labels = read_labels(self.rooms_path, (width, height))
                return room_maps.label_type_map(labels, types)
            return None
        if self.annotation_path is not None and self.mask_path is None:
            with _reading("annotation", self.annotation_path):
                annotation = Annotation.load(self.annotation_path)
            if annotation.rooms:
                return room_maps.annotation_type_map(annotation, width, height)
        return None

    def load(self) -> PlanMasks:
        """Read the image, its masks and its room types (resized nearest-neighbour to the image if needed)."""
        image = self.load_image()
        height, width = image.shape[:2]
        wall, opening = self.load_masks(width, height)
        room_type = self.load_room_types(width, height)
        return PlanMasks(image=image, wall=wall, opening=opening, room_type=room_type)


def split_grey_mask(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode a channel-layout grey mask: > 191 wall, 64..191 opening (128 nominal), else background."""
    wall = grey > 191
    opening = (grey >= 64) & ~wall
    return wall, opening


def merge_grey_mask(wall: np.ndarray, opening: np.ndarray) -> np.ndarray:
    """Encode wall/opening masks as one grey ``uint8`` mask (255 wall, 128 opening; opening wins)."""
    grey = np.zeros(wall.shape, dtype=np.uint8)
    grey[wall] = WALL_LEVEL
    grey[opening] = OPENING_LEVEL
    return grey


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def detect_layout(path: str | Path) -> str:
    """Name the layout of a dataset folder: ``annotations``, ``masks`` or ``r3d``."""
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist or is not a directory")
    if (root / "images").is_dir():
        if (root / "masks").is_dir():
            return "masks"
        if (root / "annotations").is_dir():
            return "annotations"
        raise DatasetError(f"{root}/images has neither a masks/ nor an annotations/ folder beside it")
    if any(root.glob("*_wall.png")):
        return "r3d"
    if is_split_root(root):
        raise DatasetError(f"{root} holds train/validation/test splits: open one split (e.g. {root}/train)")
    raise DatasetError(
        f"{root} is not a dataset: expected images/ + masks/, images/ + annotations/, "
        "or flat R3D files (<id>.jpg beside <id>_wall.png and <id>_close.png)"
    )


def is_split_root(path: str | Path) -> bool:
    """True when ``path`` holds a ``train/`` folder (an ``organize`` output)."""
    return (Path(path) / "train").is_dir()


@dataclass
class DatasetScan:
    """What :func:`scan_dataset` found in one folder: the annotated plans and the images left out."""

    root: Path
    layout: str
    samples: list[Sample]
    dropped: list[Path]  # images without ground truth (no mask/annotation; R3D: no <id>_wall.png)

    @property
    def without_opening(self) -> list[Sample]:
        """R3D plans without ``<id>_close.png``: they load (and train) with an all-zero opening mask."""
        return [s for s in self.samples if s.layout == "r3d" and s.opening_path is None]


def _image_layout(root: Path, layout: str) -> tuple[list[Sample], list[Path]]:
    masks_dir, ann_dir, rooms_dir = root / "masks", root / "annotations", root / "rooms"
    pdfs = sorted(p.name for p in (root / "images").iterdir() if p.is_file() and p.suffix.lower() == ".pdf")
    if pdfs:
        shown = ", ".join(pdfs[:5]) + (f" and {len(pdfs) - 5} more" if len(pdfs) > 5 else "")
        raise DatasetError(
            f"{root}/images holds PDF files ({shown}): dataset images must be raster images "
            "(PNG, JPEG, BMP, WebP, single-page TIFF); render the annotated page to PNG first"
        )
    samples, dropped = [], []
    for image_path in list_images(root / "images"):
        stem = image_path.stem
        mask = masks_dir / f"{stem}.png"
        annotation = ann_dir / f"{stem}.json"
        rooms = rooms_dir / f"{stem}.png"
        has_mask = layout == "masks" and mask.is_file()
        if not has_mask and not annotation.is_file():
            dropped.append(image_path)
            continue
        samples.append(
            Sample(
                stem=stem,
                image_path=image_path,
                layout=layout,
                mask_path=mask if has_mask else None,
                annotation_path=annotation if annotation.is_file() else None,
                rooms_path=rooms if rooms.is_file() else None,
            )
        )
    return samples, dropped


def _r3d_layout(root: Path) -> tuple[list[Sample], list[Path]]:
    samples, dropped = [], []
    for image_path in sorted(root.glob("*.jpg")):
        stem = image_path.stem
        wall = root / f"{stem}_wall.png"
        if not wall.is_file():
            dropped.append(image_path)
            continue
        opening = root / f"{stem}_close.png"
        rooms = root / f"{stem}_rooms.png"
        samples.append(
            Sample(
                stem=stem,
                image_path=image_path,
                layout="r3d",
                wall_path=wall,
                opening_path=opening if opening.is_file() else None,
                rooms_path=rooms if rooms.is_file() else None,
            )
        )
    return samples, dropped


def scan_dataset(path: str | Path) -> DatasetScan:
    """:func:`open_dataset` plus what it leaves out: the images without ground truth.

    Raises :class:`DatasetError` like :func:`open_dataset` (no known layout, no annotated plan).
    """
    root = Path(path)
    layout = detect_layout(root)
    samples, dropped = _r3d_layout(root) if layout == "r3d" else _image_layout(root, layout)
    if not samples:
        raise DatasetError(f"no annotated plans found in {root} ({layout} layout)")
    return DatasetScan(
        root=root, layout=layout, samples=sorted(samples, key=lambda s: s.stem), dropped=dropped
    )


def open_dataset(path: str | Path) -> list[Sample]:
    """All annotated plans of a dataset folder in any of the three layouts, sorted by stem.

    Images without ground truth are skipped (``organize`` reports them, training warns, see
    :func:`scan_dataset`); an empty result is an error.
    """
    return scan_dataset(path).samples


def open_split(path: str | Path, split: str) -> list[Sample]:
    """Open ``<path>/<split>`` of a split root (see :func:`is_split_root`)."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {SPLITS}")
    return open_dataset(Path(path) / split)
