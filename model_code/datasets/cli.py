"""Data-preparation commands: ``floorplan organize``, ``validate``, ``masks`` and ``upload``.

The customers' quick start is organize -> annotate -> validate -> masks -> upload -> train.
Every command prints a clear report and exits non-zero on bad input.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from tqdm import tqdm

from model_code.datasets.layouts import DatasetError, Sample, detect_layout, merge_grey_mask, open_dataset

EXIT_PROBLEMS = 1
EXIT_BAD_INPUT = 2


def _error(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected three numbers like 80,10,10, got {text!r}") from exc
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three numbers (train,validation,test), got {text!r}")
    return values  # type: ignore[return-value]


# ----------------------------------------------------------------------------- organize


def configure_organize(parser: argparse.ArgumentParser) -> None:
    """Declare the ``floorplan organize`` options."""
    parser.description = (
        "Split a folder of annotated plans (images/ + annotations/ or masks/, or flat R3D) into "
        "OUT/train, OUT/validation and OUT/test in the same layout, deterministically by seed. "
        "Images without annotations and duplicate images are refused with a report."
    )
    parser.add_argument("source", type=Path, help="folder of plans in any supported layout")
    parser.add_argument("out", type=Path, help="new folder for the splits (must be empty or absent)")
    parser.add_argument(
        "--split",
        type=_fractions,
        default=(80.0, 10.0, 10.0),
        metavar="T,V,T",
        help="train,validation,test proportions (default 80,10,10)",
    )
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed (default 0)")
    parser.add_argument("--limit", type=int, default=None, help="use only N plans (after shuffling)")
    parser.add_argument(
        "--skip-problems",
        action="store_true",
        help="leave out images without annotations and duplicates instead of refusing",
    )
    parser.add_argument("--link", action="store_true", help="symlink files instead of copying them")


def run_organize(args: argparse.Namespace) -> int:
    """Survey, split and write; exit 1 when problems are found (unless --skip-problems)."""
    from model_code.datasets.organize import assign_splits, survey, write_splits

    if args.out.exists() and any(args.out.iterdir()):
        return _error(f"{args.out} exists and is not empty: choose a new folder")
    try:
        found = survey(args.source)
    except DatasetError as exc:
        return _error(str(exc))
    for problem in found.problems:
        print(f"problem: {problem}", file=sys.stderr)
    if found.problems and not args.skip_problems:
        return _error(
            f"{len(found.problems)} problem(s) in {args.source}; fix them or pass --skip-problems",
            EXIT_PROBLEMS,
        )
    try:
        splits = assign_splits(found.samples, args.split, args.seed, args.limit)
    except DatasetError as exc:
        return _error(str(exc))
    total = sum(len(v) for v in splits.values())
    with tqdm(total=total, desc="organize", unit="plan", disable=None) as bar:
        write_splits(args.source, args.out, splits, args.link, bar)
    counts = ", ".join(f"{name} {len(items)}" for name, items in splits.items())
    skipped = f"; {len(found.problems)} left out" if found.problems else ""
    print(f"{found.layout} layout -> {args.out}: {counts}{skipped}")
    return 0


# ----------------------------------------------------------------------------- validate


def configure_validate(parser: argparse.ArgumentParser) -> None:
    """Declare the ``floorplan validate`` options."""
    parser.description = (
        "Check annotation JSON files against the customers' format and our extensions (JSON Schema), "
        "then coordinates inside the image, zero-length walls/openings and ids. Reports every problem "
        "with its file and exits 1 when there is any."
    )
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        help="JSON files, or folders (their annotations/ sub-folder when present)",
    )
    parser.add_argument("--quiet", action="store_true", help="print problems only, no notes or summary")


def run_validate(args: argparse.Namespace) -> int:
    """Check every file; exit 0 when all are valid, 1 when any has a problem, 2 when none found."""
    from model_code.datasets.checks import annotation_files, check_annotation_file

    files = annotation_files(args.paths)
    if not files:
        return _error(f"no annotation JSON files found in {[str(p) for p in args.paths]}")
    bad = 0
    total = 0
    for path in tqdm(files, desc="validate", unit="file", disable=None):
        problems, notes = check_annotation_file(path)
        for problem in problems:
            print(f"{path}: {problem}")
        if not args.quiet:
            for note in notes:
                print(f"{path}: note: {note}", file=sys.stderr)
        bad += bool(problems)
        total += len(problems)
    if not args.quiet:
        print(f"{len(files)} file(s) checked, {bad} with problems, {total} problem(s)", file=sys.stderr)
    return EXIT_PROBLEMS if bad else 0


# ----------------------------------------------------------------------------- masks


def configure_masks(parser: argparse.ArgumentParser) -> None:
    """Declare the ``floorplan masks`` options."""
    parser.description = (
        "Rasterise annotations into the channel layout's masks (one grey PNG per image: 255 wall, "
        "128 opening, 0 background): walls with their thickness (a default when absent), openings "
        "across them. Without --out, writes DATASET/masks/; with --out, writes OUT/images/ + OUT/masks/ "
        "(any input layout, e.g. R3D, is converted)."
    )
    parser.add_argument("dataset", type=Path, help="images/ + annotations/ folder (or any layout with --out)")
    parser.add_argument("--out", type=Path, default=None, help="write a new channel-layout dataset here")
    parser.add_argument(
        "--default-thickness",
        type=float,
        default=None,
        help="wall thickness in pixels when an annotation has none (default 6)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing mask files")


def _sample_masks(sample: Sample, default_thickness: float | None):
    image = sample.load_image()
    height, width = image.shape[:2]
    if sample.annotation_path is not None:
        from model_code.datasets.rasterize import DEFAULT_WALL_THICKNESS, annotation_masks

        annotation = sample.load_annotation()
        return annotation_masks(annotation, width, height, default_thickness or DEFAULT_WALL_THICKNESS)
    return sample.load_masks(width, height)


def run_masks(args: argparse.Namespace) -> int:
    """Write one grey mask per plan; exit 2 on a bad dataset or annotation."""
    from model_code.io.images import write_png
    from model_code.schema import SchemaError

    try:
        layout = detect_layout(args.dataset)
        samples = open_dataset(args.dataset)
    except DatasetError as exc:
        return _error(str(exc))
    if args.out is None and layout == "r3d":
        return _error("an R3D folder has its own masks: pass --out to convert it to the channel layout")
    out = args.out or args.dataset
    (out / "masks").mkdir(parents=True, exist_ok=True)
    written = skipped = 0
    for sample in tqdm(samples, desc="masks", unit="plan", disable=None):
        target = out / "masks" / f"{sample.stem}.png"
        if target.exists() and not args.overwrite:
            skipped += 1
            continue
        try:
            wall, opening = _sample_masks(sample, args.default_thickness)
        except (SchemaError, ValueError, OSError) as exc:
            return _error(f"{sample.annotation_path or sample.image_path}: {exc}")
        write_png(target, merge_grey_mask(wall, opening))
        if args.out is not None:
            _copy_into(sample, out)
        written += 1
    print(f"{written} mask(s) written to {out / 'masks'}" + (f", {skipped} existing kept" if skipped else ""))
    return 0


def _copy_into(sample: Sample, out: Path) -> None:
    (out / "images").mkdir(exist_ok=True)
    shutil.copy2(sample.image_path, out / "images" / f"{sample.stem}{sample.image_path.suffix}")
    if sample.annotation_path is not None:
        (out / "annotations").mkdir(exist_ok=True)
        shutil.copy2(sample.annotation_path, out / "annotations" / sample.annotation_path.name)


# ----------------------------------------------------------------------------- upload


def configure_upload(parser: argparse.ArgumentParser) -> None:
    """Declare the ``floorplan upload`` options."""
    parser.description = (
        "Upload a prepared dataset folder (e.g. an organize output with train/ validation/ test/) to "
        "s3://bucket/prefix/..., skipping files already there unchanged (SHA-256 in the object metadata)."
    )
    parser.add_argument("dataset", type=Path, help="folder to upload (its relative paths become keys)")
    parser.add_argument("s3_uri", help="destination, s3://bucket/prefix")
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded; no AWS calls")
    parser.add_argument("--profile", default=None, help="AWS profile name (default: the standard chain)")
    parser.add_argument("--region", default=None, help="AWS region (default: the profile's)")


def run_upload(args: argparse.Namespace, client=None) -> int:
    """Upload new or changed files; ``client`` (an S3 client) is injectable for tests."""
    from model_code.datasets.upload import UploadError, is_unchanged, parse_s3_uri, plan_upload, upload_one

    try:
        location = parse_s3_uri(args.s3_uri)
        plans = plan_upload(args.dataset, location)
    except UploadError as exc:
        return _error(str(exc))
    if args.dry_run:
        for item in plans:
            print(f"would upload {item.relative} -> s3://{location.bucket}/{item.key}")
        print(f"dry run: {len(plans)} file(s) under {location.uri()}; nothing sent")
        return 0
    if client is None:
        import boto3

        client = boto3.Session(profile_name=args.profile, region_name=args.region).client("s3")
    uploaded = skipped = 0
    try:
        for item in tqdm(plans, desc="upload", unit="file", disable=None):
            if is_unchanged(client, location.bucket, item):
                skipped += 1
                continue
            upload_one(client, location.bucket, item)
            uploaded += 1
    except Exception as exc:  # botocore raises many types: credentials, network, access denied
        return _error(f"upload to {location.uri()} failed after {uploaded} file(s): {exc}", EXIT_PROBLEMS)
    print(f"{uploaded} file(s) uploaded, {skipped} unchanged skipped -> {location.uri()}")
    return 0
