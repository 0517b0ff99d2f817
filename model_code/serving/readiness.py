"""Readiness shared by the gunicorn workers, so that ``/ping`` 200 means every worker can serve.

The kernel hands each connection to whichever worker accepts it first, so a ``/ping`` answered
by one worker says nothing about its siblings.  The gunicorn master (``container/gunicorn.conf.py``)
therefore creates a run directory before forking and exports it as ``MODEL_SERVER_RUN_DIR``;
each worker keeps one small file there, ``worker-<pid>``, holding ``loading``, ``ready`` or
``failed: <reason>``.  A worker answers ``/ping`` 200 only when at least the configured number of
live workers say ``ready``.  The master deletes a worker's file when it reaps it, and files of
processes that are gone or zombies are ignored, so a killed worker counts as missing until its
replacement has loaded.  Standard library only: the master imports this module.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

RUN_DIR_VARIABLE = "MODEL_SERVER_RUN_DIR"
PREFIX = "worker-"


def create_run_dir() -> Path:
    """A fresh private directory for the workers' files (called once, in the master)."""
    return Path(tempfile.mkdtemp(prefix="floorplan-serve-"))


def remove_run_dir(run_dir: str | Path) -> None:
    """Delete the run directory (the master, on exit)."""
    shutil.rmtree(run_dir, ignore_errors=True)


def worker_file(run_dir: str | Path, pid: int) -> Path:
    """The readiness file of worker ``pid``."""
    return Path(run_dir) / f"{PREFIX}{pid}"


def publish(run_dir: str | Path, pid: int, status: str, reason: str = "") -> None:
    """Write this worker's status atomically (``loading``, ``ready`` or ``failed``)."""
    path = worker_file(run_dir, pid)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{status}: {reason}" if reason else status)
    os.replace(tmp, path)


def forget(run_dir: str | Path, pid: int) -> None:
    """Delete the file of a worker that exited (the master, when it reaps the worker)."""
    worker_file(run_dir, pid).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """True for a running process (not a zombie waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def workers(run_dir: str | Path) -> dict[int, str]:
    """``{pid: status line}`` of the live workers that have published a status."""
    out: dict[int, str] = {}
    try:
        entries = list(os.scandir(run_dir))
    except OSError:
        return out
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        try:
            pid = int(entry.name[len(PREFIX) :])
            status = Path(entry.path).read_text()
        except (ValueError, OSError):
            continue
        if _alive(pid):
            out[pid] = status
    return out


def all_ready(run_dir: str | Path, expected: int) -> tuple[bool, str, str]:
    """``(ready, status, reason)``: ready when every live worker is and at least ``expected`` are."""
    live = workers(run_dir)
    ready = [pid for pid, status in live.items() if status == "ready"]
    failed = {pid: status for pid, status in live.items() if status.startswith("failed")}
    if failed:
        pid, status = sorted(failed.items())[0]
        return False, "failed", f"worker {pid} {status}"
    if len(ready) >= expected and len(ready) == len(live):
        return True, "ready", ""
    return False, "loading", f"{len(ready)} of {expected} workers ready"
