"""The ``digest`` command: print exactly what a run would send to the provider.

Thin: ``memory_banker.backends.outgoing`` builds the texts and passes them through the same
redactor the runner uses right before sending; this module prints them (stdout), then what was
withheld (stderr), or everything as one JSON document with ``--json``.
"""

from __future__ import annotations

import click

from memory_banker.backends import outgoing
from memory_banker.cli.common import AppContext, emit_json, pass_app
from memory_banker.digest.build import MIN_CONTEXT_TOKENS
from memory_banker.errors import UsageError
from memory_banker.specs import select_agents
from token_tracking.display import plural, tokens


@click.command("digest")
@click.option(
    "--agent",
    "agent_name",
    default=None,
    help="Show only this agent's user message (after the shared system instructions).",
)
@click.option(
    "--agents",
    "agent_names",
    default=None,
    help="Comma-separated agents a run would regenerate (default: all six).",
)
@click.option(
    "--context-tokens",
    type=int,
    default=30000,
    show_default=True,
    help=f"Token budget of the project digest; at least {MIN_CONTEXT_TOKENS}.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_app
def digest(
    app: AppContext,
    agent_name: str | None,
    agent_names: str | None,
    context_tokens: int,
    as_json: bool,
) -> None:
    """Print exactly what a run would send: the shared system instructions and each agent's
    user message (for the existing bank), then what was withheld: files never opened,
    redactions by kind (counts, never values) and the digest's tokens.

    \b
    Examples:
      memory-banker digest                       # everything a full run would send
      memory-banker digest --agent progress      # the system text and progress's message
      memory-banker digest --json                # {"system", "agents", "tokens", ...}
    """
    specs = select_agents(agent_names)
    if agent_name is not None:
        chosen = select_agents(agent_name)
        if len(chosen) != 1 or chosen[0] not in specs:
            raise UsageError(
                f"--agent {agent_name} is not one of the agents this run would regenerate "
                f"({', '.join(spec.name for spec in specs)})"
            )
        specs = chosen
    sent = outgoing(app.project_path, specs, context_tokens=context_tokens)
    if as_json:
        emit_json(
            {
                "system": sent.system,
                "agents": sent.agents,
                "tokens": sent.tokens,
                "withheld_files": sent.withheld_files,
                "redactions": sent.redactions,
            }
        )
        return
    click.echo("===== system instructions (shared by every agent) =====")
    click.echo(sent.system)
    for name, message in sent.agents.items():
        click.echo(f"===== user message: {name} =====")
        click.echo(message)
    withheld = sent.withheld_files
    click.echo(f"Withheld: {plural(len(withheld), 'file')} never opened", err=True)
    for path in withheld:
        click.echo(f"  {path}", err=True)
    total = sum(sent.redactions.values())
    kinds = ", ".join(f"{kind} {count}" for kind, count in sent.redactions.items())
    click.echo(f"Redacted: {plural(total, 'secret')}" + (f" ({kinds})" if kinds else ""), err=True)
    click.echo(f"Digest: {tokens(sent.tokens)} tokens", err=True)
