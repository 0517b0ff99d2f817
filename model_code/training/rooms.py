"""``floorplan train-rooms``: teach a checkpoint's room classifier the room types of a dataset.

    floorplan train-rooms --data r3d/train --split train --model model_code/default_model

The checkpoint runs through the serving pipeline on every training plan; each detected room that
matches a true room of known type (IoU >= 0.5, as ``floorplan evaluate`` matches them) becomes one
example: the room's :func:`~model_code.model.room_classifier.room_features` and the true type.  So
the classifier learns on exactly what it will see when serving: the pipeline's own rooms, walls and
openings, with their errors.  A gradient-boosted tree ensemble (scikit-learn's
``HistGradientBoostingClassifier``) is fitted, checked by grouped cross-validation (whole plans held
out), flattened to arrays and written as ``room_classifier.safetensors`` into the checkpoint
(``--out``: a copy of it elsewhere).  Any dataset layout with room types works: R3D room colours,
annotations whose rooms carry ``name_hint`` or ``type``, generated plans.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from model_code.io.files import atomic_write_bytes
from model_code.model.checkpoint import CheckpointError, is_checkpoint, resolve_model_dir
from model_code.model.room_classifier import (
    CLASSIFIER_FILE,
    CLASSIFIER_SUMMARY_FILE,
    COLOUR_FEATURES,
    FEATURE_VERSION,
    RoomClassifier,
    feature_names,
    softmax,
)
from model_code.schema import ROOM_TYPES

if TYPE_CHECKING:
    from model_code.datasets.layouts import Sample
    from model_code.evaluation.truth import GroundTruth
    from model_code.pipeline import Pipeline, PipelineOptions, PlanResult

CLASSES = list(ROOM_TYPES)  # the classifier's classes (index = the examples' labels)

logger = logging.getLogger(__name__)

DEFAULT_ITERATIONS = 150
DEFAULT_LEARNING_RATE = 0.1
DEFAULT_LEAF_NODES = 31
MIN_EXAMPLES = 20  # fewer typed rooms than this cannot train a classifier
MIN_PER_CLASS = 2
# Leaf values are -sum(gradient) / (sum(hessian) + L2_REGULARIZATION).  Without it a rare type's hessians
# vanish once its few rooms are fitted and the leaf values explode: a fit with 5 closets among 2,434
# rooms reached raw scores of +-30,000 and typed every room a bedroom (fifteenth session).
L2_REGULARIZATION = 1.0
MAX_TREE_SCORE = 1e3  # log-odds the trees may add on a training room; beyond it the fit has diverged
UNSEEN_SCORE = -1e4  # raw score of a class absent from the training rooms (probability 0 at any temperature)
UNFITTED_FEATURES = COLOUR_FEATURES  # measured, but the trees never split on them (room_classifier.py)


def fitted_columns() -> np.ndarray:
    """The columns of :func:`~model_code.model.room_classifier.room_features` the trees are fitted on:
    all but :data:`UNFITTED_FEATURES` (the flattened trees still index the full feature vector)."""
    names = feature_names()
    return np.asarray([i for i, name in enumerate(names) if name not in UNFITTED_FEATURES], np.int64)


class RoomTrainingError(ValueError):
    """The data cannot train a room classifier (reported to the user, exit 2)."""


@dataclass
class RoomExamples:
    """Detected rooms of a dataset: features, class index (into :data:`CLASSES`) and plan of each."""

    features: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)

    def add(self, features: np.ndarray, labels: list[int], plan: str) -> None:
        """Append one plan's rows."""
        for row, label in zip(features, labels, strict=True):
            self.features.append(row)
            self.labels.append(label)
            self.plans.append(plan)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, y, plan)`` as arrays."""
        if not self.features:
            return np.zeros((0, 0), np.float32), np.zeros(0, np.int64), np.zeros(0, str)
        return np.stack(self.features), np.asarray(self.labels, np.int64), np.asarray(self.plans)


def plan_examples(truth: GroundTruth, result: PlanResult) -> tuple[np.ndarray, list[int]]:
    """The typed rooms of one analysed plan: the features of each detected room that matches a true
    room of known type (IoU >= 0.5, as ``floorplan evaluate`` matches), and that type.

    ``truth`` is a :class:`~model_code.evaluation.truth.GroundTruth`, ``result`` the pipeline's
    :class:`~model_code.pipeline.PlanResult` on its image, analysed with ``measure_rooms`` set (its
    ``room_features`` are the features the pipeline measures when serving).
    """
    from model_code.evaluation.scoring import room_analysis

    analysis = room_analysis(truth, result)
    if analysis is None or not analysis.types_known:
        return np.zeros((0, 0), np.float32), []
    pairs = [
        (room.match, ROOM_TYPES.index(room.type))
        for room in analysis.outcomes
        if room.match is not None and room.type in ROOM_TYPES
    ]
    if not pairs or result.room_features is None:
        return np.zeros((0, 0), np.float32), []
    return result.room_features[[p for p, _ in pairs]], [t for _, t in pairs]


def collect_examples(samples: Sequence[Sample], pipeline: Pipeline, options: PipelineOptions) -> RoomExamples:
    """Run ``pipeline`` on every sample and gather its typed rooms (a plan that cannot be read or
    analysed is skipped with a warning, so one bad file does not lose the others)."""
    from model_code.evaluation.truth import GroundTruthError, load_ground_truth

    examples = RoomExamples()
    for sample in tqdm(samples, desc="rooms", unit="plan"):
        try:
            truth = load_ground_truth(sample)
        except GroundTruthError as exc:
            logger.warning("skipping %s: %s", sample.stem, exc)
            continue
        try:
            result = pipeline.analyze(truth.image, options)
        except (RuntimeError, ValueError, MemoryError) as exc:
            logger.warning("skipping %s: %s: %s", sample.stem, type(exc).__name__, exc)
            continue
        features, labels = plan_examples(truth, result)
        examples.add(features, labels, sample.stem)
    return examples


def write_examples(path: Path, x: np.ndarray, y: np.ndarray, plans: np.ndarray) -> None:
    """Keep collected rooms in an ``.npz`` file (with the feature version and class names), written
    atomically like every file the project writes, so an interrupted run leaves no half file to reuse."""
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x=x,
        y=y,
        plans=plans.astype(str),
        classes=np.asarray(CLASSES),
        feature_version=np.asarray(FEATURE_VERSION),
    )
    atomic_write_bytes(path, buffer.getvalue())


def read_examples(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rooms kept by :func:`write_examples`; refuses a file of other features or classes."""
    try:
        with np.load(path, allow_pickle=False) as data:
            same = int(data["feature_version"]) == FEATURE_VERSION and list(data["classes"]) == CLASSES
            arrays = data["x"], data["y"], data["plans"]
    except (OSError, KeyError, ValueError) as exc:
        raise RoomTrainingError(f"cannot read the kept rooms {path}: {exc}") from exc
    if not same:
        raise RoomTrainingError(f"{path} holds rooms of other features or classes: delete it to collect anew")
    return arrays


