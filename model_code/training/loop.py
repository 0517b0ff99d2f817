"""The training loop: data, network, optimisation, validation, checkpoints, the final model.

:func:`train` runs a :class:`~model_code.training.config.TrainConfig` to completion (or to its
epoch, step or time budget, or early stopping), resuming from the checkpoint directory when it
holds a state for the same network, and writes the best model in the serving format.
Metric lines (``epoch=3 train_loss=0.2100 val_iou=0.8700 ...``) go to the ``model_code.training``
logger so a SageMaker ``MetricDefinitions`` regex can read them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import ConcatDataset, DataLoader, Dataset, DistributedSampler, RandomSampler
from tqdm import tqdm

from model_code.datasets.layouts import DatasetScan, PlanMasks, Sample, is_split_root, scan_dataset
from model_code.datasets.organize import holdout_split
from model_code.datasets.room_maps import TYPE_UNKNOWN, type_index
from model_code.datasets.torch_data import (
    PlanCropDataset,
    RedrawnPlanDataset,
    SyntheticPlanDataset,
    render_synthetic,
)
from model_code.evaluation.metrics import PixelCounts, pixel_counts
from model_code.io.files import atomic_write_bytes
from model_code.model.checkpoint import (
    CHANNELS,
    ModelMetadata,
    ModelSpec,
    resolve_model_dir,
    save_model,
    training_lineage,
    weights_digest,
)
from model_code.model.inference import predict_probabilities
from model_code.model.loader import LoadedModel, load_model
from model_code.model.network import adapt_channels, build_network
from model_code.model.room_classifier import CLASSIFIER_FILE, CLASSIFIER_SUMMARY_FILE
from model_code.schema import ROOM_TYPES
from model_code.training.checkpoints import (
    TrainingState,
    best_dir,
    epoch_dir,
    load_state,
    resume_recipe,
    save_state,
)
from model_code.training.config import PATH_FIELDS, ConfigError, TrainConfig
from model_code.training.distributed import Distributed, amp_dtype, setup, teardown
from model_code.training.plots import CURVE_FILE, plot_training_curve

logger = logging.getLogger("model_code.training")

HISTORY_FILE = "history.json"
LISTED_FILES = 20  # a label warning names this many files, then counts the rest
PROGRESS_LOG_S = 60.0  # without a terminal (SageMaker, nohup) a progress line replaces the bar this often
R3D_NOTE = (
    "trained on R3D annotations (DeepFloorplan, Zeng et al. ICCV 2019) of Rent3D images: research use only"
)


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class TrainingInterrupted(RuntimeError):
    """A stop was requested (SIGTERM); the state was checkpointed and the run can resume."""


class StopFlag:
    """Set by SIGTERM/SIGINT (after :meth:`install`) or by :meth:`request`; polled by the loop."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name = ""

    def request(self, reason: str = "stop requested") -> None:
        """Ask the loop to checkpoint and stop at the next step."""
        self.signal_name = reason
        self._event.set()

    @property
    def requested(self) -> bool:
        """True once a stop was requested."""
        return self._event.is_set()

    def install(self, signals: tuple[int, ...] = (signal.SIGTERM,)) -> dict[int, Any]:
        """Route ``signals`` to :meth:`request` (main thread only); returns the previous handlers."""

        def handler(signum: int, _frame: Any) -> None:
            self.request(signal.Signals(signum).name)

        return {sig: signal.signal(sig, handler) for sig in signals}

    @contextmanager
    def installed(self, signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[StopFlag]:
        """:meth:`install` for the duration of a ``with`` block, then restore the previous handlers."""
        previous = self.install(signals)
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def ignore_stop_signals(_worker_id: int = 0) -> None:
    """DataLoader ``worker_init_fn``: the worker ignores SIGINT, and SIGTERM unless its parent sends it.

    ``timeout``, ``kill -- -PGID``, systemd and Ctrl-C signal the whole process group.  The main
    process alone handles the stop (its :class:`StopFlag`: checkpoint, exit 143) and shuts its
    workers down itself; a worker killed first would fail the run with ``DataLoader worker ...
    killed by signal`` and lose the mid-epoch state.  A SIGTERM from the parent (``terminate()``,
    as multiprocessing does to live workers when the trainer exits) still ends the worker, as
    torch's own worker handler does, and workers exit when the trainer dies.

    Start the workers inside :func:`stop_signals_blocked`: a thread the worker has before this
    function runs (an OpenMP pool, after the parent ran torch) would otherwise keep SIGTERM
    unblocked and take a group-wide SIGTERM with the default action.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not hasattr(signal, "sigwaitinfo"):  # no POSIX signal API: ignore SIGTERM from anyone
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    threading.Thread(
        target=_exit_on_sigterm_from, args=(os.getppid(),), name="sigterm-from-parent", daemon=True
    ).start()


def _exit_on_sigterm_from(parent: int) -> None:
    """Take every SIGTERM of this (blocking) process; exit at once when ``parent`` sent it."""
    while True:
        if signal.sigwaitinfo({signal.SIGTERM}).si_pid == parent:
            os._exit(0)


@contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Block SIGTERM and SIGINT in this thread while DataLoader workers are started.

    Forked workers inherit the block until :func:`ignore_stop_signals` has taken over the signals,
    so a group-wide signal sent in between cannot kill them; a signal for this process waits until
    the block ends, then reaches the :class:`StopFlag` as usual.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@dataclass
class TrainData:
    """The plans a run trains and validates on."""

    train: list[Sample]
    validation: list[Sample]
    synthetic_validation_seeds: list[int]
    summary: dict[str, Any]


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    model_dir: Path
    epochs_completed: int
    best_epoch: int
    metrics: dict[str, float]
    history: list[dict[str, float]]
    stopped: str
    elapsed_s: float
    artifacts: dict[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- data


def _file_list(paths: list[Path], root: Path) -> str:
    """``a.jpg, b.jpg, ... and N more``: names relative to ``root``, at most :data:`LISTED_FILES`."""
    names = [str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in paths]
    more = len(names) - LISTED_FILES
    return ", ".join(names[:LISTED_FILES]) + (f" and {more} more" if more > 0 else "")


_NO_GROUND_TRUTH = {
    "r3d": "no wall mask (<id>_wall.png)",
    "masks": "no mask (masks/<stem>.png) and no annotation",
    "annotations": "no annotation (annotations/<stem>.json)",
}


def warn_label_gaps(scans: list[DatasetScan]) -> tuple[int, int]:
    """Log a warning naming the plans without an opening mask and the images dropped for lack of
    ground truth, per folder; returns their counts ``(without_opening, dropped)``."""
    without_opening = dropped = 0
    for scan in scans:
        if scan.without_opening:
            without_opening += len(scan.without_opening)
            logger.warning(
                "%d plan(s) in %s have no opening mask (<id>_close.png) and train with an all-zero one: %s",
                len(scan.without_opening),
                scan.root,
                _file_list([s.image_path for s in scan.without_opening], scan.root),
            )
        if scan.dropped:
            dropped += len(scan.dropped)
            logger.warning(
                "%d image(s) in %s dropped: %s: %s",
                len(scan.dropped),
                scan.root,
                _NO_GROUND_TRUTH.get(scan.layout, "no ground truth"),
                _file_list(scan.dropped, scan.root),
            )
    return without_opening, dropped


def resolve_data(config: TrainConfig) -> TrainData:
    """Open the training/validation folders of ``config`` (or plan the synthetic validation).

    Plans without an opening mask and images dropped for lack of ground truth are named in
    warnings and counted in the summary.
    """
    train: list[Sample] = []
    validation: list[Sample] = []
    scans: list[DatasetScan] = []

    def opened(path: str | Path) -> list[Sample]:
        scans.append(scan_dataset(path))
        return scans[-1].samples

    if config.data is not None:
        if is_split_root(config.data):
            train = opened(Path(config.data) / "train")
            if config.validation is None and (Path(config.data) / "validation").is_dir():
                validation = opened(Path(config.data) / "validation")
        else:
            train = opened(config.data)
        if config.validation is not None:
            validation = opened(config.validation)
        elif not validation:
            train, validation = holdout_split(train, config.val_fraction, config.seed)
        if config.max_train_samples is not None and config.max_train_samples < len(train):
            order = list(train)
            random.Random(config.seed + 1).shuffle(order)
            train = sorted(order[: config.max_train_samples], key=lambda s: s.stem)
    synthetic_val: list[int] = []
    if not validation and config.synthetic:
        # Below the training seeds, which grow with every epoch (fresh plans per epoch).
        start = config.synthetic_seed - config.synthetic_validation
        synthetic_val = list(range(start, config.synthetic_seed))
    layouts = sorted({s.layout for s in train + validation})
    summary = {
        "train_plans": len(train),
        "validation_plans": len(validation) or len(synthetic_val),
        "validation_source": "real" if validation else ("synthetic" if synthetic_val else "none"),
        "synthetic_plans_per_epoch": config.synthetic,
        "redrawn_plans_per_epoch": config.redraw if train else 0,
        "layouts": layouts,
        "sources": [p for p in (config.data, config.validation) if p],
        "validation_ids": [s.stem for s in validation],
    }
    summary["plans_without_opening_mask"], summary["dropped_images"] = warn_label_gaps(scans)
    if "r3d" in layouts:
        summary["note"] = R3D_NOTE
    return TrainData(
        train=train, validation=validation, synthetic_validation_seeds=synthetic_val, summary=summary
    )


def build_train_dataset(
    config: TrainConfig, data: TrainData, mean: tuple, std: tuple, channels: tuple[str, ...] = CHANNELS
) -> Dataset:
    """Real crops, real plans redrawn and synthetic plans, concatenated; a target plane per output channel."""
    parts: list[Dataset] = []
    common = {
        "augment": config.augment,
        "seed": config.seed,
        "mean": mean,
        "std": std,
        "channels": channels,
        "native_up_to": config.native_up_to,
    }
    if data.train:
        parts.append(
            PlanCropDataset(data.train, config.working_size, config.crop_size, repeat=config.repeat, **common)
        )
    if data.train and config.redraw:
        parts.append(
            RedrawnPlanDataset(
                data.train,
                config.redraw,
                config.working_size,
                config.crop_size,
                seed_base=config.synthetic_seed,
                sheets=config.synthetic_sheets,
                styles=config.synthetic_style_names(),
                **common,
            )
        )
    if config.synthetic:
        parts.append(
            SyntheticPlanDataset(
                config.synthetic,
                config.working_size,
                config.crop_size,
                seed_base=config.synthetic_seed,
                size=config.synthetic_size,
                sheets=config.synthetic_sheets,
                styles=config.synthetic_style_names(),
                **common,
            )
        )
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)


def _set_epoch(dataset: Dataset, epoch: int) -> None:
    for part in dataset.datasets if isinstance(dataset, ConcatDataset) else [dataset]:
        part.set_epoch(epoch)


def load_validation(data: TrainData, config: TrainConfig) -> list[PlanMasks]:
    """Validation plans in memory (few and small): real ones, else synthetic ones."""
    plans = [s.load() for s in tqdm(data.validation, desc="loading validation", leave=False, disable=None)]
    plans += [
        render_synthetic(seed, config.synthetic_size, config.synthetic_sheets, config.synthetic_style_names())
        for seed in data.synthetic_validation_seeds
    ]
    return plans


# ----------------------------------------------------------------------------- model


def model_channels(
    config: TrainConfig, data: TrainData, init_channels: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """The output channels a run trains: wall, opening and, with ``room_types``, every room type.

    ``auto`` learns room types when the init checkpoint has them (``init_channels``), synthetic plans
    are mixed in, or any training plan carries room types.
    """
    if config.room_types == "auto":
        learn = (
            all(t in init_channels for t in ROOM_TYPES)
            or config.synthetic > 0
            or any(s.has_room_types for s in data.train)
        )
    else:
        learn = config.room_types == "yes"
    return (*CHANNELS, *ROOM_TYPES) if learn else CHANNELS


def initial_network(
    config: TrainConfig, data: TrainData | None = None
) -> tuple[torch.nn.Module, ModelMetadata, str]:
    """The starting network, its metadata template and a description of the initialisation.

    ``init_checkpoint`` (``default`` or a directory) fixes the architecture to the checkpoint's;
    otherwise the config's encoder is built with ``encoder_weights`` (``imagenet`` needs internet
    and raises :class:`~model_code.model.network.PretrainedWeightsUnavailable` offline).  The output
    channels are :func:`model_channels`: a wall-and-opening checkpoint gets fresh room-type outputs
    (its trained channels keep their weights).  The template's ``training["lineage"]`` is the init
    checkpoint's :func:`~model_code.model.checkpoint.training_lineage`.
    """
    data = data or TrainData(train=[], validation=[], synthetic_validation_seeds=[], summary={})
    if config.init_checkpoint:
        directory = resolve_model_dir(config.init_checkpoint)
        loaded = load_model(directory, runtime="eager")  # training updates the torch weights
        spec = loaded.metadata.spec
        channels = model_channels(config, data, spec.channels)
        if (spec.encoder, spec.encoder_depth) != (config.encoder, config.encoder_depth):
            logger.info(
                "init_checkpoint %s is a %s (depth %d) U-Net: its architecture replaces encoder=%s",
                directory,
                spec.encoder,
                spec.encoder_depth,
                config.encoder,
            )
        network = loaded.network
        if spec.channels != channels:
            logger.info(
                "init_checkpoint %s outputs %s; training %s", directory, list(spec.channels), list(channels)
            )
            network = adapt_channels(network, spec.channels, channels)
            spec = replace(spec, channels=channels)
        metadata = ModelMetadata(
            spec=spec,
            mean=loaded.metadata.mean,
            std=loaded.metadata.std,
            training={"lineage": training_lineage(loaded.metadata)},
        )
        return network, metadata, f"checkpoint:{directory}"
    channels = model_channels(config, data)
    spec = ModelSpec(
        encoder=config.encoder,
        encoder_depth=config.encoder_depth,
        decoder_channels=config.decoder_channels,
        channels=channels,
    )
    weights = None if config.encoder_weights == "none" else config.encoder_weights
    try:
        network = build_network(spec, encoder_weights=weights)
    except (KeyError, ValueError) as exc:  # smp: unknown encoder, depth/decoder mismatch
        message = exc.args[0] if exc.args else exc
        raise ConfigError(f"cannot build the U-Net {spec}: {message}") from exc
    return network, ModelMetadata(spec=spec), weights or "scratch"


def _param_groups(network: torch.nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    encoder = list(network.encoder.parameters())
    encoder_ids = {id(p) for p in encoder}
    rest = [p for p in network.parameters() if id(p) not in encoder_ids]
    return [
        {"params": rest, "lr": config.learning_rate, "name": "decoder"},
        {"params": encoder, "lr": config.learning_rate * config.encoder_lr_factor, "name": "encoder"},
    ]


def make_optimizer(network: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over decoder and encoder parameter groups."""
    return torch.optim.AdamW(
        _param_groups(network, config), lr=config.learning_rate, weight_decay=config.weight_decay
    )


