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

import gc
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from memory_banker.cli.common import AppContext, LazyGroup, configure_logging
from memory_banker.errors import MemoryBankerError
from token_tracking.errors import TrackingError


def package_errors() -> tuple[type[Exception], ...]:
    """The exceptions printed as one line with exit code 2: every package's root error.

    ``PricingError`` is included once its module is loaded: importing the pricing package costs
    start-up time, and no command can raise one without loading it first.
    """
    pricing_errors = sys.modules.get("pricing.errors")
    if pricing_errors is None:
        return (MemoryBankerError, TrackingError)
    return (MemoryBankerError, TrackingError, pricing_errors.PricingError)


COMMANDS = {
    "init": "memory_banker.cli.generate:init",
    "update": "memory_banker.cli.generate:update",
    "refresh": "memory_banker.cli.generate:refresh",
    "estimate": "memory_banker.cli.generate:estimate",
    "tokens": "memory_banker.cli.tokens:tokens",
    "pricing": "memory_banker.cli.pricing:pricing",
    "digest": "memory_banker.cli.digest:digest",
}
"""Every top-level command: its name -> ``"module:attribute"`` of the click command.

A command's module is imported only when it runs, so that ``memory-banker tokens`` does not pay
for the generation and pricing modules (start-up is measured by benchmarks/run_all.py)."""

SUMMARIES = {
    "init": "Create the memory bank: six files under memory-bank/, one agent each.",
    "update": "Regenerate the memory bank: create missing files, replace a file only if its agent "
    "succeeded.",
    "refresh": "Copy the current files to memory-bank/.history/<timestamp>/, then regenerate like "
    "update.",
    "estimate": "Project the cost of a run per model, before spending anything: no API call, no "
    "key.",
    "tokens": "Show the latest token usage report, one report file, or the list of reports.",
    "pricing": "Model prices from LiteLLM's bundled table (plus your custom prices).",
    "digest": "Print exactly what a run would send: the shared system instructions and each "
    "agent's user message (for the existing bank), then what was withheld: files never opened, "
    "redactions by kind (counts, never values) and the digest's tokens.",
}
"""The first paragraph of each command's help, which ``memory-banker --help`` lists without
importing the command modules: a command added to :data:`COMMANDS` gets its line here too (a test
checks each against the command's own help). A command missing here is still listed, at the cost
of importing its module."""


class _MemoryBankerGroup(LazyGroup):
    """The root group: loads commands from :data:`COMMANDS` and turns package errors into one line
    on stderr and exit code 2."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        finally:
            _resume_collector()  # the command's modules are imported now

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except package_errors() as exc:
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
    summaries=SUMMARIES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--project-path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The project to work on (default: the git root of the current folder, else the current "
    "folder). Global options go before or after the command.",
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
def cli(
    ctx: click.Context, project_path: Path | None, pricing_file: Path | None, verbose: bool
) -> None:
    """Generate a memory bank for a code project and know what every agent run cost.

    \b
    Examples:
      memory-banker update --offline          # regenerate ./memory-bank with no API key
      memory-banker --project-path ../app init --model gpt-4o-mini
      memory-banker tokens                    # the latest run's token report
    """
    configure_logging(verbose)
    ctx.obj = AppContext(project_option=project_path, pricing_file=pricing_file, verbose=verbose)


_COLLECTOR_PAUSED: list[bool] = []
"""Holds True while :func:`main` keeps the cycle collector paused."""


def main() -> None:
    """Console-script entry point.

    Python's cycle collector is paused until the command's modules are imported: importing
    them makes a few hundred thousand objects that live as long as the process, and with the
    collector on, the collections they set off walk all of them again and again (about a tenth
    of a cold offline run). The objects made by then are frozen, so that later collections
    never scan them, and collection resumes for the command itself.
    """
    gc.disable()
    _COLLECTOR_PAUSED.append(True)
    try:
        sys.exit(cli.main(prog_name="memory-banker"))
    finally:
        _resume_collector()


def _resume_collector() -> None:
    """Freeze what start-up made and turn the collector back on, once, if :func:`main` paused
    it."""
    if _COLLECTOR_PAUSED:
        _COLLECTOR_PAUSED.clear()
        gc.freeze()
        gc.enable()
