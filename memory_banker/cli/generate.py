"""The generation commands ``init``, ``update`` and ``refresh``, and ``estimate``.

Thin: each command turns its options into ``GenerateOptions``, lets ``plan.prepare`` refuse
what must be refused (exit 2 for bad input and a missing key, exit 1 for ``--max-cost``), then runs
the plan, renders the report to stdout (or prints it as the only JSON document with ``--json``)
and exits 0 only when every agent succeeded. The Agents SDK is imported only once a run launches.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from memory_banker import pipeline, writer
from memory_banker.cli.common import AppContext, emit_json, pass_app, stderr_console
from memory_banker.digest.build import MIN_CONTEXT_TOKENS
from memory_banker.errors import BudgetRefusedError, LimitsRefusedError, UsageError
from memory_banker.estimate import estimate as project_cost
from memory_banker.estimate import latest_real_report, render_estimate
from memory_banker.live import LiveView, live_enabled
from memory_banker.pipeline import GenerationResult
from memory_banker.plan import (
    Command,
    GenerateOptions,
    Plan,
    check_usage_limits,
    plan_summary,
    prepare,
)
from memory_banker.specs import AGENT_NAMES, BANK_DIR, select_agents
from memory_banker.writer import HISTORY_DIRNAME, REPORTS_DIRNAME
from pricing import PriceBook, load_pricebook
from token_tracking.display import plural, printable, tokens, usd
from token_tracking.errors import LedgerError
from token_tracking.history.ledger import Ledger
from token_tracking.history.ratelimit_store import latest_for_model
from token_tracking.ratelimits import shortfalls
from token_tracking.settings import load_settings, tracking_enabled

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_MODEL = "gpt-4o-mini"


class _FiniteFloatRange(click.FloatRange):
    """A ``FloatRange`` that also refuses ``nan`` and ``inf``: NaN passes every range check (each
    comparison is false), so ``--max-cost nan`` would silently be no budget at all."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{number} is not a finite number.", param, ctx)
        return number


def _stdout() -> Console:
    """The console for data on stdout: the terminal's width (``COLUMNS`` when set), or 120 columns
    when piped, so that tables in logs and files are not squeezed to Rich's 80-column default."""
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    return Console(file=sys.stdout, highlight=False, soft_wrap=True, width=width)


# Shared by the generation commands and ``estimate``: both build the same digest.
_CONTEXT_TOKENS = click.option(
    "--context-tokens",
    # A plain int: the digest checks the real minimum and says it in one line.
    type=int,
    default=30000,
    show_default=True,
    help=f"Token budget of the project digest (header, git, file tree, manifests, source "
    f"excerpts) every agent's instructions contain; at least {MIN_CONTEXT_TOKENS}.",
)