COSINE_FLOOR = 0.02  # both cosine schedules end at this share of the initial learning rate


class BudgetCosine:
    """Cosine decay over a time budget rather than a number of epochs (``scheduler=cosine-budget``).

    ``step(elapsed_s)`` after each epoch sets every parameter group's learning rate to its initial one
    times ``COSINE_FLOOR + (1 - COSINE_FLOOR) * (1 + cos(pi * min(1, elapsed_s / budget_s))) / 2``, so a
    run bounded by its time budget (a lent GPU for minutes, a SageMaker job of fixed length) ends at the
    floor whatever its epochs turn out to cost. ``elapsed_s`` counts the whole run's training and
    validation time, earlier invocations of a resumed run included.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, budget_s: float):
        if budget_s <= 0:
            raise ValueError(f"BudgetCosine needs a positive budget, got {budget_s}")
        self.optimizer = optimizer
        self.budget_s = float(budget_s)
        self.base_lrs = [float(group["lr"]) for group in optimizer.param_groups]

    def factor(self, elapsed_s: float) -> float:
        """The share of the initial learning rate after ``elapsed_s`` seconds."""
        progress = min(1.0, max(0.0, elapsed_s / self.budget_s))
        return COSINE_FLOOR + (1.0 - COSINE_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def step(self, elapsed_s: float) -> None:
        """Set the learning rates for ``elapsed_s`` seconds into the run."""
        factor = self.factor(elapsed_s)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor

    def state_dict(self) -> dict[str, Any]:
        """The initial learning rates (the optimiser holds the current ones): a resume continues the
        same curve; the budget is the resumed command's."""
        return {"base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.base_lrs = [float(v) for v in state["base_lrs"]]


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> Any:
    """Cosine decay over the epochs or over the time budget, or halving on a validation plateau."""
    if config.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=3)
    if config.scheduler == "cosine-budget":
        return BudgetCosine(optimizer, float(config.time_budget_minutes or 0) * 60)
    return torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=config.epochs, eta_min=config.learning_rate * COSINE_FLOOR
    )


