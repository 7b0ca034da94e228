"""``memory-banker tokens``: read saved reports and the usage history.

Only light modules are imported here: ``tokens`` must never import agents, litellm, openai or
anthropic.
"""

from __future__ import annotations

import click


@click.group(invoke_without_command=True)
@click.pass_context
def tokens(ctx: click.Context) -> None:
    """Show token usage reports and the usage history."""
