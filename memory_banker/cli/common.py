"""What every command module of the CLI shares: the global options' object, the lazy command
group, option checks and output helpers.

Command modules import only light modules at their top, so that ``memory-banker tokens …`` never
pays for ``agents``, ``litellm``, ``openai`` or ``anthropic``.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console

from memory_banker.errors import UsageError
from pricing import PriceBook, load_pricebook
from token_tracking.history.clock import MAX_DAYS


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


class LazyGroup(click.Group):
    """A click group whose subcommands are named in a table and imported when first needed.

    ``lazy_commands`` maps each command name to ``"module:attribute"``, the click command that
    runs it. A module is imported when its command runs, or when ``--help`` lists the commands
    (click needs their help texts); running one command never imports the others' modules.
    """

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = dict(lazy_commands or {})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy_commands.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            self.add_command(load_command(target), cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})


def load_command(target: str) -> click.Command:
    """Import ``"module:attribute"`` and return that click command; ``TypeError`` if it is not."""
    module_name, attribute = target.split(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


def pricebook_loader(app: AppContext) -> Callable[[], PriceBook]:
    """A loader that reads the price table (and the custom file) once, on first use."""

    @cache
    def load() -> PriceBook:
        return load_pricebook(app.pricing_file)

    return load


def days_in_range(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """Check a ``--days`` / ``--since`` value: 0 (all time) to
    :data:`~token_tracking.history.clock.MAX_DAYS`, else one line naming the option (click's own
    range error prints three)."""
    if value is not None and not 0 <= value <= MAX_DAYS:
        option = param.opts[0] if param.opts else str(param.name)
        raise UsageError(
            f"{option} must be between 0 and {MAX_DAYS:,} days (0 = all time), not {value:,}"
        )
    return value


def window_label(days: int) -> str:
    """A window of ``days`` local days in words: ``the last 7 days``, or ``all time`` for 0."""
    return "all time" if days == 0 else f"the last {days} days"


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