def set_encoder_frozen(network: torch.nn.Module, frozen: bool) -> None:
    """Freeze (no gradients, batch-norm statistics fixed) or unfreeze the encoder."""
    for parameter in network.encoder.parameters():
        parameter.requires_grad = not frozen


class SegmentationLoss(torch.nn.Module):
    """BCE + ``dice_weight`` x Dice per output channel (multi-label), skipping ignored pixels.

    Target pixels below 0 (:data:`~model_code.datasets.torch_data.IGNORE`: room types the truth does
    not give) count in neither term.  Each channel's BCE is averaged over its valid pixels; its soft
    Dice is computed over the batch (a channel without any true pixel in the batch adds no Dice term,
    as in smp's ``DiceLoss``).  The channels form two groups, each averaged on its own: the masks
    (wall, opening) and the room types (``type_channels``, the indices of the room-type outputs);
    the loss is ``masks + room_type_weight * types``.  So adding six room-type outputs does not
    dilute the wall and opening gradients, and within the types a rare one (balcony) weighs as much
    as a common one.
    """

    def __init__(
        self,
        dice_weight: float = 1.0,
        type_channels: tuple[int, ...] = (),
        room_type_weight: float = 1.0,
        eps: float = 1.0,
    ):
        super().__init__()
        self.dice_weight = dice_weight
        self.type_channels = tuple(type_channels)
        self.room_type_weight = room_type_weight
        self.eps = eps

    def _group(
        self, bce: torch.Tensor, dice: torch.Tensor | None, present: torch.Tensor, positive: torch.Tensor
    ):
        loss = bce[present].mean() if bool(present.any()) else bce.sum() * 0
        if dice is not None:
            loss = loss + self.dice_weight * (dice * positive).sum() / max(int(positive.sum()), 1)
        return loss

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar loss of a batch: ``logits`` and ``target`` are ``(B, C, H, W)``."""
        logits = logits.float()
        valid = (target >= 0).float()
        truth = target.clamp(min=0)
        dims = (0, 2, 3)
        count = valid.sum(dims)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, truth, reduction="none")
        per_channel = (bce * valid).sum(dims) / count.clamp(min=1)
        present = count > 0
        dice = None
        truth = truth * valid
        positive = truth.sum(dims) > 0
        if self.dice_weight:
            prob = torch.sigmoid(logits) * valid
            inter = (prob * truth).sum(dims)
            cardinality = (prob + truth).sum(dims)
            dice = 1 - (2 * inter + self.eps) / (cardinality + self.eps)
        is_type = torch.zeros(logits.shape[1], dtype=torch.bool, device=logits.device)
        is_type[list(self.type_channels)] = True
        loss = logits.sum() * 0
        for group, weight in ((~is_type, 1.0), (is_type, self.room_type_weight)):
            if bool(group.any()) and weight:
                part = self._group(
                    per_channel[group], None if dice is None else dice[group], present[group], positive[group]
                )
                loss = loss + weight * part
        return loss


# ----------------------------------------------------------------------------- validation


def room_type_prediction(probs: np.ndarray, channels: tuple[str, ...], threshold: float = 0.5) -> np.ndarray:
    """Per-pixel room-type map (:mod:`model_code.datasets.room_maps` values) from ``(C, H, W)`` probabilities:
    the most likely type where its probability exceeds ``threshold``, else none (0)."""
    rows = [channels.index(t) for t in ROOM_TYPES if t in channels]
    names = [t for t in ROOM_TYPES if t in channels]
    if not rows:
        return np.zeros(probs.shape[1:], np.uint8)
    types = probs[rows]
    best = types.argmax(axis=0)
    lookup = np.array([type_index(t) for t in names], np.uint8)
    return np.where(types.max(axis=0) > threshold, lookup[best], 0).astype(np.uint8)


def validate(network: torch.nn.Module, metadata: ModelMetadata, plans: list[PlanMasks]) -> dict[str, float]:
    """Full-plan IoUs exactly as served: :func:`~model_code.model.inference.predict_probabilities` at the
    working size, threshold 0.5, pixel counts pooled over all plans (:mod:`model_code.evaluation.metrics`).

    A model with room-type channels also gets ``val_type_miou`` (the mean over types of the pooled IoU of
    the per-pixel room-type map, :func:`room_type_prediction`, with the truth; pixels of unknown type
    skipped) and ``val_type_accuracy`` (the share of known room pixels given their true type);
    ``val_mean_iou`` is then the mean of the wall, opening and room-type IoUs.
    """
    network.eval()
    model = LoadedModel(network=network, metadata=metadata)
    channels = tuple(metadata.spec.channels)
    types = [t for t in ROOM_TYPES if t in channels]
    totals = [PixelCounts(), PixelCounts()]
    type_totals = {t: PixelCounts() for t in types}
    correct = known = 0
    for plan in plans:
        probs = predict_probabilities(model, plan.image)
        for channel, truth in enumerate((plan.wall, plan.opening)):
            totals[channel] = totals[channel] + pixel_counts(probs[channel] > 0.5, truth)
        if types and plan.room_type is not None:
            predicted = room_type_prediction(probs, channels)
            keep = plan.room_type != TYPE_UNKNOWN
            for name in types:
                value = type_index(name)
                type_totals[name] = type_totals[name] + pixel_counts(
                    (predicted == value) & keep, (plan.room_type == value) & keep
                )
            rooms = keep & (plan.room_type > 0)
            correct += int(np.count_nonzero(predicted[rooms] == plan.room_type[rooms]))
            known += int(np.count_nonzero(rooms))
    ious = [counts.iou for counts in totals]
    metrics = {"val_iou": ious[0], "val_opening_iou": ious[1]}
    seen = [c.iou for c in type_totals.values() if c.tp + c.fp + c.fn > 0]
    if seen:
        metrics["val_type_miou"] = float(np.mean(seen))
        metrics["val_type_accuracy"] = correct / max(known, 1)
        ious.append(metrics["val_type_miou"])
    metrics["val_mean_iou"] = float(np.mean(ious))
    return metrics


# ----------------------------------------------------------------------------- loop


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def configure_threads(config: TrainConfig) -> int:
    """Set torch's CPU thread count (config, else all cores up to 8); returns it."""
    threads = config.threads or min(8, os.cpu_count() or 1)
    torch.set_num_threads(max(1, threads))
    return threads


