"""The one-shot GPU training run for a lent device machine (docs/training.md, "On a lent GPU").

Two steps, so that a session lent a GPU spends its minutes training, not preparing:

``prepare`` (here, on the development machine): writes a bundle folder inside the checkout
(default ``.device/``, ignored by git, carried with the device tool's ``carry``):

* ``wheels/``: the packages training needs that the device image lacks (KINDS.md lists what it
  has: torch, torchvision, timm, OpenCV, scikit-image, SciPy are there; segmentation-models-pytorch,
  albumentations, shapely, jsonschema, pydantic and their small dependencies are not), downloaded
  for the device's Python (3.12, x86-64) with ``pip download --no-deps``;
* ``r3d/``: a copy of the R3D training folder (14 MB).

``run`` (there, in the repository root): installs the wheels (``pip install --no-index``), then runs
``floorplan train`` twice with GPU-sized settings, each within its own time budget:

1. **pretrain** on generated plans only (every style, a share of them on drawing sheets), continuing
   the bundled ``synthetic`` checkpoint (``--pretrain-init none``: from scratch): the next ``synthetic``
   checkpoint of the issue "a model for every style", packed as soon as it is written;
2. **finetune** from it on R3D with generated plans and R3D plans redrawn in the generated styles mixed
   in (rehearsal; ``--finetune-redraw``): the next ``default`` one,
   keeping every epoch's model (``--keep-epoch-models``); its last ``--select-last`` epochs and the
   loop's best are then evaluated through the serving pipeline on the R3D hold-out and the best by
   wall IoU, opening F1 and room F1 together is the one packed (``select_epoch.py``; the loop alone
   picks by pixel IoU, and a run can gain pixels while it loses rooms). ``selection.md`` comes back
   with it; should the selection fail, the loop's model is packed instead.

Both decay their learning rate over their own minutes (``--scheduler cosine-budget``), and a stage
whose log stays silent for ``--stall-seconds`` is stopped (a hang costs minutes, not the call). The
second stage's minutes shrink to what ``--call-seconds`` has left after the first (whose cost beyond
its budget is measured), so the whole run ends before the device call's limit.

Everything a session needs comes back under ``--out`` (the device tool's ``$OUT``): each stage's log and
its model folder as one tar split into parts of at most 15 MiB (the tool returns at most 8 files of
16 MiB; ``cat NAME.tar.part* | tar -x`` here puts them back together).

Test it here on the CPU with a tiny budget, after the last change to the code, before spending device
time (``prepare`` also says how to keep the call under the tool's 64 MiB)::

    .venv/bin/python benchmarks/device_train.py prepare
    .venv/bin/python benchmarks/device_train.py run --skip-install --device cpu --pretrain-minutes 0.3 \\
        --finetune-minutes 0.3 --synthetic 8 --finetune-synthetic 2 --synthetic-validation 4 \\
        --batch-size 2 --crop-size 128 --workers 2 --out /tmp/device_out

On the device (one call, about 9 minutes of a 15-minute budget)::

    run(command="PYTHONUNBUFFERED=1 python3 benchmarks/device_train.py run --out $OUT", carry=[".device"],
        timeout_s=600)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / ".device"
R3D = Path("/work/shared/datasets/r3d/train")
PART_BYTES = 15 * 1024 * 1024
CARRY_LIMIT = 63 * 2**20  # the device tool sends at most 64 MiB: tree and carried paths together
UNTRACK_DEFAULT = (
    "git rm -r -q --cached model_code/default_model && echo /model_code/default_model/ >> .git/info/exclude"
)
RETRACK_DEFAULT = (
    "git reset -q model_code/default_model && sed -i '\\#^/model_code/default_model/$#d' .git/info/exclude"
)
# what training imports that the device image lacks, with the versions requirements.txt pins
WHEELS = (
    "segmentation-models-pytorch==0.6.0",
    "albumentations==2.0.8",
    "albucore==0.0.24",
    "simsimd==6.5.16",
    "stringzilla==5.3.2",
    "pydantic==2.14.4",
    "pydantic-core==2.50.5",
    "annotated-types==0.8.0",
    "typing-inspection==0.4.5",
    "shapely==2.2.0",
    "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1",  # ezdxf and pypdfium2 (sheets, PDFs) are not imported by training
    "referencing==0.37.0",
    "rpds-py==2026.9.1",
)
STYLES = "solid,grey,cad,hatched,thin,colour,scan,architectural,brochure,cad_colour"
SHEETS = 0.3  # the share of generated plans drawn on a drawing sheet


def prepare(bundle: Path, r3d: Path, python_version: str) -> None:
    """Download the wheels for the device's Python and copy R3D into ``bundle``."""
    wheels = bundle / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)  # no wheel of an older list stays behind
    wheels.mkdir(parents=True)
    for requirement in WHEELS:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--python-version", python_version, "--implementation", "cp",
            "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
            "--platform", "manylinux2014_x86_64", "--platform", "any",
            "--dest", str(wheels), requirement,
        ]  # fmt: skip
        subprocess.run(command, check=True)
    if r3d.is_dir():
        shutil.copytree(r3d, bundle / "r3d", dirs_exist_ok=True)
    (bundle / "versions.json").write_text(json.dumps(bundled_next_versions()))
    size = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file())
    print(f"bundle {bundle}: {len(list(wheels.glob('*.whl')))} wheels, {size / 2**20:.1f} MiB in all")
    tree = travelling_bytes()
    print(f"the checkout's tree that travels with it: {tree / 2**20:.1f} MiB")
    if size + tree > CARRY_LIMIT:
        raise SystemExit(
            f"device_train: tree + bundle = {(size + tree) / 2**20:.1f} MiB, over the device tool's 64 MiB. "
            "The run needs only the synthetic checkpoint: keep the default one out of the call with "
            f"`{UNTRACK_DEFAULT}` (and undo it after the call with `{RETRACK_DEFAULT}`)"
        )