def _estimator(iterations: int, learning_rate: float, leaf_nodes: int, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=iterations,
        learning_rate=learning_rate,
        max_leaf_nodes=leaf_nodes,
        l2_regularization=L2_REGULARIZATION,
        early_stopping=False,
        random_state=seed,
    )


def flatten(estimator, classes: list[str], columns: np.ndarray | None = None) -> RoomClassifier:
    """A fitted ``HistGradientBoostingClassifier`` as a :class:`RoomClassifier` over ``classes``.

    ``classes[k]`` is the type of the estimator's label ``k``; labels it never saw get the raw score
    :data:`UNSEEN_SCORE`, so they are never predicted, whatever the temperature.  ``columns[j]`` is the
    room feature the estimator's column ``j`` was (``None``: the estimator saw every feature).
    """
    columns = np.arange(len(feature_names())) if columns is None else np.asarray(columns, np.int64)
    seen = [int(c) for c in estimator.classes_]
    trees = [tree for stage in estimator._predictors for tree in stage]
    per_stage = len(estimator._predictors[0])
    nodes = max(len(tree.nodes) for tree in trees)
    shape = (len(trees), nodes)
    feature = np.zeros(shape, np.int32)
    threshold = np.zeros(shape, np.float64)
    left = np.full(shape, -1, np.int32)
    right = np.full(shape, -1, np.int32)
    value = np.zeros(shape, np.float64)
    for i, tree in enumerate(trees):
        n = tree.nodes
        if np.any(n["is_categorical"]):
            raise RoomTrainingError("categorical splits are not supported")
        count = len(n)
        leaf = n["is_leaf"].astype(bool)
        feature[i, :count] = np.where(leaf, 0, columns[n["feature_idx"]])
        threshold[i, :count] = n["num_threshold"]
        left[i, :count] = np.where(leaf, -1, n["left"])
        right[i, :count] = np.where(leaf, -1, n["right"])
        value[i, :count] = n["value"]
    if per_stage == 1:  # two classes: one tree per stage scores the second class against the first
        tree_class = np.full(len(trees), seen[1], np.int32)
        baseline = np.full(len(classes), UNSEEN_SCORE)
        baseline[seen[0]] = 0.0
        baseline[seen[1]] = float(np.ravel(estimator._baseline_prediction)[0])
    else:
        tree_class = np.tile(np.asarray(seen, np.int32), len(estimator._predictors))
        baseline = np.full(len(classes), UNSEEN_SCORE)
        baseline[seen] = np.ravel(estimator._baseline_prediction)
    return RoomClassifier(
        classes=list(classes),
        baseline=baseline,
        tree_class=tree_class,
        feature=feature,
        threshold=threshold,
        left=left,
        right=right,
        value=value,
        feature_version=FEATURE_VERSION,
    )


