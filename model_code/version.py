"""The package version, reported in result documents and model metadata."""

__version__ = "0.1.0"