def travelling_bytes() -> int:
    """Bytes of what the device tool sends besides the carried bundle: tracked files and untracked ones
    git does not ignore (the two bundled checkpoints alone are 52 MB of its 64 MiB)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode()  # fmt: skip
    files = (ROOT / name for name in listed.split("\0") if name)
    return sum(f.stat().st_size for f in files if f.is_file())


def install(bundle: Path) -> None:
    """Install the bundle's wheels into this Python (none is downloaded: the device has no network)."""
    wheels = sorted(str(p) for p in (bundle / "wheels").glob("*.whl"))
    if wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", *wheels],
            check=True,
        )


def run_watched(command: list[str], log_path: Path, stall_s: float) -> int | None:
    """Run ``command`` with its output appended to ``log_path``; stop it when the log has not grown for
    ``stall_s`` seconds. Returns the exit status, or None when it stalled.

    ``floorplan train`` writes a line after every epoch and a ``progress:`` line every minute inside
    one, so a silent log means a hung run (a data loader that never delivers its first batch, say): on
    a lent device minutes are the budget, and a hang must cost minutes, not the whole call.
    """
    with log_path.open("a") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        size, changed = -1, time.monotonic()
        while process.poll() is None:
            time.sleep(0.5)
            now_size = log_path.stat().st_size
            if now_size != size:
                size, changed = now_size, time.monotonic()
            elif time.monotonic() - changed > stall_s:
                os.killpg(process.pid, signal.SIGTERM)  # the trainer saves its state and its workers end
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                return None
    return process.returncode


def train(stage: str, arguments: list[str], out: Path, work: Path, stall_s: float) -> Path:
    """Run ``floorplan train`` (this checkout's code) for one stage; its log goes to ``out``."""
    model = work / stage
    command = [sys.executable, "-m", "model_code", "train", *arguments, "--out", str(model),
               "--checkpoint-dir", str(work / f"{stage}-checkpoints")]  # fmt: skip
    print(f"== {stage}: {' '.join(command)}", flush=True)
    start = time.perf_counter()
    log_path = out / f"{stage}.log"
    log_path.write_text(" ".join(command) + "\n")
    code = run_watched(command, log_path, stall_s)
    status = f"stalled (no log line for {stall_s:.0f} s), stopped" if code is None else f"exit {code}"
    print(f"== {stage}: {status} after {time.perf_counter() - start:.0f} s", flush=True)
    if code != 0:
        print("".join(log_path.read_text().splitlines(keepends=True)[-40:]), flush=True)
        raise SystemExit(f"device_train: stage {stage} failed; see {log_path}")
    return model


def pack(model: Path, out: Path, name: str) -> None:
    """``model`` as ``out/name.tar.partNN`` pieces of at most :data:`PART_BYTES`."""
    archive = out / f"{name}.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(model, arcname=name)
    data = archive.read_bytes()
    archive.unlink()
    for k in range(0, len(data), PART_BYTES):
        (out / f"{name}.tar.part{k // PART_BYTES:02d}").write_bytes(data[k : k + PART_BYTES])


MIN_STAGE_MINUTES = 0.25
PACK_RESERVE_S = 15.0
SELECT_RESERVE_S = 60.0  # evaluating the fine-tuning's last epochs on the R3D hold-out (16 cores)


