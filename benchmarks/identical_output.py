"""Are the result documents of two checkouts identical?  (A script for refactors, not a test.)

For every plan image in the given folders, each checkout's server (``serve_local.py``, the
container's gunicorn stack, bundled model) answers three requests: the JSON document with the
U-Net backend, the JSON document with the OpenCV baseline (plans up to ``--opencv-max-side``
pixels: the baseline is slow and memory-hungry on large plans), and the overlay PNG.  Timing fields
are dropped from the documents; everything else must match byte for byte.  Talking to the
server from the outside makes the check independent of the code's internal layout, so a
checkout from before a reshaping and one from after are compared on equal terms.

Each checkout's answers are written under ``--out/<n>/`` (``<plan>.unet.json``,
``<plan>.opencv.json``, ``<plan>.overlay.png``), then compared; the exit code is 1 when any
answer differs.  Example (a generated set of 30 plans and the five example plans)::

    git worktree add /tmp/before <commit before the change>
    .venv/bin/floorplan synth --count 30 --seed 4242 --out /tmp/ident/plans
    .venv/bin/python benchmarks/identical_output.py --checkout /tmp/before --checkout . \\
        --out /tmp/ident/answers /tmp/ident/plans/images ../shared/datasets/examples
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import urllib.request
from pathlib import Path

from local_server import running_server  # benchmarks/ is on sys.path as a script
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MASK_MARKERS = ("_wall", "_close", "_room", "_mask")
VOLATILE_KEYS = ("timing_ms",)


def plan_images(folders: list[Path]) -> list[Path]:
    """The plan images directly inside ``folders`` (masks such as ``*_wall.png`` left out), sorted."""
    found = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and not any(m in path.stem for m in MASK_MARKERS):
                found.append(path)
    if not found:
        raise SystemExit(f"no plan images in {', '.join(map(str, folders))}")
    return found


def image_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` of a PNG or JPEG, read from its header."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def canonical(body: bytes) -> bytes:
    """The JSON document without its volatile (timing) fields, with sorted keys."""
    document = json.loads(body)
    for key in VOLATILE_KEYS:
        document.pop(key, None)
    return json.dumps(document, sort_keys=True, indent=1).encode()


def post(url: str, image: bytes, content_type: str, accept: str, attributes: str) -> bytes:
    """One ``/invocations`` call; returns the body (raises on a non-200 answer)."""
    request = urllib.request.Request(
        f"{url}/invocations",
        data=image,
        headers={
            "Content-Type": content_type,
            "Accept": accept,
            "X-Amzn-SageMaker-Custom-Attributes": attributes,
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return response.read()


def answers(checkout: Path, images: list[Path], out: Path, opencv_max_side: int) -> None:
    """Write the three answers per plan of the server started from ``checkout`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    env = {"PYTHONPATH": str(checkout)}  # the checkout's own package, whatever is installed
    with running_server(workers=1, env=env, root=checkout) as (_, url):
        for path in tqdm(images, desc=f"answers of {checkout}", unit="plan"):
            data = path.read_bytes()
            kind = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
            stem = f"{path.parent.name}__{path.stem}"
            backends = ["unet"]
            if max(image_size(data)) <= opencv_max_side:
                backends.append("opencv")
            for backend in backends:
                body = post(url, data, kind, "application/json", f"backend={backend}")
                (out / f"{stem}.{backend}.json").write_bytes(canonical(body))
            png = post(url, data, kind, "image/png", "render=overlay")
            (out / f"{stem}.overlay.png").write_bytes(png)


def compare(first: Path, second: Path) -> list[str]:
    """Names of the answers that differ between two answer folders (or exist in one only)."""
    names = sorted({p.name for p in first.iterdir()} | {p.name for p in second.iterdir()})
    differ = []
    for name in names:
        a, b = first / name, second / name
        if not (a.is_file() and b.is_file()) or a.read_bytes() != b.read_bytes():
            differ.append(name)
    return differ


def main(argv: list[str] | None = None) -> int:
    """Collect every checkout's answers, compare them with the first's and report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders of plan images")
    parser.add_argument(
        "--checkout",
        action="append",
        type=Path,
        help="a checkout to serve from (repeat; default: this one). The first is the reference.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the answers (one per checkout)")
    parser.add_argument(
        "--opencv-max-side",
        type=int,
        default=1200,
        help="ask for the OpenCV baseline's document only for plans no larger than this (default 1200 px)",
    )
    args = parser.parse_args(argv)
    checkouts = [c.resolve() for c in (args.checkout or [ROOT])]
    images = plan_images(args.folders)
    folders = []
    for index, checkout in enumerate(checkouts):
        folder = args.out / str(index)
        answers(checkout, images, folder, args.opencv_max_side)
        folders.append(folder)
    count = len(list(folders[0].iterdir()))
    print(f"{len(images)} plans, {count} answers per checkout")
    failed = False
    for checkout, folder in zip(checkouts[1:], folders[1:], strict=True):
        differ = compare(folders[0], folder)
        print(f"{checkout} vs {checkouts[0]}: {count - len(differ)} of {count} answers identical")
        for name in differ[:20]:
            print(f"  differs: {name}")
        failed = failed or bool(differ)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
