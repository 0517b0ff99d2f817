"""Packaging: pyproject's dependencies cover what model_code imports, and agree with requirements.txt.

`pip install .` must give a working `floorplan`, so every third-party import in the package (at module
level or inside a function) has to be declared in pyproject.toml: in `dependencies`, or in an extra when
the import happens only inside the function that needs it (a plain install must still import every module).
The Docker image installs the pinned requirements.txt and then the package without dependencies; its build
runs `pip check`, so requirements.txt (with what it pulls in) must satisfy pyproject. Here: its exact pins
fall inside pyproject's ranges.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "model_code"

# Import name -> distribution name, where the two differ.
IMPORT_TO_DISTRIBUTION = {
    "PIL": "pillow",
    "cv2": "opencv-python-headless",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "segmentation_models_pytorch": "segmentation-models-pytorch",
    "yaml": "pyyaml",
}
# Distributions the product needs without importing them.
USED_WITHOUT_IMPORT = {
    "gunicorn": "container/serve runs `python -m gunicorn`",
    "onnx": "torch.onnx.export needs it (model_code/model/runtimes.py checks for it by name)",
}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_names(lines: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def third_party_imports() -> dict[str, list[tuple[str, bool]]]:
    """Top-level import name -> [(file:line, at module level?)] for every non-stdlib, non-local import."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        module_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "model_code" or top == "__future__":
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.setdefault(top, []).append((where, id(node) in module_level))
    return found


def test_the_import_walk_sees_the_package():
    imports = third_party_imports()
    # a sanity check on the walk itself: these are imported at module level today
    assert {"numpy", "cv2", "PIL", "shapely"} <= set(imports)
    assert any(top_level for _, top_level in imports["numpy"])


def test_dependencies_cover_every_third_party_import():
    project = pyproject()["project"]
    core = requirement_names(project["dependencies"])
    extras = {
        name: requirement_names(lines) for name, lines in project.get("optional-dependencies", {}).items()
    }
    problems = []
    for module, places in sorted(third_party_imports().items()):
        distribution = canonicalize_name(IMPORT_TO_DISTRIBUTION.get(module, module))
        if distribution in core:
            continue
        in_extras = sorted(name for name, requirements in extras.items() if distribution in requirements)
        if not in_extras:
            problems.append(
                f"`import {module}` ({places[0][0]}) but {distribution} is not in pyproject's dependencies "
                "(add it; if its distribution name differs, map it in IMPORT_TO_DISTRIBUTION)"
            )
            continue
        top_level = [where for where, at_top in places if at_top]
        if top_level:
            problems.append(
                f"{distribution} is only in the extra(s) {in_extras} but imported at module level in "
                f"{top_level}: a plain `pip install .` could not import that module"
            )
    assert not problems, "\n".join(problems)


def test_dependencies_include_what_runs_without_an_import():
    core = requirement_names(pyproject()["project"]["dependencies"])
    missing = {name: why for name, why in USED_WITHOUT_IMPORT.items() if canonicalize_name(name) not in core}
    assert not missing, missing


def test_every_dependency_has_a_lower_bound_and_no_exact_pin():
    for line in pyproject()["project"]["dependencies"]:
        requirement = Requirement(line)
        operators = {spec.operator for spec in requirement.specifier}
        assert ">=" in operators, f"{line}: give a lower bound"
        assert not operators & {"==", "==="}, f"{line}: exact pins belong in requirements.txt"


def test_requirements_txt_pins_are_inside_the_dependency_ranges():
    lines = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    pinned = requirement_names(lines)
    problems = []
    for line in pyproject()["project"]["dependencies"]:
        wanted = Requirement(line)
        name = canonicalize_name(wanted.name)
        if name not in pinned:
            continue  # installed as another requirement's dependency (scipy, werkzeug, botocore)
        exact = [spec.version for spec in pinned[name].specifier if spec.operator == "=="]
        if exact and not wanted.specifier.contains(exact[0], prereleases=True):
            problems.append(f"requirements.txt pins {wanted.name}=={exact[0]}, outside pyproject's {line!r}")
    assert not problems, "\n".join(problems)
    assert {"torch", "torchvision", "albumentations"} <= set(pinned)


def test_importing_the_augmentations_turns_off_the_albumentations_update_check():
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    env["PYTHONPATH"] = str(ROOT)
    code = (
        "import os, model_code.datasets.augment, albumentations.check_version as c\n"
        "print(os.environ.get('NO_ALBUMENTATIONS_UPDATE'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    # an explicit setting wins
    env["NO_ALBUMENTATIONS_UPDATE"] = "0"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.strip() == "0", done.stderr
