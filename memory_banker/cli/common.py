"""What every command module of the CLI shares: the global options' object, the lazy command
group, option checks and output helpers.

Command modules import only light modules at their top, so that ``memory-banker tokens …`` never
pays for ``agents``, ``litellm``, ``openai`` or ``anthropic``. This module itself imports neither
pydantic, rich nor the price table at its top: ``memory-banker --version`` and ``--help`` load it
and should cost little more than starting Python and click.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache, cached_property
from gettext import gettext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from memory_banker.errors import UsageError
from token_tracking import display
from token_tracking.history.clock import MAX_DAYS, window_start

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console

    from pricing import PriceBook


@dataclass(frozen=True)
class AppContext:
    """The global options given before the command."""

    project_option: Path | None
    """``--project-path`` as given; ``None`` without it."""
    pricing_file: Path | None
    """A custom price file (``--pricing-file`` or ``MEMORY_BANKER_PRICING_FILE``)."""
    verbose: bool
    """``-v``: show tracebacks and debug diagnostics."""

    @cached_property
    def project_path(self) -> Path:
        """The project the command works on (:func:`project_folder`), found on first use."""
        return project_folder(self.project_option)


pass_app = click.make_pass_decorator(AppContext)


def project_folder(given: Path | None, cwd: Path | None = None) -> Path:
    """Return the project folder every command works on, resolved: ``given`` (``--project-path``)
    when there is one; else the git root of the current folder, when the current folder is inside
    a git work tree whose root is not the home folder itself; else the current folder."""
    if given is not None:
        return given.resolve()
    # Imported on first use: the git module loads the report models (pydantic), which --help,
    # --version and the pricing commands never need.
    from token_tracking.git import project_root

    here = (cwd if cwd is not None else Path.cwd()).resolve()
    root = project_root(here)
    if root == here or root == Path.home().resolve():
        return here
    return root


PACKAGE_LOGGERS = ("memory_banker", "token_tracking", "pricing")
"""The loggers ``-v`` turns to debug level."""


def configure_logging(verbose: bool) -> None:
    """Warnings from the packages go to stderr as ``WARNING: …`` lines; ``-v`` adds debug lines."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if verbose:
        for name in PACKAGE_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)


def _set_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Apply a global option given after the command: replace the :class:`AppContext` of every
    context up to the root, so the command and the error handler see it."""
    if value is None or value is False:
        return
    app = ctx.find_object(AppContext)
    if app is None:
        return
    if param.name == "project_path":
        new = replace(app, project_option=value)
    elif param.name == "pricing_file":
        new = replace(app, pricing_file=value)
    else:
        configure_logging(True)
        new = replace(app, verbose=True)
    context: click.Context | None = ctx
    while context is not None:
        if context.obj is app:
            context.obj = new
        context = context.parent


def global_options() -> list[click.Option]:
    """The global options as every subcommand accepts them too, after its name (they are listed
    in its ``--help``); given there, they override the ones given before the command."""
    return [
        click.Option(
            ["--project-path"],
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            expose_value=False,
            is_eager=True,
            callback=_set_global,
            help="Global: the project to work on (default: the git root of the current folder, "
            "else the current folder).",
        ),
        click.Option(
            ["--pricing-file"],
            type=click.Path(path_type=Path),
            expose_value=False,
            is_eager=True,
            callback=_set_global,
            help="Global: TOML or JSON file of custom model prices.",
        ),
        click.Option(
            ["-v", "--verbose"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_set_global,
            help="Global: show tracebacks and debug diagnostics.",
        ),
    ]


def add_global_options(command: click.Command) -> click.Command:
    """Give ``command`` (and, for a plain group, its subcommands) the global options, once."""
    names = {name for param in command.params for name in getattr(param, "opts", ())}
    if "--project-path" not in names:
        command.params.extend(global_options())
    if isinstance(command, click.Group) and not isinstance(command, LazyGroup):
        for sub in command.commands.values():
            add_global_options(sub)
    return command


class LazyGroup(click.Group):
    """A click group whose subcommands are named in a table and imported when first needed.

    ``lazy_commands`` maps each command name to ``"module:attribute"``, the click command that
    runs it. A module is imported when its command runs; running one command never imports the
    others' modules. ``summaries`` maps a command name to the first paragraph of its help, which
    ``--help`` lists without importing the command's module; a command without a summary is
    imported when ``--help`` lists it (click needs its help text).
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, str] | None = None,
        summaries: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = dict(lazy_commands or {})
        self.summaries: dict[str, str] = dict(summaries or {})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy_commands.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            self.add_command(add_global_options(load_command(target)), cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands as click does, reading a command's line from :attr:`summaries`
        when it has one (click cuts the same words from the command's own help)."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            summary = self.summaries.get(name)
            command: click.Command | None
            if summary is not None and name not in self.commands:
                command = click.Command(name, help=summary)  # stands in for the unloaded one
            else:
                command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section(gettext("Commands")):
                formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in rows])


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
        # Imported on first use: a command that never needs a price does not load the table code.
        from pricing import load_pricebook

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
    """A window of ``days`` local days in words: ``the last 7 days``, ``today`` for 1, or
    ``all time`` for 0."""
    if days == 0:
        return "all time"
    return "today" if days == 1 else f"the last {days} days"


def stdout_console() -> Console:
    """A Rich console on stdout: colours only on a terminal, plain text when piped."""
    # Imported on first use: rich is a third of a start-up that prints nothing through it.
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    """A Rich console on stderr, for diagnostics and progress."""
    from rich.console import Console  # on first use, as in stdout_console

    return Console(file=sys.stderr, highlight=False, soft_wrap=False)


def emit_json(data: BaseModel | list[BaseModel] | dict[str, Any] | list[Any]) -> None:
    """Print exactly one JSON document on stdout, using the same model the files hold; numbers
    with a fraction carry 12 significant digits (:func:`token_tracking.display.json_text`)."""
    click.echo(display.json_text(data))


def _use_db_url(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Point this process's ledger at ``--db-url`` (as ``TOKEN_TRACKING_DB_URL`` would)."""
    if value is None:
        return
    # Imported here: only the history commands that are given --db-url pay for the settings module.
    from token_tracking.settings import DB_URL_VARIABLE, db_url

    os.environ[DB_URL_VARIABLE] = db_url({DB_URL_VARIABLE: value}) or ""


DB_URL = click.option(
    "--db-url",
    metavar="URL",
    expose_value=False,
    is_eager=True,
    callback=_use_db_url,
    help="Read and write the PostgreSQL ledger at this postgresql:// URL "
    "(as TOKEN_TRACKING_DB_URL).",
)
"""The ``--db-url`` option of the history commands."""


def parse_since(value: str | None, option: str = "--since") -> datetime | None:
    """``--since DAYS`` (the last N local calendar days) or ``--since YYYY-MM-DD`` (from that
    local date's midnight); ``UsageError`` in one line otherwise."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        days = int(text)
        if not 1 <= days <= MAX_DAYS:
            raise UsageError(f"{option} must be 1 to {MAX_DAYS:,} days, or a date (YYYY-MM-DD)")
        return window_start(days)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} takes a number of days or a date (YYYY-MM-DD), not {value!r}"
        ) from None
    return datetime(day.year, day.month, day.day).astimezone()
