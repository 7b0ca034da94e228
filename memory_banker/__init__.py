"""memory-banker: generate a project's memory bank with LLM agents and account for every token."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("memory-banker")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
