"""``--backend`` specifications: ``opencv``, ``unet`` (``unet:default``), ``unet:synthetic``, ``unet:DIR``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model_code.model.checkpoint import CheckpointError, is_checkpoint, resolve_model_dir
from model_code.pipeline import Pipeline, PipelineOptions


class BackendSpecError(ValueError):
    """A ``--backend`` value is malformed or names a missing checkpoint."""


@dataclass(frozen=True)
class BackendSpec:
    """One column of the report: a pipeline backend and, for the U-Net, its checkpoint."""

    name: str  # column label, unique within a run
    backend: str  # "unet" or "opencv"
    model_dir: str | None = None  # checkpoint directory for "unet" ("default" = bundled model)
    text: str = "off"  # the pipeline's text option: "on" reads the plan's labels (names, types, scale)

    def options(self) -> PipelineOptions:
        """The pipeline options this backend runs with (defaults apart from the backend and text)."""
        return PipelineOptions(backend=self.backend, text=self.text)

    def load(self) -> Pipeline:
        """Load the pipeline (the U-Net checkpoint once; nothing for opencv)."""
        if self.backend == "opencv":
            return Pipeline(None)
        try:
            return Pipeline.load(self.model_dir)
        except CheckpointError as exc:
            raise BackendSpecError(f"backend {self.name!r}: {exc}") from exc


def parse_backend(text: str) -> BackendSpec:
    """Parse one ``--backend`` value; raises :class:`BackendSpecError` with a clear message."""
    kind, _, argument = text.strip().partition(":")
    kind = kind.lower()
    if kind == "opencv":
        if argument:
            raise BackendSpecError(f"backend 'opencv' takes no argument, got {text!r}")
        return BackendSpec(name="opencv", backend="opencv")
    if kind == "unet":
        argument = argument or "default"
        directory = resolve_model_dir(argument)
        if not is_checkpoint(directory):
            raise BackendSpecError(
                f"backend {text!r}: no model checkpoint (model.safetensors + model.json) in {directory}"
            )
        label = "unet" if argument == "default" else f"unet:{Path(argument).name or argument}"
        return BackendSpec(name=label, backend="unet", model_dir=str(directory))
    raise BackendSpecError(
        f"unknown backend {text!r}: use 'opencv', 'unet', 'unet:default', 'unet:synthetic' or 'unet:<dir>'"
    )


def parse_backends(texts: list[str]) -> list[BackendSpec]:
    """Parse all ``--backend`` values; labels are made unique (``unet:run``, ``unet:run#2``)."""
    if not texts:
        raise BackendSpecError("give at least one --backend (opencv, unet:default or unet:<dir>)")
    specs: list[BackendSpec] = []
    for text in texts:
        spec = parse_backend(text)
        if any(s.backend == spec.backend and s.model_dir == spec.model_dir for s in specs):
            raise BackendSpecError(f"backend {text!r} is given twice")
        names = {s.name for s in specs}
        if spec.name in names:
            index = 2
            while f"{spec.name}#{index}" in names:
                index += 1
            spec = BackendSpec(name=f"{spec.name}#{index}", backend=spec.backend, model_dir=spec.model_dir)
        specs.append(spec)
    return specs