def next_version(name: str) -> str:
    """The next minor version after the bundled checkpoint ``name``'s (``0.4.0`` -> ``0.5.0``)."""
    # here, where the project is installed; on the device ``prepare``'s versions.json answers instead
    from model_code.model.checkpoint import read_metadata, resolve_model_dir

    major, minor, *_ = read_metadata(resolve_model_dir(name)).version.split(".")
    return f"{major}.{int(minor) + 1}.0"


def next_versions(bundle: Path) -> dict[str, str]:
    """The versions the run writes: ``bundle/versions.json`` from ``prepare`` (the default checkpoint
    stays out of the device call, so its version is read here), else read from the bundled models."""
    path = bundle / "versions.json"
    if path.is_file():
        return json.loads(path.read_text())
    return bundled_next_versions()


def bundled_next_versions() -> dict[str, str]:
    """The next minor version of each bundled checkpoint, by name (``synthetic``, ``default``)."""
    return {name: next_version(name) for name in ("synthetic", "default")}


def fitting_minutes(
    wanted: float, call_s: float, spent_s: float, overhead_s: float, reserve_s: float = PACK_RESERVE_S
) -> float:
    """The fine-tuning budget that still ends the call within ``call_s``: ``wanted`` minutes, or fewer
    when the first stage took longer than planned (``overhead_s``: what a stage costs beyond its
    budget, measured on the first; ``reserve_s``: what comes after it, packing and the selection)."""
    left = call_s - spent_s - overhead_s - reserve_s
    return max(0.0, min(wanted, left / 60))


def selected_epoch(final: Path, work: Path, out: Path, args: argparse.Namespace) -> Path:
    """The fine-tuning's model with the weights of its best epoch through the serving pipeline
    (``select_epoch.py`` on the R3D hold-out); ``final``, the loop's choice, if the selection fails."""
    from select_epoch import select

    report = work / "selection"
    try:
        select(work / "finetune-checkpoints", final, args.bundle / "r3d", "validation", args.select_last,
               min(args.workers, 8), report, work / "finetune-selected")  # fmt: skip
    except Exception as exc:  # never lose the trained model to its selection
        print(f"device_train: epoch selection failed ({exc}); packing the loop's model", flush=True)
        return final
    shutil.copyfile(report / "selection.md", out / "selection.md")
    return work / "finetune-selected"


def run(args: argparse.Namespace) -> None:
    """Install, pretrain on generated plans, fine-tune on R3D, pack both models into ``args.out``.

    Both stages decay their learning rate over their own time budget (``--scheduler cosine-budget``):
    how many epochs fit in the minutes is not known before the device is reached.
    """
    call_start = time.monotonic()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    if not args.skip_install:
        install(args.bundle)
    versions = next_versions(args.bundle)
    common = [
        "--device", args.device, "--batch-size", str(args.batch_size), "--crop-size", str(args.crop_size),
        "--num-workers", str(args.workers), "--room-types", args.room_types,
        "--synthetic-sheets", str(SHEETS), "--synthetic-styles", STYLES, "--early-stopping-patience", "0",
        "--scheduler", "cosine-budget", "--epochs", "1000",
    ]  # fmt: skip
    if args.pretrain_init == "none":  # from scratch: the architecture is the flags'
        start = ["--encoder", args.encoder, "--encoder-depth", str(args.encoder_depth),
                 "--decoder-channels", args.decoder_channels]  # fmt: skip
    else:  # from a checkpoint (the bundled generated-only one by default): its architecture
        start = ["--init-checkpoint", args.pretrain_init]
    pretrain = [
        *common, *start, "--synthetic", str(args.synthetic), "--synthetic-seed", str(args.synthetic_seed),
        "--synthetic-validation", str(args.synthetic_validation),
        "--learning-rate", str(args.pretrain_lr), "--time-budget-minutes", str(args.pretrain_minutes),
        "--model-name", "floorplan-unet-synthetic",
        "--model-version", args.synthetic_version or versions["synthetic"],
    ]  # fmt: skip
    stage_start = time.monotonic()
    synthetic = train("pretrain", pretrain, out, work, args.stall_seconds)
    pack(synthetic, out, "synthetic")  # back even if the second stage fails
    # what a stage costs beyond its budget (start-up, validation, the last epoch's overrun, saving)
    overhead_s = max(30.0, time.monotonic() - stage_start - args.pretrain_minutes * 60)
    reserve_s = PACK_RESERVE_S + (SELECT_RESERVE_S if args.select_last else 0.0)
    finetune_minutes = fitting_minutes(args.finetune_minutes, args.call_seconds,
                                       time.monotonic() - call_start, overhead_s, reserve_s)  # fmt: skip
    if finetune_minutes < min(args.finetune_minutes, MIN_STAGE_MINUTES):  # a shrunk stage too short to train
        print(f"device_train: {finetune_minutes:.2f} min left of the call, no fine-tuning stage", flush=True)
        return
    finetune = [
        *common, "--data", str(args.bundle / "r3d"), "--val-fraction", "0.1", "--seed", "0",
        "--init-checkpoint", str(synthetic), "--synthetic", str(args.finetune_synthetic),
        "--synthetic-seed", str(args.synthetic_seed + 10_000_000), "--repeat", str(args.repeat),
        "--redraw", str(args.finetune_redraw),
        "--learning-rate", str(args.finetune_lr), "--time-budget-minutes", f"{finetune_minutes:.2f}",
        "--model-name", "floorplan-unet",
        "--model-version", args.default_version or versions["default"],
        *(["--keep-epoch-models"] if args.select_last else []),
    ]  # fmt: skip
    default = train("finetune", finetune, out, work, args.stall_seconds)
    if args.select_last:
        default = selected_epoch(default, work, out, args)
    pack(default, out, "default")
    print("device_train: done;", ", ".join(sorted(p.name for p in out.iterdir())))