def format_metrics(row: dict[str, float]) -> str:
    """``epoch=3 train_loss=0.2100 val_iou=0.8700 ...``: the line MetricDefinitions read."""
    parts = []
    for key, value in row.items():
        if key == "epoch":
            parts.append(f"epoch={int(value)}")
        elif key == "lr":
            parts.append(f"lr={value:.6g}")
        elif key == "time_s":
            parts.append(f"time_s={value:.1f}")
        else:
            parts.append(f"{key}={value:.4f}")
    return " ".join(parts)


@dataclass
class _Run:
    """Mutable objects of one run, passed between the loop's helpers."""

    config: TrainConfig
    network: torch.nn.Module
    metadata: ModelMetadata
    optimizer: torch.optim.Optimizer
    scheduler: Any
    state: TrainingState
    device: torch.device
    checkpoint_dir: Path
    stop: StopFlag
    dist: Distributed = field(default_factory=Distributed)
    amp: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None
    _ddp: tuple[bool, torch.nn.Module] | None = None
    # the running epoch's start: its time_s and the budget's running part
    epoch_started: float = field(default_factory=time.monotonic)

    def trainable(self, frozen: bool) -> torch.nn.Module:
        """The module to train: the network, or its ``DistributedDataParallel`` wrapper in a
        multi-process job (rebuilt when the encoder freezes or thaws: DDP fixes its parameters)."""
        if not self.dist.enabled:
            return self.network
        if self._ddp is None or self._ddp[0] != frozen:
            ids = [self.device.index] if self.device.type == "cuda" else None
            # Below depth 5, smp keeps the encoder's deeper stages, unused: DDP must not wait for them.
            unused = self.metadata.spec.encoder_depth < 5
            self._ddp = (
                frozen,
                DistributedDataParallel(self.network, device_ids=ids, find_unused_parameters=unused),
            )
        return self._ddp[1]

    def budget_exceeded(self) -> bool:
        """Whether the run's training and validation time, the finished epochs of earlier invocations
        included, plus the running epoch's, is past ``time_budget_minutes``: the clock the
        ``cosine-budget`` schedule follows, so a resumed run finishes the budget it started (and its
        schedule) rather than training a whole new budget at the schedule's floor."""
        budget = self.config.time_budget_minutes
        running = time.monotonic() - self.epoch_started
        return budget is not None and self.state.elapsed_s + running > budget * 60

    def snapshot(self) -> TrainingState:
        self.state.model = {k: v.detach().cpu() for k, v in self.network.state_dict().items()}
        self.state.optimizer = self.optimizer.state_dict()
        self.state.scheduler = self.scheduler.state_dict()
        self.state.scaler = self.scaler.state_dict() if self.scaler is not None else None
        return self.state


