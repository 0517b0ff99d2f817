"""Admission and deadlines for ``/invocations`` inside one gunicorn worker.

* :class:`Admission` counts the inference requests a worker has taken on (reading their body,
  decoding, waiting for the model or running on it) and refuses more than its limit, so that
  waiting inferences never occupy every request thread: ``/ping`` always finds a free one.
* :class:`InferenceRunner` runs the analyses one at a time on a dedicated thread.  A request
  waits for its own analysis until its deadline; past it the request is answered at once and
  the analysis is told to stop at the next stage boundary (a stage already running, e.g. the
  ONNX forward pass, cannot be interrupted and finishes first).  Until that abandoned analysis
  has stopped, :meth:`InferenceRunner.busy_reason` says so and the app refuses new inferences.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any


class InferenceTimeout(Exception):
    """The request's deadline passed before its analysis finished."""


class Cancelled(Exception):
    """Raised between pipeline stages once the request of an analysis has given up."""


class Admission:
    """A counter with a limit: :meth:`try_enter` takes a slot if one is free, :meth:`leave` frees it."""

    def __init__(self, limit: int):
        self.limit = limit
        self._lock = threading.Lock()
        self._count = 0

    def try_enter(self) -> bool:
        """Take a slot; False (and nothing taken) when all ``limit`` slots are in use."""
        with self._lock:
            if self._count >= self.limit:
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        """Give a slot back."""
        with self._lock:
            self._count = max(0, self._count - 1)

    @property
    def count(self) -> int:
        """Slots in use."""
        with self._lock:
            return self._count


class InferenceJob:
    """One analysis for the runner; ``on_done`` runs exactly once, when the job no longer uses the model."""

    def __init__(self, fn: Callable[[Callable[[], None]], Any], on_done: Callable[[], None]):
        self.fn = fn
        self.on_done = on_done
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self.started = False
        self.released = False
        self.result: Any = None
        self.error: BaseException | None = None

    def check(self) -> None:
        """Called between pipeline stages: raise :class:`Cancelled` once the request gave up."""
        if self.cancelled.is_set():
            raise Cancelled()


class InferenceRunner:
    """One daemon thread that runs :class:`InferenceJob` s in order (inference is serialised per worker)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[InferenceJob] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._abandoned: InferenceJob | None = None
        self._abandoned_at = 0.0

    def submit(self, fn: Callable[[Callable[[], None]], Any], on_done: Callable[[], None]) -> InferenceJob:
        """Queue ``fn(check)``; ``on_done`` runs once the job finished, failed or was dropped unstarted."""
        job = InferenceJob(fn, on_done)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="inference", daemon=True)
                self._thread.start()
        self._jobs.put(job)
        return job

    def wait(self, job: InferenceJob, deadline: float) -> Any:
        """The job's result, or its exception; :class:`InferenceTimeout` at ``deadline`` (monotonic)."""
        if not job.done.wait(max(0.0, deadline - time.monotonic())):
            with self._lock:
                if not job.done.is_set():
                    job.cancelled.set()
                    if job.started:
                        self._abandoned, self._abandoned_at = job, time.monotonic()
                    else:
                        self._release(job)  # never started: its slot is free now, the loop skips it
                    raise InferenceTimeout()
        if job.error is not None:
            raise job.error
        return job.result

    def busy_reason(self) -> str | None:
        """Why no inference should be admitted now (an abandoned analysis still runs), or None."""
        with self._lock:
            if self._abandoned is None:
                return None
            seconds = time.monotonic() - self._abandoned_at
            return f"still finishing an analysis whose request timed out {seconds:.0f} s ago"

    def _release(self, job: InferenceJob) -> None:
        """Run ``job.on_done`` once (call with ``self._lock`` held)."""
        if not job.released:
            job.released = True
            job.on_done()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            with self._lock:
                if job.cancelled.is_set():
                    self._release(job)
                    job.done.set()
                    continue
                job.started = True
            try:
                job.result = job.fn(job.check)
            except BaseException as exc:  # handed to the waiting request (or dropped if it gave up)
                job.error = exc
            with self._lock:
                if self._abandoned is job:
                    self._abandoned = None
                self._release(job)
                job.done.set()