def check_examples(y: np.ndarray, plans: np.ndarray) -> None:
    """Refuse data too thin to train on, saying what is missing."""
    if len(y) < MIN_EXAMPLES:
        raise RoomTrainingError(
            f"only {len(y)} detected rooms matched a true room of known type (at least {MIN_EXAMPLES} "
            "needed): the dataset needs room types (R3D room colours, annotations whose rooms carry "
            "name_hint or type, or generated plans)"
        )
    counts = np.bincount(y, minlength=len(CLASSES))
    if np.count_nonzero(counts >= MIN_PER_CLASS) < 2:
        raise RoomTrainingError("the typed rooms are all of one type: a classifier needs at least two")


def fit_classifier(
    x: np.ndarray,
    y: np.ndarray,
    *,
    iterations: int = DEFAULT_ITERATIONS,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    leaf_nodes: int = DEFAULT_LEAF_NODES,
    seed: int = 0,
) -> RoomClassifier:
    """Fit the tree ensemble on ``(x, y)`` (``y`` indexes :data:`CLASSES`; ``x`` has every room feature,
    the trees see :func:`fitted_columns`) and flatten it.

    Raises:
        RoomTrainingError: the fit diverged: on its own training rooms its trees add up to scores
            beyond :data:`MAX_TREE_SCORE` (or not finite).
    """
    columns = fitted_columns()
    estimator = _estimator(iterations, learning_rate, leaf_nodes, seed).fit(x[:, columns], y)
    classifier = flatten(estimator, list(CLASSES), columns)
    spread = float(np.abs(classifier.raw_scores(x) - classifier.baseline).max(initial=0.0))
    if not spread <= MAX_TREE_SCORE:  # also catches nan
        accuracy = training_accuracy(classifier, x, y)
        raise RoomTrainingError(
            f"the tree ensemble diverged: its trees add up to log-odds of {spread:.3g} on its training "
            f"rooms (at most {MAX_TREE_SCORE:g} make sense), and it types {accuracy:.3f} of them right; "
            "try fewer --iterations or a lower --learning-rate"
        )
    return classifier