def _autocast(run: _Run):
    if run.amp is not None:
        return torch.autocast(run.device.type, dtype=run.amp)
    return nullcontext()


def train_one_epoch(
    run: _Run, dataset: Dataset, loss_fn: SegmentationLoss, epoch: int
) -> tuple[float, str | None]:
    """One pass (or ``max_steps_per_epoch`` steps); returns (mean loss, stop reason or None)."""
    config = run.config
    frozen = epoch <= config.freeze_encoder_epochs
    set_encoder_frozen(run.network, frozen)
    model = run.trainable(frozen)
    run.network.train()
    if frozen:
        run.network.encoder.eval()
    _set_epoch(dataset, epoch)
    if run.dist.enabled:  # each rank its own share of the epoch's crops, reshuffled every epoch
        sampler = DistributedSampler(
            dataset, num_replicas=run.dist.world_size, rank=run.dist.rank, shuffle=True, seed=config.seed
        )
        sampler.set_epoch(epoch)
    else:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(config.seed * 7919 + epoch))
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.num_workers,
        drop_last=len(sampler) > config.batch_size,
        pin_memory=run.device.type == "cuda",
        worker_init_fn=ignore_stop_signals if config.num_workers else None,
    )
    steps = (
        len(loader) if config.max_steps_per_epoch is None else min(len(loader), config.max_steps_per_epoch)
    )
    losses: list[float] = []
    reason = None
    bar = tqdm(total=steps, desc=f"epoch {epoch}/{config.epochs}", leave=False, mininterval=2, disable=None)
    last_report = time.monotonic()
    with stop_signals_blocked() if config.num_workers else nullcontext():
        batches = iter(loader)  # starts the workers
    for step, (images, targets) in enumerate(batches):
        if step >= steps:
            break
        images, targets = images.to(run.device, non_blocking=True), targets.to(run.device, non_blocking=True)
        with _autocast(run):
            loss = loss_fn(model(images), targets)
        # One collective per step: every rank learns of a diverged loss, a stop or the budget at the
        # same step, so all leave the epoch together (a rank alone would hang the others).
        diverged, stopping, over_budget = run.dist.any(
            not bool(torch.isfinite(loss)), run.stop.requested, run.budget_exceeded()
        )
        if diverged:
            raise FloatingPointError(
                f"training loss is {float(loss.detach())} at epoch {epoch} step {step + 1}: "
                f"lower learning_rate ({config.learning_rate}) or check the masks"
            )
        run.optimizer.zero_grad(set_to_none=True)
        if run.scaler is not None:  # fp16: scale the loss so small gradients survive
            run.scaler.scale(loss).backward()
            run.scaler.step(run.optimizer)
            run.scaler.update()
        else:
            loss.backward()
            run.optimizer.step()
        losses.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses):.4f}")
        if bar.disable and time.monotonic() - last_report >= PROGRESS_LOG_S:
            last_report = time.monotonic()
            logger.info(
                "progress: epoch %d step %d/%d running_loss=%.4f", epoch, step + 1, steps, np.mean(losses)
            )
        if stopping:
            reason = "terminated"
            break
        if over_budget:
            reason = "time_budget"
            break
    bar.close()
    return (run.dist.mean(float(np.mean(losses))) if losses else float("nan")), reason


