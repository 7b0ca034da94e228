"""``memory-banker tokens dashboard``: the usage history as one self-contained HTML page.

Only light modules are imported here (the dashboard module reads the ledger and inlines the
chart library's JavaScript); never agents, litellm, openai or anthropic.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from memory_banker.cli.common import DB_URL, AppContext, emit_json, pass_app
from memory_banker.cli.ledger import INCLUDE_OFFLINE, SOURCES
from token_tracking.errors import DashboardError
from token_tracking.history.dashboard.data import check_days, collect_dashboard_data
from token_tracking.history.dashboard.page import render_dashboard, write_dashboard
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.reports.listing import reports_folder

DASHBOARD_FILE = "dashboard.html"
"""The page's name inside the project's reports folder, where the bank's ``.gitignore`` ignores it
(a page in the project root would show up as an uncommitted change in the next digest)."""


@click.command("dashboard")
@DB_URL
@click.option(
    "--days",
    type=int,
    default=30,
    show_default=True,
    help="The last N local calendar days including today (0 = all history).",
)
@click.option(
    "--all-projects", is_flag=True, help="Every project in the ledger, not just this one."
)
@INCLUDE_OFFLINE
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="The HTML file to write, replaced atomically "
    "[default: memory-bank/token-reports/dashboard.html in the project].",
)
@click.option(
    "--by",
    "by_people",
    type=click.Choice(["user", "machine"]),
    help="Add usage per user or per machine that recorded it (a team ledger).",
)
@click.option("--open", "open_page", is_flag=True, help="Open the page in the web browser.")
@SOURCES
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the dashboard's data as one JSON document instead of writing the page.",
)
@pass_app
def dashboard(
    app: AppContext,
    days: int,
    all_projects: bool,
    include_offline: bool,
    output: Path | None,
    by_people: str | None,
    open_page: bool,
    sources: tuple[str, ...],
    as_json: bool,
) -> None:
    """Write an HTML dashboard of token usage that works offline.

    Summary cards (sessions, tokens, cost, projected monthly cost), daily tokens and cost charts,
    usage by branch, model and agent, limits against their thresholds, and the most expensive
    sessions. The chart library (Vega-Lite) is inlined: the file loads nothing from the network.
    Prints the path of the file written.

    \b
    Examples:
      memory-banker tokens dashboard --open
      memory-banker tokens dashboard --days 90 --all-projects --output team.html
      memory-banker tokens dashboard --all-projects --by user
    """
    # Checked before the ledger is opened (opening creates it).
    check_days(days)
    with Ledger() as ledger:
        data = collect_dashboard_data(
            ledger,
            days=days,
            project=None if all_projects else project_key(app.project_path),
            include_offline=include_offline,
            sources=sources,
            by="user" if by_people == "user" else "machine" if by_people == "machine" else None,
        )
    if as_json:
        emit_json(data)
        return
    if output is None:
        output = reports_folder(app.project_path) / DASHBOARD_FILE
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DashboardError(f"cannot write {output}: {exc.strerror or exc}") from exc
    written = write_dashboard(output, render_dashboard(data))
    click.echo(str(written.resolve()))
    if open_page and not webbrowser.open(written.resolve().as_uri()):
        click.echo(f"Warning: no web browser could open {written}", err=True)
