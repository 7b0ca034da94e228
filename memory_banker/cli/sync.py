"""``memory-banker tokens sync``: send this machine's local ledger to the team's PostgreSQL ledger.

Parses the options, opens both ledgers and runs :func:`token_tracking.history.sync.sync`; prints
what was sent (one JSON document with ``--json``). The local ledger is always the SQLite file
(``TOKEN_TRACKING_DB_PATH`` or the user-data folder), whatever ``TOKEN_TRACKING_DB_URL`` says.
"""

from __future__ import annotations

import click

from memory_banker.cli.common import emit_json, parse_since
from memory_banker.cli.ledger import JSON
from memory_banker.errors import UsageError
from token_tracking import display
from token_tracking.history.database import redacted_url
from token_tracking.history.ledger import Ledger
from token_tracking.history.sync import sync
from token_tracking.settings import DB_URL_VARIABLE, db_url, default_db_path


@click.command("sync")
@click.option(
    "--to",
    "url",
    metavar="URL",
    help="The team's ledger: a postgresql:// URL (default: TOKEN_TRACKING_DB_URL).",
)
@click.option(
    "--since",
    metavar="DAYS|YYYY-MM-DD",
    help="Only sessions that started in the last N local days, or on or after this date.",
)
@JSON
def sync_command(url: str | None, since: str | None, as_json: bool) -> None:
    """Send the local ledger's sessions to a PostgreSQL ledger, each request row once.

    Running it again sends only what is new (a session that grew since is completed); two
    machines or processes syncing at once send nothing twice. What is sent: sessions, agent
    runs and request rows with their project, branch, user, machine and notes.

    \b
    Examples:
      memory-banker tokens sync --to postgresql://ledger@db.internal/usage
      memory-banker tokens sync --since 7 --json
    """
    start = parse_since(since)
    target = db_url({DB_URL_VARIABLE: url}) if url is not None else db_url()
    if target is None:
        raise UsageError(f"give --to postgresql://… or set {DB_URL_VARIABLE}")
    with Ledger(default_db_path()) as local, Ledger(url=target) as team:
        result = sync(local, team, start=start)
    if as_json:
        emit_json({"sent": result.sent, "already_there": result.already_there})
        return
    click.echo(
        f"Sent {display.plural(result.sent, 'request row')} of "
        f"{display.plural(result.sessions, 'session')} to {redacted_url(target)} "
        f"({result.already_there:,} already there)"
    )