def training_accuracy(classifier: RoomClassifier, x: np.ndarray, y: np.ndarray) -> float:
    """Share of the rooms ``(x, y)`` that ``classifier`` types right (``nan``: its scores are not finite)."""
    raw = classifier.raw_scores(x)
    if not np.all(np.isfinite(raw)):
        return float("nan")
    return float((raw.argmax(axis=1) == y).mean())


def cross_validate(
    x: np.ndarray, y: np.ndarray, plans: np.ndarray, folds: int = 5, **kwargs
) -> tuple[dict[str, float], np.ndarray | None]:
    """Grouped ``folds``-fold cross-validation (whole plans held out).

    Returns the scores: ``type_accuracy`` (the measure ``floorplan evaluate`` reports on matched
    rooms), ``recall_<type>`` (its share per true type), and ``log_loss``/``mean_confidence``
    before and after the temperature; and the out-of-fold raw scores (``None`` without folds).
    """
    from sklearn.model_selection import GroupKFold

    folds = min(folds, len(set(plans.tolist())))
    if folds < 2:
        return {}, None
    raw = np.zeros((len(y), len(CLASSES)))
    for train, test in GroupKFold(folds).split(x, y, plans):
        raw[test] = fit_classifier(x[train], y[train], **kwargs).raw_scores(x[test])
    predicted = raw.argmax(axis=1)
    out: dict[str, float] = {"type_accuracy": float((predicted == y).mean()), "rooms": len(y)}
    for k, name in enumerate(CLASSES):
        of_type = y == k
        if of_type.any():
            out[f"recall_{name}"] = float((predicted[of_type] == k).mean())
    temperature = fit_temperature(raw, y)
    for label, t in (("uncalibrated", 1.0), ("calibrated", temperature)):
        probs = softmax(raw, t)
        out[f"log_loss_{label}"] = float(-np.log(np.maximum(probs[np.arange(len(y)), y], 1e-12)).mean())
        out[f"mean_confidence_{label}"] = float(probs.max(axis=1).mean())
    out["temperature"] = temperature
    return out, raw


def fit_temperature(raw: np.ndarray, y: np.ndarray) -> float:
    """The temperature (1 to 50) that minimises the log loss of out-of-fold raw scores."""
    grid = np.exp(np.linspace(0.0, np.log(50.0), 200))
    losses = [-np.log(np.maximum(softmax(raw, t)[np.arange(len(y)), y], 1e-12)).mean() for t in grid]
    return float(grid[int(np.argmin(losses))])


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The example keeps its line breaks; every option shows its default."""


def configure_train_rooms(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``floorplan train-rooms``."""
    parser.epilog = (
        "example:\n  floorplan train-rooms --data r3d/train --split train --model model_code/default_model"
    )
    parser.formatter_class = _HelpFormatter
    parser.add_argument(
        "--data", type=Path, required=True, help="dataset folder with room types (any layout)"
    )
    parser.add_argument(
        "--split",
        default="train",
        help="which plans: a sub-folder of a split root, or the training share of a flat folder (train, "
        "validation, all; the hold-out of floorplan train, so validation plans stay unseen)",
    )
    parser.add_argument("--val-fraction", type=float, default=0.1, help="hold-out share of a flat folder")
    parser.add_argument("--split-seed", type=int, default=0, help="hold-out seed of a flat folder")
    parser.add_argument(
        "--model",
        default="default",
        help="checkpoint folder whose rooms are typed ('default' or 'synthetic': a bundled model)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write a copy of the checkpoint with the classifier here (none: into --model)",
    )
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS, help="boosting rounds")
    parser.add_argument("--learning-rate", type=float, default=DEFAULT_LEARNING_RATE, help="boosting step")
    parser.add_argument("--leaf-nodes", type=int, default=DEFAULT_LEAF_NODES, help="leaves per tree")
    parser.add_argument(
        "--folds",
        type=int,
        default=5,
        help="grouped cross-validation folds; they also fit the probabilities' temperature (0: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the tree ensemble")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N plans")
    parser.add_argument(
        "--examples",
        type=Path,
        default=None,
        help="an .npz file keeping the collected rooms: read when it exists (no pipeline run), else written",
    )