def main() -> int:
    """``prepare`` here, ``run`` on the device (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="download the wheels and copy R3D into the bundle (here)")
    p.add_argument("--bundle", type=Path, default=BUNDLE)
    p.add_argument("--r3d", type=Path, default=R3D)
    p.add_argument("--python-version", default="3.12", help="the device's Python (KINDS.md: 3.12)")
    r = sub.add_parser("run", help="install, pretrain, fine-tune and pack (on the device)")
    r.add_argument("--bundle", type=Path, default=BUNDLE)
    r.add_argument("--out", type=Path, required=True, help="where logs and packed models go ($OUT)")
    r.add_argument("--work", type=Path, default=Path("/tmp/device_train"), help="checkpoints while training")
    r.add_argument("--device", default="cuda")
    r.add_argument("--pretrain-minutes", type=float, default=4.5)
    r.add_argument("--finetune-minutes", type=float, default=3.5)
    r.add_argument(
        "--pretrain-init", default="synthetic",
        help="checkpoint the generated stage continues (default: the bundled one); none: from scratch",
    )  # fmt: skip
    r.add_argument(
        "--call-seconds", type=float, default=560.0,
        help="the whole run must end within this (the device call's limit less a margin): the fine-tuning "
        "budget shrinks to what the first stage left",
    )  # fmt: skip
    r.add_argument("--synthetic", type=int, default=2500, help="generated plans per pretraining epoch")
    r.add_argument("--synthetic-seed", type=int, default=60_000_000, help="first generated plan's seed")
    r.add_argument("--finetune-synthetic", type=int, default=400, help="generated plans per R3D epoch")
    r.add_argument(
        "--finetune-redraw", type=int, default=400,
        help="R3D training plans redrawn in the generated styles per R3D epoch (docs/synth.md)",
    )  # fmt: skip
    r.add_argument("--repeat", type=int, default=4, help="crops of each R3D plan per epoch")
    r.add_argument("--pretrain-lr", type=float, default=8e-4)
    r.add_argument("--finetune-lr", type=float, default=7e-4)
    r.add_argument(
        "--select-last", type=int, default=5,
        help="fine-tuning epochs (the last N, and the loop's best) compared through the serving pipeline "
        "on the R3D hold-out; the best is packed (0: the loop's choice)",
    )  # fmt: skip
    r.add_argument("--room-types", default="no", help="learn room-type channels: yes or no (the bundled: no)")
    r.add_argument(
        "--synthetic-version", default=None,
        help="version written to the generated-only checkpoint (default: the bundled one's next minor, "
        "as prepare found it)",
    )  # fmt: skip
    r.add_argument(
        "--default-version", default=None,
        help="version written to the R3D checkpoint (default: the bundled default's next minor, as prepare "
        "found it)",
    )  # fmt: skip
    r.add_argument(
        "--stall-seconds", type=float, default=150.0,
        help="stop a stage whose log has not grown for this long (a hang), keeping the call's minutes",
    )  # fmt: skip
    r.add_argument("--batch-size", type=int, default=32)
    r.add_argument("--crop-size", type=int, default=512)
    r.add_argument("--workers", type=int, default=14, help="data-loader processes (the device has 16 cores)")
    r.add_argument("--encoder", default="resnet18", help="with --pretrain-init none")
    r.add_argument("--encoder-depth", type=int, default=5)
    r.add_argument("--decoder-channels", default="128,64,32,16,16", help="the bundled model's (model card)")
    r.add_argument(
        "--synthetic-validation", type=int, default=32, help="generated validation plans (pretrain)"
    )
    r.add_argument(
        "--skip-install", action="store_true", help="the packages are there (a CPU rehearsal here)"
    )
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.bundle, args.r3d, args.python_version)
    else:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
