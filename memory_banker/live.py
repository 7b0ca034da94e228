"""The live view of a run: a Rich table on stderr, one row per agent in launch order (round by
round), plus the burn rate.

Shown only when stderr is a terminal and ``--quiet`` is not given; stdout is never touched, so
``--json`` output and piped reports stay clean. The table is rebuilt from the run's progress and the
tracker's live figures on every refresh; the interval lines the tracker prints go to the same
console and appear above the table.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from memory_banker.pipeline import AgentOutcome, RunProgress
from token_tracking import TokenTracker, display
from token_tracking.records import AgentUsage

_STATE_STYLES = {
    "waiting": "dim",
    "running": "cyan",
    "done": "green",
    "failed": "red",
    "not run": "yellow",
}


def live_enabled(console: Console, *, quiet: bool) -> bool:
    """Return True when the live view should show: ``console`` is a terminal and not ``quiet``."""
    return console.is_terminal and not quiet


def render_progress(
    outcomes: Sequence[AgentOutcome],
    usage: Sequence[AgentUsage],
    *,
    elapsed: float,
    spent: float | None,
    title: str,
    now: float | None = None,
) -> RenderableType:
    """Return the live table for ``outcomes`` with the tracker's ``usage`` figures.

    ``elapsed`` is the run's wall time in seconds, ``spent`` its cost so far (``None`` when
    unknown); the burn rate is ``spent`` per hour of ``elapsed``.
    """
    by_name = {agent.agent_name: agent for agent in usage}
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("Agent")
    table.add_column("Round", justify="right")
    table.add_column("State")
    table.add_column("Tokens", justify="right")
    table.add_column("Cost", justify="right")
    table.add_column("Elapsed", justify="right")
    for outcome in outcomes:
        agent = by_name.get(outcome.name)
        tokens = agent.total_tokens if agent is not None else None
        cost = agent.cost_usd if agent is not None else None
        seconds = outcome.elapsed(now)
        table.add_row(
            outcome.name,
            "-" if outcome.round is None else str(outcome.round),
            Text(outcome.state, style=_STATE_STYLES[outcome.state]),
            display.tokens(tokens, unknown="-"),
            "-" if agent is None else display.usd(cost),
            display.seconds(seconds),
        )
    if spent is None:
        burn = "unknown"
    elif elapsed <= 0:
        burn = "$0.00/hour"
    else:
        burn = f"${spent * 3600 / elapsed:.2f}/hour"
    footer = Text(f"Spent {display.usd(spent)} in {display.seconds(elapsed)} · burn rate {burn}")
    return Group(table, footer)


class LiveView:
    """A context manager that shows the run's live table on ``console`` while it runs."""

    def __init__(
        self, progress: RunProgress, tracker: TokenTracker, console: Console, *, title: str
    ) -> None:
        self._progress = progress
        self._tracker = tracker
        self._title = title
        # Set once the report exists: the last frame then shows its totals.
        self._final: tuple[float, float | None] | None = None
        self._live = Live(
            console=console,
            refresh_per_second=4,
            transient=False,
            # stdout belongs to the report (and to --json): never redirect it into the view.
            redirect_stdout=False,
            redirect_stderr=False,
            get_renderable=self._renderable,
        )
        self._stopped = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="live-intervals", daemon=True)

    def show_totals(self, duration_seconds: float, cost_usd: float | None) -> None:
        """Make the last frame show the report's own totals (its ``total_duration_seconds`` and
        ``total_cost_usd``), so that the view and the report printed under it agree."""
        self._final = (duration_seconds, cost_usd)

    def _renderable(self) -> RenderableType:
        now = time.monotonic()
        if self._final is not None:
            elapsed, spent = self._final
        else:
            elapsed, spent = now - self._progress.started, self._tracker.spent_cost()
        return render_progress(
            list(self._progress.outcomes.values()),
            self._tracker.agent_snapshot(),
            elapsed=elapsed,
            spent=spent,
            title=self._title,
            now=now,
        )

    def _tick(self) -> None:
        # The tracker announces an interval when a request lands in the next one; a quiet
        # stretch (a slow agent) would hide it, so the view asks every second.
        while not self._stopped.wait(1.0):
            self._tracker.check_intervals()

    def __enter__(self) -> LiveView:
        self._live.start(refresh=True)
        self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._ticker.join()
        self._live.refresh()
        self._live.stop()