def _improved(run: _Run, score: float) -> bool:
    return score > run.state.best_score + 1e-6


def _after_epoch(run: _Run, epoch: int, train_loss: float, val_plans: list[PlanMasks]) -> dict:
    """Validate, log, step the schedule, keep the best model and checkpoint the state."""
    config, state = run.config, run.state
    row: dict[str, float] = {"epoch": epoch, "train_loss": train_loss}
    # Rank 0 validates (the network is the same on every rank) and tells the others the metrics, so
    # every rank takes the same schedule step and early-stopping decision.
    metrics = validate(run.network, run.metadata, val_plans) if val_plans and run.dist.is_main else {}
    metrics = run.dist.broadcast(metrics)
    row.update(metrics)
    row["lr"] = run.optimizer.param_groups[0]["lr"]
    row["time_s"] = time.monotonic() - run.epoch_started
    if run.dist.is_main:
        logger.info(format_metrics(row), extra={"bare": True})
    score = metrics.get(config.monitor, -train_loss)
    state.elapsed_s += row["time_s"]
    if config.scheduler == "plateau":
        run.scheduler.step(score)
    elif config.scheduler == "cosine-budget":  # rank 0's clock, so every rank sets the same rate
        run.scheduler.step(run.dist.broadcast(state.elapsed_s))
    else:
        run.scheduler.step()
    state.epoch = epoch
    state.history.append(row)
    if _improved(run, score) or not val_plans:
        state.best_score, state.best_epoch, state.best_metrics, state.stale_epochs = score, epoch, metrics, 0
        progress = {"best_epoch": epoch, "stopped": "running (best-so-far checkpoint)"}
        if run.dist.is_main:
            save_model(run.network, _final_metadata(run, progress), best_dir(run.checkpoint_dir), half=False)
    else:
        state.stale_epochs += 1
    if config.keep_epoch_models and run.dist.is_main:
        progress = {"epoch": epoch, "stopped": "running (epoch model kept by --keep-epoch-models)"}
        metadata = replace(_final_metadata(run, progress), metrics=dict(metrics))
        save_model(run.network, metadata, epoch_dir(run.checkpoint_dir, epoch), half=True)
    _checkpoint(run)
    return row


