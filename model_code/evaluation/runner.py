"""The loop over plans: every backend on every plan, scores and side-by-side overlays.

Each worker process (or the main process with ``workers=1``) loads every backend's pipeline
once, then for each plan reads the ground truth, analyses the image with each backend,
scores the results and writes the plan's side-by-side overlay and its rooms-by-type picture.
Only the small score records travel back to the caller.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from model_code.datasets.layouts import Sample
from model_code.evaluation.backends import BackendSpec
from model_code.evaluation.pictures import rooms_side_by_side, side_by_side
from model_code.evaluation.scoring import GROUND_TRUTH, PlanRecord, room_analysis, score_plan
from model_code.evaluation.truth import GroundTruth, GroundTruthError, load_ground_truth
from model_code.io.images import write_png
from model_code.pipeline import Pipeline, PlanResult


@dataclass
class RunSettings:
    """What every worker needs besides the plans."""

    backends: list[BackendSpec]
    out_dir: Path
    overlays: bool = True
    threads: int = 1


class PlanEvaluator:
    """Holds the loaded pipelines of one process and evaluates plans one at a time."""

    def __init__(self, settings: RunSettings):
        self.settings = settings
        self.pipelines: dict[str, Pipeline] = {spec.name: spec.load() for spec in settings.backends}

    def evaluate(self, sample: Sample) -> PlanRecord:
        """Ground truth, every backend, scores and the overlay of one plan."""
        try:
            truth = load_ground_truth(sample)
        except GroundTruthError as exc:
            return PlanRecord(stem=sample.stem, width=0, height=0, errors={GROUND_TRUTH: str(exc)})
        height, width = truth.shape
        record = PlanRecord(stem=sample.stem, width=width, height=height)
        results: dict[str, PlanResult] = {}
        for spec in self.settings.backends:
            started = time.perf_counter()
            try:
                result = self.pipelines[spec.name].analyze(truth.image, spec.options())
            except (RuntimeError, ValueError, MemoryError) as exc:
                record.errors[spec.name] = f"{type(exc).__name__}: {exc}"
                continue
            elapsed_ms = (time.perf_counter() - started) * 1000
            results[spec.name] = result
            record.scores[spec.name] = score_plan(truth, result, elapsed_ms)
        if self.settings.overlays:
            record.overlay = self.write_overlay(truth, results)
            record.room_overlay = self.write_room_overlay(truth, results)
        return record

    def write_overlay(self, truth: GroundTruth, results: dict[str, PlanResult]) -> str:
        """Write ``overlays/<stem>.png`` (ground truth | each backend) and return its relative path."""
        relative = Path("overlays") / f"{truth.stem}.png"
        path = self.settings.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(path, side_by_side(truth, results, [s.name for s in self.settings.backends]))
        return relative.as_posix()

    def write_room_overlay(self, truth: GroundTruth, results: dict[str, PlanResult]) -> str | None:
        """Write ``room_overlays/<stem>.png`` (rooms by type); its relative path, None without room truth."""
        analyses = {name: room_analysis(truth, result) for name, result in results.items()}
        picture = rooms_side_by_side(truth, analyses, [s.name for s in self.settings.backends])
        if picture is None:
            return None
        relative = Path("room_overlays") / f"{truth.stem}.png"
        path = self.settings.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(path, picture)
        return relative.as_posix()


_WORKER: PlanEvaluator | None = None


def _init_worker(settings: RunSettings) -> None:
    """Pool initializer: one evaluator (pipelines loaded once) per worker process."""
    global _WORKER
    import torch

    torch.set_num_threads(max(1, settings.threads))
    _WORKER = PlanEvaluator(settings)


def _evaluate_in_worker(sample: Sample) -> PlanRecord:
    assert _WORKER is not None, "worker used before its initializer ran"
    return _WORKER.evaluate(sample)


def iterate_records(
    samples: Sequence[Sample], settings: RunSettings, workers: int = 1
) -> Iterator[PlanRecord]:
    """Yield one :class:`PlanRecord` per sample, in order, with a tqdm progress bar."""
    progress = tqdm(total=len(samples), desc="evaluating", unit="plan")
    try:
        if workers <= 1:
            evaluator = PlanEvaluator(settings)
            for sample in samples:
                yield evaluator.evaluate(sample)
                progress.update()
            return
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=_init_worker, initargs=(settings,)) as pool:
            for record in pool.imap(_evaluate_in_worker, samples):
                yield record
                progress.update()
    finally:
        progress.close()


def default_threads(workers: int) -> int:
    """Torch threads per worker so that all workers together use the machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))