def run_train_rooms(args: argparse.Namespace) -> int:
    """Collect typed rooms, fit, cross-validate and write the classifier; 2 on bad input."""
    from model_code.evaluation.cli import EvaluationError, select_samples
    from model_code.model.loader import load_model
    from model_code.pipeline import Pipeline, PipelineOptions

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.iterations < 1 or not 0 < args.learning_rate <= 1 or args.leaf_nodes < 2:
            raise RoomTrainingError("--iterations >= 1, 0 < --learning-rate <= 1 and --leaf-nodes >= 2")
        model_dir = resolve_model_dir(args.model)
        if not is_checkpoint(model_dir):
            raise RoomTrainingError(f"no model checkpoint (model.safetensors + model.json) in {model_dir}")
        if args.examples is not None and args.examples.is_file():
            x, y, plans = read_examples(args.examples)
        else:
            samples, _ = select_samples(args.data, args.split, args.val_fraction, args.split_seed)
            samples = samples[: args.limit] if args.limit else samples
            if not samples:
                raise RoomTrainingError(f"no plans in {args.data} (split {args.split})")
            # the rooms as the room stage finds them, without an older classifier (which may not even load)
            pipeline = Pipeline(load_model(model_dir, room_classifier=False))
            pipeline.measure_rooms = True
            x, y, plans = collect_examples(samples, pipeline, PipelineOptions()).arrays()
            if args.examples is not None:
                write_examples(args.examples, x, y, plans)
        check_examples(y, plans)
    except (RoomTrainingError, EvaluationError, CheckpointError, FileNotFoundError) as exc:
        print(f"floorplan train-rooms: error: {exc}", file=sys.stderr)
        return 2
    settings = {
        "iterations": args.iterations,
        "learning_rate": args.learning_rate,
        "leaf_nodes": args.leaf_nodes,
        "seed": args.seed,
    }
    try:
        scores, _ = cross_validate(x, y, plans, args.folds, **settings) if args.folds else ({}, None)
        classifier = fit_classifier(x, y, **settings)
    except RoomTrainingError as exc:
        print(f"floorplan train-rooms: error: {exc}", file=sys.stderr)
        return 2
    classifier.temperature = float(scores.get("temperature", 1.0))
    target = model_dir
    if args.out is not None:
        if args.out.resolve() != model_dir.resolve():
            shutil.copytree(model_dir, args.out, dirs_exist_ok=True)
        target = args.out
    path = classifier.save(target)
    counts = dict(zip(CLASSES, np.bincount(y, minlength=len(CLASSES)).tolist(), strict=True))
    summary = {
        "file": path.name,
        "plans": len(set(plans.tolist())),
        "rooms": len(y),
        "rooms_per_type": counts,
        "cross_validation": scores,
        "training_accuracy": training_accuracy(classifier, x, y),
        "settings": {
            **settings,
            "l2_regularization": L2_REGULARIZATION,
            "unfitted_features": list(UNFITTED_FEATURES),
        },
        "data": str(args.data),
        "split": args.split,
    }
    atomic_write_bytes(
        Path(target) / CLASSIFIER_SUMMARY_FILE, (json.dumps(summary, indent=2) + "\n").encode()
    )
    print(json.dumps(summary, indent=2))
    return 0


__all__ = ["CLASSIFIER_FILE", "configure_train_rooms", "fit_classifier", "flatten", "run_train_rooms"]