def _checkpoint(run: _Run) -> None:
    """Rank 0 writes the state; the other ranks wait until it is on disk."""
    if run.dist.is_main:
        save_state(run.checkpoint_dir, run.snapshot())
    run.dist.barrier()


def _final_metadata(run: _Run, data_summary: dict[str, Any]) -> ModelMetadata:
    config = run.config
    return ModelMetadata(
        spec=run.metadata.spec,
        name=config.model_name,
        version=config.model_version,
        mean=run.metadata.mean,
        std=run.metadata.std,
        working_size=config.working_size,
        native_up_to=config.native_up_to,
        training=data_summary,
        metrics=dict(run.state.best_metrics),
    )


def _recipe(config: TrainConfig) -> dict[str, Any]:
    """The settings a resume must share (:func:`resume_recipe`) and, with an init checkpoint, the digest of
    its weights: ``--init-checkpoint synthetic`` names other weights once the bundled model is replaced, and
    a resumed run keeps the weights it started from while its record would name the new ones."""
    recipe = resume_recipe(config.to_dict())
    if config.init_checkpoint:
        recipe["init_weights_sha256"] = weights_digest(resolve_model_dir(config.init_checkpoint))
    return recipe


def _new_state(run_spec: ModelSpec, recipe: dict[str, Any]) -> TrainingState:
    return TrainingState(epoch=0, spec=asdict(run_spec), model={}, optimizer={}, scheduler={}, recipe=recipe)


def _restore(run: _Run, saved: TrainingState) -> None:
    run.network.load_state_dict(saved.model)
    run.optimizer.load_state_dict(saved.optimizer)
    run.scheduler.load_state_dict(saved.scheduler)
    if run.scaler is not None and saved.scaler:
        run.scaler.load_state_dict(saved.scaler)
    saved.recipe = saved.recipe or run.state.recipe  # a state from before recipes were kept
    run.state = saved
    logger.info(
        "resumed from %s at epoch %d (best %s=%.4f at epoch %d)",
        run.checkpoint_dir,
        saved.epoch,
        run.config.monitor,
        saved.best_score,
        saved.best_epoch,
    )


def checkpoint_dir_for(config: TrainConfig) -> Path:
    """``checkpoint_dir``, else ``<out>-checkpoints`` beside the model folder (kept out of it)."""
    if config.checkpoint_dir:
        return Path(config.checkpoint_dir)
    out = Path(config.out)
    return out.with_name(out.name + "-checkpoints")


def train(config: TrainConfig, stop: StopFlag | None = None) -> TrainResult:
    """Run ``config``; resumes from its checkpoint directory; writes the model to ``config.out``.

    Raises :class:`TrainingInterrupted` after checkpointing when ``stop`` is requested.
    """
    config.check()
    dist, device = setup(config.device)
    try:
        return _train(config, stop, dist, device)
    finally:
        teardown(dist)


