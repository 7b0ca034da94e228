"""``memory-banker tokens blocks``: usage in 5-hour blocks, with the active block's burn rate.

Reads :func:`token_tracking.history.blocks.usage_blocks` and renders a table (or one JSON
document); ``--live`` re-reads the ledger every few seconds, in place on a terminal and as plain
lines when piped, until ``--duration`` seconds have passed or Ctrl-C.
"""

from __future__ import annotations

import time
from datetime import datetime

import click
from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from memory_banker.cli.common import DB_URL, emit_json, stdout_console
from memory_banker.cli.ledger import JSON, SOURCES, local_time
from memory_banker.errors import UsageError
from token_tracking import display
from token_tracking.history.blocks import UsageBlock, usage_blocks
from token_tracking.history.ledger import Ledger

REFRESH_SECONDS = 5.0
"""How often ``--live`` re-reads the ledger."""

MAX_DURATION_SECONDS = 7 * 24 * 3600
"""The longest ``--duration`` accepted (a week)."""


def _read(sources: tuple[str, ...]) -> list[UsageBlock]:
    with Ledger() as ledger:
        return usage_blocks(ledger, sources=sources)


def active_line(block: UsageBlock) -> str:
    """The active block in one line: usage so far, burn rate and projection to its end."""
    rate = block.burn_tokens_per_minute if block.burn_tokens_per_minute is not None else 0.0
    money = (
        f", {display.usd(block.burn_usd_per_hour)}/h" if block.burn_usd_per_hour is not None else ""
    )
    return (
        f"Active block {local_time(block.start)} to {local_time(block.end)}: "
        f"{display.tokens(block.total_tokens)} tokens, {display.usd(block.cost_usd)}; "
        f"burning {rate:,.0f} tokens/min{money}; projected "
        f"{display.tokens(block.projected_total_tokens)} tokens, "
        f"{display.usd(block.projected_cost_usd)} by the end"
    )


def _short(moment: datetime) -> str:
    """``12-01 09:00`` (month-day hour:minute) in local time: a block starts on the hour."""
    return moment.astimezone().strftime("%m-%d %H:%M")


def blocks_view(blocks: list[UsageBlock]) -> RenderableType:
    """The blocks table (oldest first) and the active block's line."""
    if not blocks:
        return Text("No usage in the ledger yet.")
    table = Table(title="5-Hour Usage Blocks", box=box.SIMPLE_HEAD)
    for name in ("Start", "End", "Requests", "Tokens", "Cost", "Models"):
        # Only the models wrap at a narrow terminal, whole names per line; nothing is cut.
        table.add_column(
            name,
            justify="right" if name in ("Requests", "Tokens", "Cost") else "left",
            no_wrap=name != "Models",
            overflow="fold",
        )
    for block in blocks:
        table.add_row(
            _short(block.start) + (" *" if block.active else ""),
            _short(block.end),
            display.tokens(block.requests),
            display.tokens(block.total_tokens),
            display.usd(block.cost_usd),
            Text(display.printable(", ".join(block.models)) or "-"),
        )
    active = [block for block in blocks if block.active]
    if not active:
        return table
    return Group(table, Text("* " + active_line(active[0])))


def _live(console: Console, sources: tuple[str, ...], duration: float | None) -> None:
    deadline = time.monotonic() + duration if duration is not None else None
    if not console.is_terminal:
        # Piped: one plain line per refresh, and once only without a duration.
        while True:
            blocks = _read(sources)
            active = [block for block in blocks if block.active]
            click.echo(active_line(active[0]) if active else "No active block.")
            if deadline is None or time.monotonic() + REFRESH_SECONDS > deadline:
                return
            time.sleep(REFRESH_SECONDS)
    with Live(blocks_view(_read(sources)), console=console, auto_refresh=False) as live:
        while deadline is None or time.monotonic() < deadline:
            pause = REFRESH_SECONDS
            if deadline is not None:
                pause = min(pause, max(deadline - time.monotonic(), 0.0))
            time.sleep(pause)
            live.update(blocks_view(_read(sources)), refresh=True)


@click.command("blocks")
@DB_URL
@click.option("--live", is_flag=True, help="Keep refreshing (in place on a terminal).")
@click.option(
    "--duration",
    type=float,
    metavar="SECONDS",
    help="With --live: stop after this many seconds (default: until Ctrl-C on a terminal).",
)
@SOURCES
@JSON
def blocks(live: bool, duration: float | None, sources: tuple[str, ...], as_json: bool) -> None:
    """Show usage in 5-hour blocks, as the Claude plans count it, with the burn rate.

    A block starts at the UTC hour of the first request after the previous block ended and
    lasts 5 hours; a 5-hour gap starts a new one. The active block shows its burn rate
    (tokens/min, $/h) and a projection to its end. Every project counts; offline runs never do.

    \b
    Examples:
      memory-banker tokens blocks
      memory-banker tokens blocks --source claude-code --json
      memory-banker tokens blocks --live --duration 3600
    """
    if duration is not None and not 0 <= duration <= MAX_DURATION_SECONDS:
        raise UsageError(f"--duration must be 0 to {MAX_DURATION_SECONDS:,} seconds")
    if duration is not None and not live:
        raise UsageError("--duration goes with --live")
    if live and as_json:
        raise UsageError("--json prints the blocks once; it does not go with --live")
    if live:
        try:
            _live(stdout_console(), sources, duration)
        except KeyboardInterrupt:
            pass
        return
    found = _read(sources)
    if as_json:
        emit_json(found)
        return
    stdout_console().print(blocks_view(found))
