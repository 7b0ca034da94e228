"""The ``memory-banker`` command line: global options, the error convention, command registration.

Commands are thin: they parse options, call one library function, render, and return an exit code.
Any package error (``MemoryBankerError``, ``TrackingError``, ``PricingError``) becomes one line on
stderr and exit code 2; ``-v`` adds the traceback.
"""

from __future__ import annotations

import os

# Before anything can import litellm: without this each LiteLLM run waits ~5 s on a remote fetch
# of the price map (DESIGN §9). setdefault, so a user can still opt in to the remote map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import importlib
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from memory_banker.cli.common import AppContext
from memory_banker.errors import MemoryBankerError
from pricing.errors import PricingError
from token_tracking.errors import TrackingError

PACKAGE_ERRORS = (MemoryBankerError, TrackingError, PricingError)


# Commands whose modules are imported only when they run, so that `memory-banker tokens` does
# not pay for the generation and pricing modules (start-up is measured in
# benchmarks/bench_tokens_cli.py). name -> "module:attribute".
LAZY_COMMANDS = {
    "init": "memory_banker.cli.generate:init",
    "update": "memory_banker.cli.generate:update",
    "refresh": "memory_banker.cli.generate:refresh",
    "estimate": "memory_banker.cli.generate:estimate",
    "pricing": "memory_banker.cli.pricing:pricing",
}


class _MemoryBankerGroup(click.Group):
    """A click group that loads commands on demand and turns package errors into one line on
    stderr and exit code 2."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            module_name, attribute = target.split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{target} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *LAZY_COMMANDS})

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PACKAGE_ERRORS as exc:
            app = ctx.find_object(AppContext)
            if app is not None and app.verbose:
                traceback.print_exc()
            message = " ".join(str(exc).split()) or type(exc).__name__
            click.echo(f"Error: {message}", err=True)
            ctx.exit(2)


@click.group(
    "memory-banker",
    cls=_MemoryBankerGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--project-path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The project to work on.",
)
@click.option(
    "--pricing-file",
    # Not dir_okay=False: the pricing package reports an unreadable file in one line, where
    # click's check would print a three-line usage error.
    type=click.Path(path_type=Path),
    envvar="MEMORY_BANKER_PRICING_FILE",
    default=None,
    help="TOML or JSON file of custom model prices (env MEMORY_BANKER_PRICING_FILE).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and debug diagnostics.")
@click.version_option(None, "--version", package_name="memory-banker", prog_name="memory-banker")
@click.pass_context
def cli(ctx: click.Context, project_path: Path, pricing_file: Path | None, verbose: bool) -> None:
    """Generate a memory bank for a code project and know what every agent run cost.

    \b
    Examples:
      memory-banker update --offline          # regenerate ./memory-bank with no API key
      memory-banker --project-path ../app init --model gpt-4o-mini
      memory-banker tokens                    # the latest run's token report
    """
    _configure_logging(verbose)
    ctx.obj = AppContext(
        project_path=project_path.resolve(), pricing_file=pricing_file, verbose=verbose
    )


def _configure_logging(verbose: bool) -> None:
    """Warnings from the packages go to stderr as ``WARNING: …`` lines; ``-v`` adds debug lines."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if verbose:
        for name in ("memory_banker", "token_tracking", "pricing"):
            logging.getLogger(name).setLevel(logging.DEBUG)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(prog_name="memory-banker"))


# Command registration: each module keeps its heavy imports inside its functions.
from memory_banker.cli.tokens import attach_lazily, tokens  # noqa: E402

cli.add_command(tokens)
# Imported when one of their commands (or `tokens check`, which --since extends) runs.
attach_lazily("memory_banker.cli.history")
attach_lazily("memory_banker.cli.dashboard")