def _generation_options(function: F) -> F:
    """Add the options ``init``, ``update`` and ``refresh`` share."""
    decorators = [
        click.option(
            "--model",
            default=DEFAULT_MODEL,
            show_default=True,
            help="Any LiteLLM model string (gpt-4o-mini, anthropic/claude-haiku-4-5, …).",
        ),
        click.option(
            "--api-key",
            default=None,
            help="API key for the model's provider (default: its environment variable).",
        ),
        click.option(
            "--api-base",
            default=None,
            help="Base URL of the server to call (for OpenAI models: an OpenAI-compatible "
            "server, spoken to with Chat Completions unless --api responses).",
        ),
        click.option(
            "--api",
            type=click.Choice(["responses", "chat"]),
            default=None,
            help="API for OpenAI models: responses (the default) or chat (the default when a "
            "base URL is given).",
        ),
        click.option(
            "--timeout",
            type=_FiniteFloatRange(min=0, min_open=True),
            default=300.0,
            show_default=True,
            help="Seconds each agent may run before it fails.",
        ),
        click.option(
            "--agents",
            "agent_names",
            default=None,
            help="Comma-separated agents to regenerate (default: all six).",
        ),
        click.option(
            "--offline",
            is_flag=True,
            help="Write the bank from static analysis: no key, no network, cost $0.",
        ),
        click.option(
            "--max-cost",
            type=_FiniteFloatRange(min=0),
            default=None,
            help="Budget in USD: refuse when the estimate exceeds it, stop launching agents "
            "once it is spent.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(min=1),
            default=4,
            show_default=True,
            help="Agents that may run at the same time.",
        ),
        _CONTEXT_TOKENS,
        click.option("--trace", is_flag=True, help="Leave the Agents SDK's trace export on."),
        click.option(
            "--otel",
            is_flag=True,
            default=None,
            help="Send the run's spans and metrics to the OpenTelemetry collector of "
            "OTEL_EXPORTER_OTLP_ENDPOINT (as TOKEN_TRACKING_OTEL=true).",
        ),
        click.option(
            "--ignore-limits",
            is_flag=True,
            help="Run even when a usage limit set in the environment is exceeded.",
        ),
        click.option(
            "--dry-run",
            is_flag=True,
            help="Print the plan (agents, order, model, backend, digest size, estimate); "
            "call no model, write no file.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON only."),
        click.option("--quiet", is_flag=True, help="No live view or progress on stderr."),
        click.option(
            "--max-retries",
            type=click.IntRange(min=0),
            default=None,
            hidden=True,
            help="Retries of a failed request by the OpenAI client (its default: 2).",
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _agent_names(value: str | None) -> str | None:
    """Return ``--agents`` as given, refusing an empty value: for the library an empty selection
    means all six, but on the command line it is an empty variable, not a request for all."""
    if value is not None and not value.strip():
        raise UsageError(f"--agents is empty; name one or more of: {', '.join(AGENT_NAMES)}")
    return value


def _options(
    app: AppContext, command: Command, force: bool, raw: dict[str, Any]
) -> GenerateOptions:
    return GenerateOptions(
        command=command,
        project=app.project_path,
        model=raw["model"],
        api_key=raw["api_key"],
        api_base=raw["api_base"],
        api=raw["api"],
        timeout=raw["timeout"],
        agents=_agent_names(raw["agent_names"]),
        offline=raw["offline"],
        max_cost=raw["max_cost"],
        concurrency=raw["concurrency"],
        context_tokens=raw["context_tokens"],
        trace=raw["trace"],
        otel=raw["otel"] or None,
        force=force,
        max_retries=raw["max_retries"],
    )


def _render_plan(plan: Plan, console: Console) -> None:
    summary = plan_summary(plan)
    console.print(f"Plan: memory-banker {summary.command} on {summary.project}")
    console.print(f"  Model:   {summary.model}")
    console.print(f"  Backend: {summary.backend}")
    console.print(
        f"  Digest:  {summary.digest_tokens:,} tokens ({plural(summary.digest_files, 'file')})"
    )
    for index, names in enumerate(summary.rounds, start=1):
        console.print(f"  Round {index}: {', '.join(names)}")
    if summary.prompt_tokens is not None:
        console.print(
            f"  Tokens:   {summary.prompt_tokens:,} prompt, "
            f"{summary.output_tokens_low:,}-{summary.output_tokens_high:,} output (projected)"
        )
    if summary.cost_low_usd is None or summary.cost_high_usd is None:
        console.print(f"  Estimate: unknown (no price known for {summary.model})")
    else:
        low, high = usd(summary.cost_low_usd), usd(summary.cost_high_usd)
        console.print(f"  Estimate: {low}-{high} USD")
    console.print("To see exactly what would be sent: memory-banker digest")
    console.print("Dry run: no model was called and no file was written.")


def _run_command(app: AppContext, command: Command, force: bool, raw: dict[str, Any]) -> None:
    options = _options(app, command, force, raw)
    # An invalid limit setting is bad input on every run (exit 2), offline and dry runs included,
    # although only model runs are measured against the limits.
    load_settings()
    err = stderr_console()
    pricebook = load_pricebook(app.pricing_file)
    if raw["dry_run"]:
        plan = prepare(options, pricebook, with_estimate=True, check_key=False)
        # The same warnings a run would print; a limit that would refuse it is one more line.
        try:
            warnings = check_usage_limits(options, ignore_limits=raw["ignore_limits"])
            refusal = None
        except LimitsRefusedError as exc:
            warnings = check_usage_limits(options, ignore_limits=True)
            refusal = str(exc)
        for line in warnings:
            click.echo(f"Warning: usage limit {line}", err=True)
        for line in _provider_limit_warnings(plan, pricebook):
            click.echo(f"Warning: provider rate limit: {line}", err=True)
        if refusal is not None:
            click.echo(f"Warning: a real run would refuse to start: {refusal}", err=True)
        if raw["as_json"]:
            emit_json(plan_summary(plan))
        else:
            _render_plan(plan, _stdout())
        return
    try:
        plan = prepare(options, pricebook)
        writer.check_writable(
            options.project,
            [spec.file for spec in plan.specs],
            history=command == "refresh",
            reports=tracking_enabled(),
        )
        warnings = check_usage_limits(options, ignore_limits=raw["ignore_limits"])
    except (BudgetRefusedError, LimitsRefusedError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    for line in warnings:
        click.echo(f"Warning: usage limit {line}", err=True)
    for line in _provider_limit_warnings(plan, pricebook):
        click.echo(f"Warning: provider rate limit: {line}", err=True)
    writer.remove_stale_temp_files(options.project)
    for recovered in pipeline.recover_orphans(options.project, pricebook):
        click.echo(
            f"Recovered an interrupted run ({recovered.session_id}, "
            f"{tokens(recovered.total_tokens)} tokens) from its orphaned journal into a report.",
            err=True,
        )
    live = live_enabled(err, quiet=raw["quiet"])
    # Interval lines are progress: they go to the live view's terminal, or nowhere, never to
    # stdout, which holds the report.
    intervals = err if live else Console(file=sys.stderr, quiet=True)
    tracker = pipeline.make_tracker(plan, pricebook, interval_console=intervals)
    progress = pipeline.new_progress(plan)
    if live:
        title = f"memory-banker {command} · {plan.report_model}"
        with LiveView(progress, tracker, err, title=title) as view:
            result = pipeline.run(plan, tracker, progress)
            view.show_totals(result.report.total_duration_seconds, result.report.total_cost_usd)
    else:
        result = pipeline.run(plan, tracker, progress)
    _finish(result, as_json=raw["as_json"], quiet=raw["quiet"])


def _provider_limit_warnings(plan: Plan, pricebook: PriceBook) -> list[str]:
    """Lines about the chosen model's last provider-reported remaining requests or tokens that
    are below what this run is estimated to need (nothing when no provider reported any)."""
    if plan.options.offline:
        return []
    try:
        with Ledger() as ledger:
            snapshot = latest_for_model(ledger, plan.report_model)
    except LedgerError:
        return []  # an unusable ledger never blocks a run; the limits check warned already
    if snapshot is None:
        return []
    tokens_needed: int | None = None
    if "tokens" in snapshot.limits:
        found = plan.estimate or project_cost(
            plan.options.project,
            [plan.options.model],
            list(plan.specs),
            plan.options.context_tokens,
            pricebook,
            report=latest_real_report(plan.options.project),
            digest=plan.digest,
        )
        row = found.models[0]
        tokens_needed = row.prompt_tokens + row.output_tokens_expected
    return shortfalls(snapshot, requests=len(plan.specs), tokens=tokens_needed)


def _finish(result: GenerationResult, *, as_json: bool, quiet: bool) -> None:
    if as_json:
        emit_json(result.report)
    else:
        result.report.render(_stdout())
    if result.report_path is not None and not quiet:
        # File and session id: a CI step can gate exactly this run with either of them.
        click.echo(
            f"Report saved to {result.report_path} (session {result.report.session_id})",
            err=True,
        )
    for failure in result.failures:
        click.echo(f"Agent {failure.name} failed: {printable(failure.error or '')}", err=True)
    if result.not_run:
        why = {
            "interrupted": "interrupted",
            "budget_exceeded": "--max-cost budget spent",
        }.get(result.report.status, "not launched")
        if result.write_failures:
            why = "stopped by the write failure"
        click.echo(f"Not run ({why}): {', '.join(result.not_run)}", err=True)
    if result.write_failures:
        kept = (
            "the report above is complete"
            if result.report_error is None
            else "the report above is complete but was not saved: its journal keeps what was "
            "written for `memory-banker tokens reindex`"
        )
        click.echo(
            f"Error: {printable(result.write_failures[0])} (the run stopped launching agents; "
            f"{kept})",
            err=True,
        )
    elif result.exit_code != 0:
        count = len(result.failures)
        click.echo(
            f"memory-banker {result.report.command}: {count} of "
            f"{plural(len(result.outcomes), 'agent')} "
            f"failed, {len(result.not_run)} not run (status {result.report.status}).",
            err=True,
        )
    sys.exit(result.exit_code)


@click.command(
    "init",
    help=f"""Create the memory bank: six files under {BANK_DIR}/, one agent each.

    Exits 2 when any of the six files exists (use update or refresh, or --force); exits 1 when any
    agent failed, naming it and why; a failed agent never writes its file.

    \b
    Examples:
      memory-banker init --model gpt-4o-mini
      memory-banker --project-path ../app init --offline
    """,
)
@click.option(
    "--force",
    is_flag=True,
    help="Run even when bank files exist (a file is still replaced only when its agent succeeds).",
)
@_generation_options
@pass_app
def init(app: AppContext, /, force: bool, **raw: Any) -> None:
    _run_command(app, "init", force, raw)


@click.command("update")
@_generation_options
@pass_app
def update(app: AppContext, /, **raw: Any) -> None:
    """Regenerate the memory bank: create missing files, replace a file only if its agent succeeded.

    \b
    Examples:
      memory-banker update --offline
      memory-banker update --agents activeContext,progress --max-cost 0.05
    """
    _run_command(app, "update", False, raw)


@click.command(
    "refresh",
    help=f"""Copy the current files to {BANK_DIR}/{HISTORY_DIRNAME}/<timestamp>/, then regenerate
    like update.

    Reports under {BANK_DIR}/{REPORTS_DIRNAME}/ are never touched.

    \b
    Examples:
      memory-banker refresh --model anthropic/claude-haiku-4-5
      memory-banker refresh --offline --quiet
    """,
)
@_generation_options
@pass_app
def refresh(app: AppContext, /, **raw: Any) -> None:
    _run_command(app, "refresh", False, raw)


@click.command("estimate")
@click.option(
    "--models",
    default=DEFAULT_MODEL,
    show_default=True,
    help="Comma-separated models to project the cost for.",
)
@click.option(
    "--agents", "agent_names", default=None, help="Comma-separated agents (default: all)."
)
@_CONTEXT_TOKENS
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON only.")
@pass_app
def estimate(
    app: AppContext, models: str, agent_names: str | None, context_tokens: int, as_json: bool
) -> None:
    """Project the cost of a run per model, before spending anything: no API call, no key.

    \b
    Examples:
      memory-banker estimate
      memory-banker estimate --models gpt-4o-mini,gpt-4o,anthropic/claude-haiku-4-5
    """

    names = [name.strip() for name in models.split(",") if name.strip()]
    if not names:
        raise UsageError("--models needs at least one model name")
    result = project_cost(
        app.project_path,
        names,
        list(select_agents(_agent_names(agent_names))),
        context_tokens=context_tokens,
        pricebook=load_pricebook(app.pricing_file),
        report=latest_real_report(app.project_path),
    )
    if as_json:
        emit_json(result)
    else:
        render_estimate(result, _stdout())
