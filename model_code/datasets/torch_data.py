"""Torch datasets of augmented crops: annotated plans from disk, the same plans redrawn in the
generator's styles, and synthetic plans on the fly.

Both yield ``(image, target)``: a normalised ``(3, crop, crop)`` float tensor and a
``(C, crop, crop)`` float tensor, one plane per output channel of the model (``channels``: wall,
opening, then the room types of :data:`model_code.schema.ROOM_TYPES` the model has).  A room-type
plane is 1 where the room has that type, 0 elsewhere, and ``IGNORE`` (-1) where the truth does
not say (a plan without room types, an unnamed room): the loss skips those pixels.

Augmentation is seeded per item from ``(seed, epoch, index)``, so runs are reproducible,
DataLoader workers never repeat each other and a resumed run sees the same crops it would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from model_code.datasets.augment import training_transform
from model_code.datasets.layouts import PlanMasks, Sample
from model_code.datasets.room_maps import TYPE_UNKNOWN, type_index
from model_code.model.checkpoint import CHANNELS, IMAGENET_MEAN, IMAGENET_STD
from model_code.model.preprocess import normalize

IGNORE = -1.0  # target value of a pixel the loss skips


def target_planes(masks: np.ndarray, channels: Sequence[str]) -> np.ndarray:
    """``(C, H, W)`` float32 targets from augmented ``(H, W, 3)`` uint8 masks (wall, opening, room type)."""
    planes = []
    room_type = masks[:, :, 2]
    unknown = room_type == TYPE_UNKNOWN
    for name in channels:
        if name == "wall":
            plane = masks[:, :, 0].astype(np.float32)
        elif name == "opening":
            plane = masks[:, :, 1].astype(np.float32)
        else:
            plane = (room_type == type_index(name)).astype(np.float32)
            plane[unknown] = IGNORE
        planes.append(plane)
    return np.stack(planes)


class _CropDataset(Dataset):
    """Shared machinery: plan -> seeded augmentation -> tensors."""

    def __init__(
        self,
        length: int,
        working_size: int,
        crop_size: int,
        augment: str = "heavy",
        seed: int = 0,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        channels: Sequence[str] = CHANNELS,
        native_up_to: float = 1.0,
    ):
        self.length = length
        self.channels = tuple(channels)
        self.transform = training_transform(working_size, crop_size, augment, native_up_to)
        self.seed = seed
        self.epoch = 0
        self.mean = tuple(mean)
        self.std = tuple(std)

    def set_epoch(self, epoch: int) -> None:
        """Choose the augmentation stream of ``epoch`` (call before building the loader)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def plan(self, index: int) -> PlanMasks:
        """The un-augmented plan behind item ``index``."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        plan = self.plan(index)
        item_seed = (self.seed * 1_000_003 + self.epoch * 100_003 + index) % (2**32)
        self.transform.set_random_seed(item_seed)
        room_type = plan.room_type if plan.room_type is not None else np.full(plan.wall.shape, TYPE_UNKNOWN)
        masks = np.stack([plan.wall, plan.opening, room_type], axis=-1).astype(np.uint8)
        out = self.transform(image=plan.image, mask=masks)
        image = torch.from_numpy(normalize(out["image"], self.mean, self.std))
        target = torch.from_numpy(target_planes(out["mask"], self.channels))
        return image, target


class PlanCropDataset(_CropDataset):
    """Augmented crops of annotated plans; each plan appears ``repeat`` times per epoch."""

    def __init__(
        self, samples: Sequence[Sample], working_size: int, crop_size: int, repeat: int = 1, **kwargs
    ):
        if not samples:
            raise ValueError("PlanCropDataset needs at least one sample")
        super().__init__(len(samples) * max(1, repeat), working_size, crop_size, **kwargs)
        self.samples = list(samples)

    def plan(self, index: int) -> PlanMasks:
        return self.samples[index % len(self.samples)].load()


class SyntheticPlanDataset(_CropDataset):
    """Synthetic plans rendered on the fly, fresh ones every epoch.

    Item ``i`` of epoch ``e`` is ``synth.generate_plan(seed_base + e * count + i)``: an epoch of
    ``count`` plans never repeats an earlier one, so ``E`` epochs see ``E * count`` distinct plans.
    """

    def __init__(
        self,
        count: int,
        working_size: int,
        crop_size: int,
        seed_base: int = 0,
        size: int | None = None,
        sheets: float = 0.0,
        styles: Sequence[str] | None = None,
        **kwargs,
    ):
        if count < 1:
            raise ValueError("SyntheticPlanDataset needs count >= 1")
        super().__init__(count, working_size, crop_size, **kwargs)
        self.seed_base = seed_base
        self.size = size
        self.sheets = sheets
        self.styles = None if styles is None else tuple(styles)

    def plan(self, index: int) -> PlanMasks:
        seed = self.seed_base + self.epoch * self.length + index
        return render_synthetic(seed, self.size, self.sheets, self.styles)


class RedrawnPlanDataset(_CropDataset):
    """Real plans redrawn in the generator's styles (:mod:`model_code.synth.redraw`), in new looks each epoch.

    Item ``i`` of epoch ``e`` is plan ``(e * count + i) % len(samples)`` redrawn with seed
    ``seed_base + e * count + i``: the plans are taken in turn and no look repeats.  The truth is the
    plan's own masks (on the sheet's canvas when one is drawn).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        count: int,
        working_size: int,
        crop_size: int,
        seed_base: int = 0,
        sheets: float = 0.0,
        styles: Sequence[str] | None = None,
        **kwargs,
    ):
        if not samples or count < 1:
            raise ValueError("RedrawnPlanDataset needs at least one sample and count >= 1")
        super().__init__(count, working_size, crop_size, **kwargs)
        self.samples = list(samples)
        self.seed_base = seed_base
        self.sheets = sheets
        self.styles = None if styles is None else tuple(styles)

    def plan(self, index: int) -> PlanMasks:
        number = self.epoch * self.length + index
        plan = self.samples[number % len(self.samples)].load()
        return redraw_masks(plan, self.seed_base + number, self.sheets, self.styles)


