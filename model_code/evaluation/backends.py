"""``--backend`` specifications: ``opencv``, ``unet`` (``unet:default``), ``unet:synthetic``, ``unet:DIR``.

A U-Net specification may end in ``@views=N``: the pipeline's ``views`` option (mirrored views
averaged, 1, 2 or 4), so that one report or benchmark can put the same checkpoint with one and with
four views side by side (``--backend unet:default --backend unet:default@views=4``).  The evaluation
CLI and the benchmark scripts read their ``--backend`` values here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from model_code.model.checkpoint import CheckpointError, is_checkpoint, resolve_model_dir
from model_code.pipeline import OptionsError, Pipeline, PipelineOptions

VIEWS_SUFFIX = re.compile(r"@views=([^@]*)$")


class BackendSpecError(ValueError):
    """A ``--backend`` value is malformed or names a missing checkpoint."""


@dataclass(frozen=True)
class BackendSpec:
    """One column of the report: a pipeline backend and, for the U-Net, its checkpoint."""

    name: str  # column label, unique within a run
    backend: str  # "unet" or "opencv"
    model_dir: str | None = None  # checkpoint directory for "unet" ("default" = bundled model)
    text: str = "off"  # the pipeline's text option: "on" reads the plan's labels (names, types, scale)
    views: int = 1  # the pipeline's views option: mirrored views the U-Net averages

    def options(self) -> PipelineOptions:
        """The pipeline options this backend runs with (defaults apart from the backend, text and views)."""
        return PipelineOptions(backend=self.backend, text=self.text, views=self.views)

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
    suffix = VIEWS_SUFFIX.search(text.strip())
    if suffix is not None:
        spec = parse_backend(text.strip()[: suffix.start()])
        if spec.backend != "unet":
            raise BackendSpecError(f"backend {text!r}: only the U-Net takes views")
        try:
            views = PipelineOptions.from_mapping({"views": suffix.group(1)}).views
        except OptionsError as exc:
            raise BackendSpecError(f"backend {text!r}: {exc}") from exc
        return replace(spec, name=f"{spec.name}@views={views}", views=views)
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
        f"unknown backend {text!r}: use 'opencv', 'unet', 'unet:default', 'unet:synthetic' or 'unet:<dir>' "
        "(a U-Net optionally followed by @views=2 or @views=4)"
    )


def open_backend(text: str) -> tuple[str, Pipeline, PipelineOptions]:
    """A ``--backend`` value ready to run (the benchmark scripts): its label, pipeline and options.

    Raises:
        BackendSpecError: the value is malformed or its checkpoint cannot be loaded.
    """
    spec = parse_backend(text)
    return spec.name, spec.load(), spec.options()


def parse_backends(texts: list[str]) -> list[BackendSpec]:
    """Parse all ``--backend`` values; labels are made unique (``unet:run``, ``unet:run#2``)."""
    if not texts:
        raise BackendSpecError("give at least one --backend (opencv, unet:default or unet:<dir>)")
    specs: list[BackendSpec] = []
    for text in texts:
        spec = parse_backend(text)
        same = (spec.backend, spec.model_dir, spec.views)
        if any((s.backend, s.model_dir, s.views) == same for s in specs):
            raise BackendSpecError(f"backend {text!r} is given twice")
        names = {s.name for s in specs}
        if spec.name in names:
            index = 2
            while f"{spec.name}#{index}" in names:
                index += 1
            spec = replace(spec, name=f"{spec.name}#{index}")
        specs.append(spec)
    return specs
