"""Data-parallel training: the process group of a ``torchrun`` launch, mixed precision, the launch itself.

A worker started by ``torchrun`` (or by :func:`torchrun_command`) has ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in its environment. :func:`setup` joins the
process group (NCCL on CUDA, gloo on CPU) when ``WORLD_SIZE`` > 1; the loop then wraps the network in
``DistributedDataParallel``, shards the training crops with a ``DistributedSampler``, and lets rank 0
alone validate and write checkpoints, the model, plots and the failure file while the other ranks
wait at barriers. Without ``WORLD_SIZE`` (or with 1) every helper here is a no-op.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

MASTER_PORT = 29500
SHUTDOWN_TIMEOUT_S = 110  # torchrun's SIGTERM-to-SIGKILL grace; SageMaker allows 120 s after SIGTERM
NPROC_ENV = "FLOORPLAN_NPROC_PER_HOST"


@dataclass(frozen=True)
class Distributed:
    """This process's place in the job: ``rank`` of ``world_size`` (``local_rank`` on its host)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    backend: str = ""

    @property
    def enabled(self) -> bool:
        """True in a job of several processes (the process group is initialised)."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0: the process that validates and writes files."""
        return self.rank == 0

    @property
    def label(self) -> str:
        """``rank 1/2``."""
        return f"rank {self.rank}/{self.world_size}"

    def barrier(self) -> None:
        """Wait for every rank (no-op alone)."""
        if self.enabled:
            dist.barrier()

    def any(self, *flags: bool) -> list[bool]:
        """Each flag OR-ed over all ranks: every rank gets the same answers."""
        if not self.enabled:
            return list(flags)
        tensor = torch.tensor([float(f) for f in flags], device=self._device())
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return [bool(v) for v in tensor.tolist()]

    def mean(self, value: float) -> float:
        """``value`` averaged over all ranks."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self._device())
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return float(tensor.item()) / self.world_size

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object) on every rank."""
        if not self.enabled:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def _device(self) -> torch.device:
        if self.backend == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")


def from_env() -> Distributed:
    """This process's ranks from torchrun's environment (one process when absent)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return Distributed()
    return Distributed(
        rank=int(os.environ.get("RANK", "0")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        world_size=world,
    )


def choose_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda requested but no CUDA GPU is available")
    return torch.device(name)


def setup(device_name: str) -> tuple[Distributed, torch.device]:
    """Join the process group of a multi-process launch; returns it and this rank's device.

    ``device_name`` is the config's ``auto | cpu | cuda``: on CUDA each rank takes GPU ``LOCAL_RANK``
    and the backend is NCCL, on CPU it is gloo.
    """
    info = from_env()
    device = choose_device(device_name)
    if not info.enabled:
        return info, device
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    return Distributed(info.rank, info.local_rank, info.world_size, backend), device


def teardown(info: Distributed) -> None:
    """Leave the process group (after the last collective)."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


# ----------------------------------------------------------------------------- logging


class RankFormatter(logging.Formatter):
    """``[rank 1/2] message`` in a multi-process job; records logged with ``extra={"bare": True}``
    (rank 0's metric lines, which ``MetricDefinitions`` read with ``^epoch=``) stay unprefixed."""

    def __init__(self, info: Distributed) -> None:
        super().__init__("%(message)s")
        self.prefix = f"[{info.label}] " if info.enabled else ""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if getattr(record, "bare", False) else self.prefix + text


# ----------------------------------------------------------------------------- mixed precision


def amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """The autocast dtype: bf16 on GPUs that have it (Ampere and later), fp16 on older ones (the T4
    of ml.g4dn, with a GradScaler), None (fp32) on CPU or with ``amp`` off.

    ``torch.cuda.is_bf16_supported()`` alone says yes on a T4 (it counts emulation, which is slow),
    hence ``including_emulation=False``.
    """
    if not enabled or device.type != "cuda":
        return None
    native = torch.cuda.is_bf16_supported(including_emulation=False)  # of the current device
    return torch.bfloat16 if native else torch.float16


# ----------------------------------------------------------------------------- launch


def gpu_count() -> int:
    """Visible CUDA GPUs (0 without CUDA)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def processes_per_host() -> int:
    """``$FLOORPLAN_NPROC_PER_HOST``, else one process per GPU, else 1."""
    given = os.environ.get(NPROC_ENV, "").strip()
    if given:
        count = int(given)
        if count < 1:
            raise ValueError(f"{NPROC_ENV} must be a positive integer, got {given!r}")
        return count
    return max(1, gpu_count())


def torchrun_command(
    hosts: tuple[str, ...], current_host: str, nproc: int, module: str, port: int = MASTER_PORT
) -> list[str]:
    """The ``torchrun`` command that starts ``nproc`` workers of ``python -m module`` on this host.

    One host: ``--standalone`` (a local rendezvous on a free port). Several: a static rendezvous at
    the first host (``--master-addr hosts[0]``, ``--node-rank`` = this host's index), as the
    SageMaker ``torch_distributed`` launcher does. Host names are passed on, never resolved here.
    """
    if current_host not in hosts:
        raise ValueError(f"current host {current_host!r} is not among the hosts {list(hosts)}")
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    command = [torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]
    command += [f"--nproc-per-node={nproc}", f"--shutdown-timeout={SHUTDOWN_TIMEOUT_S}"]
    if len(hosts) == 1:
        command.append("--standalone")
    else:
        command += [
            f"--nnodes={len(hosts)}",
            f"--node-rank={hosts.index(current_host)}",
            f"--master-addr={hosts[0]}",
            f"--master-port={port}",
        ]
    return [*command, "-m", module]