def redraw_masks(
    plan: PlanMasks, seed: int, sheets: float = 0.0, styles: Sequence[str] | None = None
) -> PlanMasks:
    """``plan`` redrawn from its masks in one of ``styles`` (None: the generator's default styles),
    on a drawing sheet with probability ``sheets``; its image is not used."""
    from model_code.synth.redraw import redraw_plan

    redrawn = redraw_plan(plan.wall, plan.opening, plan.room_type, seed, styles=styles, sheet=sheets)
    return PlanMasks(
        image=redrawn.image, wall=redrawn.wall, opening=redrawn.opening, room_type=redrawn.room_type
    )


def render_synthetic(
    seed: int,
    size: int | Sequence[int] | None = None,
    sheets: float = 0.0,
    styles: Sequence[str] | None = None,
) -> PlanMasks:
    """Render synthetic plan ``seed`` (longest side ``size``, a (min, max) range or the generator's
    default; on a drawing sheet with probability ``sheets``; drawn from ``styles``, None for the
    generator's default styles) with its exact wall/opening masks."""
    from model_code.synth import generate_plan

    if size is not None and not isinstance(size, int):
        size = int(size[0]) if len(size) == 1 else (int(size[0]), int(size[1]))
    from model_code.datasets.room_maps import label_type_map

    plan = generate_plan(seed, size, styles=styles, sheet=sheets)
    return PlanMasks(
        image=plan.image,
        wall=np.asarray(plan.wall_mask, bool),
        opening=np.asarray(plan.opening_mask, bool),
        room_type=label_type_map(plan.room_labels, plan.room_kinds),
    )
