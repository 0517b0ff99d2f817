"""Drive the real Docker image through a container engine: `$CONTAINER_ENGINE` (docker or podman) runs
`$IMAGE`, with `$CONTAINER_RUN_FLAGS` added to every `run` (e.g. the runtime a machine needs).

Without `IMAGE` every container test is skipped, so the default test run needs no engine.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
import requests

IMAGE = os.environ.get("IMAGE", "")
ENGINE = os.environ.get("CONTAINER_ENGINE", "docker")
RUN_FLAGS = shlex.split(os.environ.get("CONTAINER_RUN_FLAGS", ""))
NON_ROOT = "12345"  # a user the image does not know: the image must work for any uid (--user)

needs_image = pytest.mark.skipif(
    not IMAGE,
    reason="IMAGE is not set: build the image, then run e.g. "
    "`IMAGE=floorplan CONTAINER_ENGINE=docker pytest tests/container` "
    "(or `../shared/tools/container-image run -- .venv/bin/pytest tests/container`)",
)


def engine(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run `$CONTAINER_ENGINE ARGS...` and return its result (text); raises on failure when ``check``."""
    done = subprocess.run([ENGINE, *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        command = f"{ENGINE} {shlex.join(args)}"
        raise AssertionError(f"{command} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def run(
    *command: str, options: Sequence[str] = (), timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess:
    """`run --rm` the image with ``options`` (before the image) and ``command`` (after it)."""
    return engine("run", "--rm", *RUN_FLAGS, *options, IMAGE, *command, timeout=timeout, check=check)


class Container:
    """A detached container of the image (e.g. `serve`), removed by :meth:`remove`."""

    def __init__(self, *command: str, options: Sequence[str] = (), port: int | None = None):
        self.name = f"floorplan-test-{uuid.uuid4().hex[:12]}"
        self.port = port
        published = ["--publish", f"127.0.0.1:{port}:8080"] if port else []
        self.started_at = time.monotonic()
        engine("run", "--detach", "--name", self.name, *RUN_FLAGS, *published, *options, IMAGE, *command)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        done = engine("logs", self.name, check=False)
        return done.stdout + done.stderr

    def running(self) -> bool:
        done = engine("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return done.stdout.strip() == "true"

    def exec(self, *command: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return engine("exec", self.name, *command, timeout=timeout, check=check)

    def wait_for_ping(self, timeout_s: float = 180.0) -> float:
        """Poll the published /ping until 200; returns seconds since `run` (fails on exit or timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if requests.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return time.monotonic() - self.started_at
            except requests.RequestException:
                pass
            assert self.running(), f"the container exited before /ping 200:\n{self.logs()}"
            assert time.monotonic() < deadline, f"no /ping 200 within {timeout_s} s:\n{self.logs()}"
            time.sleep(0.25)

    def wait_for_ping_inside(self, timeout_s: float = 180.0) -> float:
        """Poll /ping from inside the container (for `--network none`, where no port is published)."""
        probe = (
            "import sys, time, urllib.request\n"
            f"deadline = time.monotonic() + {timeout_s}\n"
            "while time.monotonic() < deadline:\n"
            "    try:\n"
            "        if urllib.request.urlopen('http://127.0.0.1:8080/ping', timeout=2).status == 200:\n"
            "            sys.exit(0)\n"
            "    except OSError:\n"
            "        pass\n"
            "    time.sleep(0.25)\n"
            "sys.exit(1)\n"
        )
        done = self.exec("python", "-c", probe, timeout=timeout_s + 30, check=False)
        assert done.returncode == 0, f"no /ping 200 inside the container:\n{done.stderr}\n{self.logs()}"
        return time.monotonic() - self.started_at

    def kill(self, signal: str) -> None:
        engine("kill", "--signal", signal, self.name)

    def wait(self, timeout: float = 120) -> int:
        """Wait for the container to exit; returns its exit code."""
        done = engine("wait", self.name, timeout=timeout)
        return int(done.stdout.strip().splitlines()[-1])

    def remove(self) -> None:
        engine("rm", "--force", self.name, check=False)


def processes_mapping(container: Container, library: str) -> list[str]:
    """The command lines of the container's processes that have ``library`` mapped (e.g. libtorch)."""
    script = (
        "import glob, json, os\n"
        "found = []\n"
        "for maps in glob.glob('/proc/[0-9]*/maps'):\n"
        "    try:\n"
        f"        if {library!r} in open(maps).read():\n"
        "            cmd = open(os.path.dirname(maps) + '/cmdline').read().replace(chr(0), ' ')\n"
        "            found.append(cmd.strip())\n"
        "    except OSError:\n"
        "        pass\n"
        "print(json.dumps(found))\n"
    )
    return json.loads(container.exec("python", "-c", script).stdout)


def writable_dir(path: Path) -> Path:
    """Create ``path`` writable by any container user (the image may run as root or as a numeric uid)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path
