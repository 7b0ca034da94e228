"""``memory-banker tokens import``: coding agents' usage logs into the ledger.

Parses the options, runs :func:`token_tracking.imports.run.import_logs` under the import lock,
prints the warnings on stderr and what was added on stdout (one JSON document with ``--json``).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from memory_banker.cli.common import (
    DB_URL,
    AppContext,
    emit_json,
    parse_since,
    pass_app,
    pricebook_loader,
)
from memory_banker.cli.ledger import JSON
from memory_banker.errors import UsageError
from token_tracking import display
from token_tracking.history.ledger import Ledger
from token_tracking.imports.model import SOURCES
from token_tracking.imports.run import ImportResult, import_lock, import_logs, ledger_lock_path

CHOICES = (*SOURCES, "all")
"""What ``tokens import`` takes: one agent, or ``all`` (each file's format recognised)."""


def check_source(source: str) -> str:
    """The source, checked: ``UsageError`` naming the choices (and the closest) otherwise."""
    if source in CHOICES:
        return source
    close = difflib.get_close_matches(source, CHOICES, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UsageError(f"unknown source {source!r}: choose one of {', '.join(CHOICES)}{hint}")


def render_import(result: ImportResult, *, dry_run: bool) -> str:
    """One line saying what the import added (or would add)."""
    summary = result.summary
    verb = "Would import" if dry_run else "Imported"
    line = (
        f"{verb} {display.plural(summary.requests, 'request')} from "
        f"{display.plural(summary.files, 'file')}: "
        f"{display.tokens(summary.prompt_tokens)} prompt + "
        f"{display.tokens(summary.completion_tokens)} completion tokens, "
        f"{display.usd(summary.cost_usd)}"
    )
    extras = [f"{display.plural(summary.duplicates, 'duplicate')}"] if summary.duplicates else []
    extras += [f"{count:,} {reason.replace('_', ' ')}" for reason, count in summary.skipped.items()]
    return line + (f" ({'; '.join(extras)} skipped)" if extras else "")


@click.command("import")
@DB_URL
@click.argument("source", metavar="{claude-code|codex|gemini|all}")
@click.option(
    "--path",
    "paths",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Read the logs below DIR instead of the agent's default folders (repeatable).",
)
@click.option("--since", metavar="DAYS|YYYY-MM-DD", help="Only requests from this date on.")
@click.option("--dry-run", is_flag=True, help="Count what would be imported; record nothing.")
@JSON
@pass_app
def import_command(
    app: AppContext,
    source: str,
    paths: tuple[Path, ...],
    since: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Import Claude Code, Codex and Gemini CLI usage logs into the ledger.

    Default folders: Claude Code's projects/ in each folder of CLAUDE_CONFIG_DIR (a comma
    list), else ~/.config/claude/projects and ~/.claude/projects; Codex's sessions/ and
    archived_sessions/ in CODEX_HOME (default ~/.codex); Gemini CLI's ~/.gemini/tmp/*/chats.
    Each file is read from where the last import stopped, so importing again adds only what is
    new. Imported rows count toward the limits and show in sessions, stats, trends, export and
    the dashboard (filter them with --source).

    \b
    Examples:
      memory-banker tokens import all
      memory-banker tokens import claude-code --since 7 --dry-run
      memory-banker tokens import codex --path ~/backup/codex-sessions --json
    """
    chosen = check_source(source)
    start = parse_since(since)
    for path in paths:
        if not path.exists():
            raise UsageError(f"--path {path} does not exist")
    pricebook = pricebook_loader(app)()
    with Ledger() as ledger, import_lock(ledger_lock_path(ledger)):
        result = import_logs(
            ledger, chosen, pricebook, paths=list(paths), since=start, dry_run=dry_run
        )
    for warning in result.warnings:
        click.echo(f"Warning: {display.printable(warning)}", err=True)
    if as_json:
        emit_json(result.summary)
        return
    click.echo(render_import(result, dry_run=dry_run))
