"""The image as a command line: `floorplan` on PATH, the environment, in-process detection with no network."""

from __future__ import annotations

import json

import pytest

from tests.container.engine import NON_ROOT, needs_image, run

pytestmark = [pytest.mark.slow, needs_image]


def test_floorplan_help_runs_as_a_command():
    done = run("floorplan", "--help", options=["--network", "none"])
    assert "detect" in done.stdout and "synth" in done.stdout, done.stdout


def test_the_package_is_installed_with_its_environment():
    code = (
        "import json, os, shutil, model_code\n"
        "from model_code import Pipeline\n"
        "print(json.dumps({'floorplan': shutil.which('floorplan'), 'package': model_code.__file__,\n"
        "    'env': {k: os.environ.get(k) for k in ('NO_ALBUMENTATIONS_UPDATE', 'FLOORPLAN_CACHE_DIR')}}))"
    )
    found = json.loads(run("python", "-c", code, options=["--network", "none"]).stdout)
    assert found["floorplan"] == "/usr/local/bin/floorplan"
    # installed from the wheel (site-packages; dist-packages with Debian's own Python), not a source folder
    assert "-packages/model_code/" in found["package"], found["package"]
    assert found["env"] == {"NO_ALBUMENTATIONS_UPDATE": "1", "FLOORPLAN_CACHE_DIR": "/opt/floorplan-cache"}


@pytest.mark.parametrize("user", ["root", NON_ROOT])
def test_detect_runs_in_process_without_a_network_and_without_torch(user):
    """`floorplan synth` + `floorplan detect` with `--network none`; the bundled model's ONNX export comes
    from the image's cache (readable by any user), so torch is never imported."""
    script = (
        "set -e; cd /tmp; floorplan synth --count 1 --seed 3 --size 512 --out plans >/dev/null; "
        "floorplan detect plans/images/*.png --out result.json; "
        "python -c 'import sys; from model_code import Pipeline; "
        'Pipeline.load().analyze_file(sys.argv[1]); print("torch imported:", "torch" in sys.modules)\' '
        "plans/images/*.png; cat result.json"
    )
    options = ["--network", "none"] + (["--user", NON_ROOT] if user != "root" else [])
    done = run("bash", "-c", script, options=options)
    lines = done.stdout.splitlines()
    assert "torch imported: False" in lines, done.stdout + done.stderr
    document = json.loads("\n".join(lines[lines.index("torch imported: False") + 1 :]))
    assert document["schema_version"] == "1.0"
    assert document["walls"] and document["rooms"], document
    assert "cannot cache" not in done.stderr
