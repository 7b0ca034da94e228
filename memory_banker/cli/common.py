"""What every command module of the CLI shares: the global options' object and output helpers.

Command modules (``cli_*.py``) import only light modules at their top, so that
``memory-banker tokens …`` never pays for ``agents``, ``litellm``, ``openai`` or ``anthropic``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console


@dataclass(frozen=True)
class AppContext:
    """The global options given before the command."""

    project_path: Path
    """The project the command works on (``--project-path``, default the current directory)."""
    pricing_file: Path | None
    """A custom price file (``--pricing-file`` or ``MEMORY_BANKER_PRICING_FILE``)."""
    verbose: bool
    """``-v``: show tracebacks and debug diagnostics."""


pass_app = click.make_pass_decorator(AppContext)


def stdout_console() -> Console:
    """A Rich console on stdout: colours only on a terminal, plain text when piped."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    """A Rich console on stderr, for diagnostics and progress."""
    return Console(file=sys.stderr, highlight=False, soft_wrap=False)


def emit_json(data: BaseModel | list[BaseModel] | dict[str, Any] | list[Any]) -> None:
    """Print exactly one JSON document on stdout, using the same model the files hold."""
    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=2)
    elif isinstance(data, list) and all(isinstance(item, BaseModel) for item in data):
        items = [item.model_dump(mode="json") for item in data if isinstance(item, BaseModel)]
        text = json.dumps(items, indent=2)
    else:
        text = json.dumps(data, indent=2, default=str)
    click.echo(text)
