"""The ``memory-banker`` command line: global options, the error convention, and the table of
commands (:data:`COMMANDS`; the ``tokens`` subcommands are in ``memory_banker.cli.tokens``).

Commands are thin: they parse options, call one library function, render, and return an exit code.
Any package error (``MemoryBankerError``, ``TrackingError``, ``PricingError``) becomes one line on
stderr and exit code 2; ``-v`` adds the traceback.
"""

from __future__ import annotations

import os

# Before anything can import litellm: without this each LiteLLM run waits ~5 s on a remote fetch
# of the price map. setdefault, so a user can still opt in to the remote map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import logging
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from memory_banker.cli.common import AppContext, LazyGroup
from memory_banker.errors import MemoryBankerError
from pricing.errors import PricingError
from token_tracking.errors import TrackingError

PACKAGE_ERRORS = (MemoryBankerError, TrackingError, PricingError)


COMMANDS = {
    "init": "memory_banker.cli.generate:init",
    "update": "memory_banker.cli.generate:update",
    "refresh": "memory_banker.cli.generate:refresh",
    "estimate": "memory_banker.cli.generate:estimate",
    "tokens": "memory_banker.cli.tokens:tokens",
    "pricing": "memory_banker.cli.pricing:pricing",
}
"""Every top-level command: its name -> ``"module:attribute"`` of the click command.

A command's module is imported only when it runs (or ``--help`` lists it), so that
``memory-banker tokens`` does not pay for the generation and pricing modules (start-up is measured
in benchmarks/bench_tokens_cli.py)."""


class _MemoryBankerGroup(LazyGroup):
    """The root group: loads commands from :data:`COMMANDS` and turns package errors into one line
    on stderr and exit code 2."""

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
    lazy_commands=COMMANDS,
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