def _train(
    config: TrainConfig, stop: StopFlag | None, dist: Distributed, device: torch.device
) -> TrainResult:
    seed_everything(config.seed)
    threads = configure_threads(config)
    data = resolve_data(config)
    network, metadata, init = initial_network(config, data)
    # validation sees the plans as inference will: at this run's working size
    metadata = replace(metadata, working_size=config.working_size, native_up_to=config.native_up_to)
    network.to(device)
    optimizer = make_optimizer(network, config)
    run = _Run(
        config=config,
        network=network,
        metadata=metadata,
        optimizer=optimizer,
        scheduler=make_scheduler(optimizer, config),
        state=_new_state(metadata.spec, _recipe(config)),
        device=device,
        checkpoint_dir=checkpoint_dir_for(config),
        stop=stop or StopFlag(),
        dist=dist,
        amp=amp_dtype(device, config.amp),
    )
    if run.amp == torch.float16:
        run.scaler = torch.amp.GradScaler(device.type)
    defaults = resume_recipe(TrainConfig().to_dict())
    saved = load_state(run.checkpoint_dir, metadata.spec, run.state.recipe, defaults)
    if saved is not None:
        _restore(run, saved)
    no_opening, dropped = data.summary["plans_without_opening_mask"], data.summary["dropped_images"]
    gaps = (
        f"; {no_opening} plan(s) without an opening mask, {dropped} image(s) dropped without ground truth"
        if no_opening or dropped
        else ""
    )
    logger.info(
        "training %s U-Net (init %s) on %d plans + %d redrawn + %d synthetic, validating on %d %s plans; "
        "device=%s amp=%s threads=%d checkpoints=%s%s",
        metadata.spec.encoder,
        init,
        len(data.train),
        data.summary["redrawn_plans_per_epoch"],
        config.synthetic,
        data.summary["validation_plans"],
        data.summary["validation_source"],
        device,
        str(run.amp).removeprefix("torch.") if run.amp else "off",
        threads,
        run.checkpoint_dir,
        gaps,
    )
    dataset = build_train_dataset(config, data, metadata.mean, metadata.std, metadata.spec.channels)
    if dist.enabled:
        logger.info(
            "data-parallel: %s (local rank %d, backend %s), %d training crops per rank per epoch",
            dist.label,
            dist.local_rank,
            dist.backend,
            -(-len(dataset) // dist.world_size),
        )
    val_plans = load_validation(data, config)
    channels = tuple(metadata.spec.channels)
    loss_fn = SegmentationLoss(
        config.dice_weight,
        type_channels=tuple(channels.index(t) for t in ROOM_TYPES if t in channels),
        room_type_weight=config.room_type_weight,
    )
    stopped = ""
    for epoch in range(run.state.epoch + 1, config.epochs + 1):
        run.epoch_started = time.monotonic()
        train_loss, reason = train_one_epoch(run, dataset, loss_fn, epoch)
        if reason == "terminated":
            _checkpoint(run)
            raise TrainingInterrupted(
                f"{run.stop.signal_name}: checkpoint saved in {run.checkpoint_dir} during epoch {epoch}; "
                "run again to resume"
            )
        _after_epoch(run, epoch, train_loss, val_plans)
        if reason == "time_budget":
            stopped = "time_budget"
            logger.info(
                "time budget of %.1f minutes reached after epoch %d", config.time_budget_minutes, epoch
            )
            break
        if (
            config.early_stopping_patience
            and val_plans
            and run.state.stale_epochs >= config.early_stopping_patience
        ):
            stopped = "early_stopping"
            logger.info(
                "early stopping: no %s improvement for %d epochs", config.monitor, run.state.stale_epochs
            )
            break
        if run.dist.any(run.stop.requested)[0]:
            raise TrainingInterrupted(
                f"{run.stop.signal_name}: checkpoint saved in {run.checkpoint_dir} after epoch {epoch}"
            )
    return finish(run, data, init, stopped or "completed", threads)


def finish(run: _Run, data: TrainData, init: str, stopped: str, threads: int) -> TrainResult:
    """Write the best model (serving format), the curve and the history; mark the state finished.

    In a multi-process job rank 0 alone writes; the others wait for it and return the same result.
    """
    config, state = run.config, run.state
    summary = dict(data.summary)
    summary.update(
        {
            "init": init,
            "epochs_completed": state.epoch,
            "best_epoch": state.best_epoch,
            "stopped": stopped,
            "train_time_s": round(state.elapsed_s, 1),
            "device": str(run.device),
            "threads": threads,
            "hyperparameters": {k: v for k, v in config.to_dict().items() if k not in PATH_FIELDS},
            # the init checkpoint's stages, back to the first: see model.checkpoint.training_lineage
            "lineage": run.metadata.training.get("lineage", []),
        }
    )
    if run.dist.enabled:
        summary["processes"] = run.dist.world_size
    output_dir = Path(config.output_dir or config.out)
    artifacts = {"model": str(Path(config.out)), "history": str(output_dir / HISTORY_FILE)}
    if run.dist.is_main:
        artifacts.update(_write_outputs(run, summary, output_dir))
    run.dist.barrier()
    logger.info(
        "model written to %s (best epoch %d: %s)%s",
        artifacts["model"],
        state.best_epoch,
        " ".join(f"{k}={v:.4f}" for k, v in state.best_metrics.items()) or "no validation",
        "" if run.dist.is_main else " by rank 0",
    )
    return TrainResult(
        model_dir=Path(artifacts["model"]),
        epochs_completed=state.epoch,
        best_epoch=state.best_epoch,
        metrics=dict(state.best_metrics),
        history=list(state.history),
        stopped=stopped,
        elapsed_s=state.elapsed_s,
        artifacts=artifacts,
    )


def _carry_room_classifier(init_checkpoint: str | None, model_dir: Path) -> None:
    """Give the trained model its init checkpoint's room classifier (or none, removing a stale one).

    The classifier reads the rooms the pipeline finds, not the network's weights, so a fine-tuned
    model keeps typing rooms; ``floorplan train-rooms`` fits one to the customer's own plans.
    """
    names = (CLASSIFIER_FILE, CLASSIFIER_SUMMARY_FILE)
    source = resolve_model_dir(init_checkpoint) if init_checkpoint else None
    for name in names:
        target = model_dir / name
        if source is not None and (source / name).is_file():
            if source.resolve() != model_dir.resolve():
                atomic_write_bytes(target, (source / name).read_bytes())
        elif target.exists():
            target.unlink()


def _write_outputs(run: _Run, summary: dict[str, Any], output_dir: Path) -> dict[str, str]:
    """The best model in ``out``, the curve and history in ``output_dir``, the finished state."""
    config, state = run.config, run.state
    best = best_dir(run.checkpoint_dir)
    if best.is_dir() and (best / "model.safetensors").is_file():
        run.network.load_state_dict(load_model(best, runtime="eager").network.state_dict())
    model_dir = save_model(run.network, _final_metadata(run, summary), config.out)
    _carry_room_classifier(config.init_checkpoint, model_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    artifacts = {"model": str(model_dir)}
    if state.history:
        artifacts["curve"] = str(
            plot_training_curve(state.history, output_dir / CURVE_FILE, title=config.model_name)
        )
    history_path = output_dir / HISTORY_FILE
    history_path.write_text(json.dumps({"history": state.history, "training": summary}, indent=1) + "\n")
    artifacts["history"] = str(history_path)
    state.finished = True
    save_state(run.checkpoint_dir, run.snapshot())
    return artifacts
