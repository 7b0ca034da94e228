"""``memory-banker tokens hook install|uninstall|status``: the git post-commit hook that imports
coding-agent usage and attributes it to each commit (``run`` is what the hook itself calls)."""

from __future__ import annotations

import click

from memory_banker.cli.common import AppContext, LazyGroup, emit_json, pass_app, pricebook_loader
from memory_banker.cli.ledger import JSON
from token_tracking import display
from token_tracking.imports.hook import (
    HookStatus,
    hook_status,
    install_hook,
    run_hook,
    uninstall_hook,
)


def _render(status: HookStatus, verb: str | None = None) -> None:
    state = "installed" if status.installed else "not installed"
    click.echo(f"{verb or 'The post-commit hook is'} {state}: {status.hook_path}")
    if status.chained is not None:
        click.echo(f"It runs the hook that was there before first: {status.chained}")
    click.echo(f"Log: {status.log_path}")
    for line in status.log_tail:
        click.echo(f"  {display.printable(line)}")


@click.group("hook", cls=LazyGroup)
def hook() -> None:
    """Attribute coding-agent usage to git commits with a post-commit hook.

    After each commit the hook imports new Claude Code, Codex and Gemini CLI usage (as
    `tokens import all`) and gives the commit the usage of this project made since the
    previous commit. See it with `tokens trends --by commit` and `tokens sessions --commit SHA`.
    The hook never fails or slows a commit; problems go to .git/memory-banker-hook.log.

    \b
    Examples:
      memory-banker tokens hook install
      memory-banker tokens hook status
      memory-banker tokens trends --by commit
    """


@hook.command("install")
@JSON
@pass_app
def install(app: AppContext, as_json: bool) -> None:
    """Install the post-commit hook in this repository (core.hooksPath honoured; an existing
    hook is kept and run first). Installing again changes nothing.

    \b
    Example:
      memory-banker tokens hook install
    """
    status = install_hook(app.project_path)
    if as_json:
        emit_json(status)
    else:
        _render(status, "The post-commit hook is")


@hook.command("uninstall")
@JSON
@pass_app
def uninstall(app: AppContext, as_json: bool) -> None:
    """Remove the post-commit hook (putting back the hook it ran first, if any).

    \b
    Example:
      memory-banker tokens hook uninstall
    """
    status = uninstall_hook(app.project_path)
    if as_json:
        emit_json(status)
    else:
        _render(status)


@hook.command("status")
@JSON
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Say whether the hook is installed, where, and show the end of its log.

    \b
    Example:
      memory-banker tokens hook status --json
    """
    found = hook_status(app.project_path)
    if as_json:
        emit_json(found)
    else:
        _render(found)


@hook.command("run", hidden=True)
@click.option("--commit", default="HEAD", metavar="SHA", help="The commit to attribute to.")
@click.option("--background", is_flag=True, help="Wait for the import lock; never hand off.")
@pass_app
def run(app: AppContext, commit: str, background: bool) -> None:
    """What the hook runs: import, then attribute to the commit. Always exits 0."""
    run_hook(app.project_path, pricebook_loader(app), commit=commit, background=background)
