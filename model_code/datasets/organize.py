"""Split a folder of plans into ``train/``, ``validation/`` and ``test/`` folders.

Works on all three layouts and keeps the layout (an R3D folder gives R3D splits, an
``images/`` + ``annotations/`` folder gives the same sub-folders per split).  The split is
deterministic by seed (default 80/10/10; from three plans up, validation and test get at
least one plan each).  Images without ground truth and duplicate images (same bytes) are
problems: the command refuses them with a report, or leaves them out with ``skip_problems``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from model_code.datasets.layouts import DatasetError, Sample, detect_layout, list_images, open_dataset

SPLIT_NAMES = ("train", "validation", "test")
SPLITS_FILE = "splits.json"


@dataclass
class Survey:
    """What a source folder holds: usable samples and the problems found."""

    layout: str
    samples: list[Sample]
    problems: list[str] = field(default_factory=list)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _candidate_images(root: Path, layout: str) -> list[Path]:
    if layout == "r3d":
        return sorted(root.glob("*.jpg"))
    return list_images(root / "images")


def survey(source: str | Path) -> Survey:
    """Find every annotated plan of ``source`` and every problem (missing ground truth, duplicates)."""
    root = Path(source)
    layout = detect_layout(root)
    try:
        samples = open_dataset(root)
    except DatasetError:
        samples = []
    by_path = {s.image_path: s for s in samples}
    problems: list[str] = []
    seen_stems: dict[str, Path] = {}
    seen_digests: dict[str, Path] = {}
    kept: list[Sample] = []
    for image in _candidate_images(root, layout):
        if image.stem in seen_stems:
            problems.append(f"{image}: same name as {seen_stems[image.stem].name} (stems must be unique)")
            continue
        seen_stems[image.stem] = image
        if image not in by_path:
            problems.append(f"{image}: no annotation or mask")
            continue
        digest = file_digest(image)
        if digest in seen_digests:
            problems.append(f"{image}: duplicate of {seen_digests[digest]} (identical bytes)")
            continue
        seen_digests[digest] = image
        kept.append(by_path[image])
    return Survey(layout=layout, samples=kept, problems=problems)


def split_counts(total: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Plans per split: rounded fractions, at least one validation and one test plan from 3 plans up."""
    if total < 3:
        raise DatasetError(
            f"need at least 3 annotated plans to make train/validation/test splits, found {total}"
        )
    if any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise DatasetError(f"split fractions must be >= 0 and not all 0, got {fractions}")
    norm = [f / sum(fractions) for f in fractions]
    validation = max(1, round(total * norm[1]))
    test = max(1, round(total * norm[2]))
    while validation + test > total - 1:
        if validation >= test and validation > 1:
            validation -= 1
        else:
            test -= 1
    return total - validation - test, validation, test


def assign_splits(
    samples: list[Sample], fractions: tuple[float, float, float], seed: int, limit: int | None = None
) -> dict[str, list[Sample]]:
    """Shuffle by ``seed`` (optionally keep ``limit`` plans) and cut into the three splits."""
    order = sorted(samples, key=lambda s: s.stem)
    random.Random(seed).shuffle(order)
    if limit is not None:
        order = order[:limit]
    n_train, n_val, _ = split_counts(len(order), fractions)
    parts = {
        "train": order[:n_train],
        "validation": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }
    return {name: sorted(items, key=lambda s: s.stem) for name, items in parts.items()}


def sample_files(sample: Sample, root: Path) -> list[Path]:
    """Every file belonging to ``sample``, as paths relative to the dataset ``root``."""
    paths = [
        sample.image_path,
        sample.mask_path,
        sample.wall_path,
        sample.opening_path,
        sample.annotation_path,
        sample.rooms_path,
    ]
    return [p.relative_to(root) for p in paths if p is not None]


def place(source: Path, target: Path, link: bool) -> None:
    """Copy (or symlink) one file, creating folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if link:
        os.symlink(source.resolve(), target)
    else:
        shutil.copy2(source, target)


def write_splits(root: Path, out: Path, splits: dict[str, list[Sample]], link: bool, progress=None) -> None:
    """Materialise the splits under ``out`` and record them in ``splits.json``."""
    for name, samples in splits.items():
        for sample in samples:
            for relative in sample_files(sample, root):
                place(root / relative, out / name / relative, link)
            if progress is not None:
                progress.update(1)
    record = {name: [s.stem for s in samples] for name, samples in splits.items()}
    (out / SPLITS_FILE).write_text(json.dumps(record, indent=1) + "\n")


def holdout_split(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Deterministic split of ``samples`` into (train, validation); at least one of each when possible.

    The one hold-out of a flat folder: ``floorplan train`` validates on it and
    ``floorplan evaluate --split validation`` scores exactly these plans.
    """
    if fraction <= 0 or len(samples) < 2:
        return samples, []
    order = list(samples)
    random.Random(seed).shuffle(order)
    count = min(len(order) - 1, max(1, round(len(order) * fraction)))
    validation = sorted(order[:count], key=lambda s: s.stem)
    train = sorted(order[count:], key=lambda s: s.stem)
    return train, validation
