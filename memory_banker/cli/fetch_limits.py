"""``memory-banker tokens fetch-limits``: ask a provider for its rate limits.

One minimal request (one short message, an output limit of 1 token) goes to the model's provider:
OpenAI models through the OpenAI SDK's Chat Completions, Anthropic models through the Anthropic
SDK, every other LiteLLM model through LiteLLM. The rate-limit headers of the answer are read
(:mod:`token_tracking.ratelimits`), stored as a snapshot in the ledger, and printed beside the
configured usage limits with the values to set. The request itself is recorded in the ledger with
source ``fetch-limits`` (no report file is written, so it never becomes the report a CI gate
checks).

A 429 that carries rate-limit headers is read like any answer (with its ``retry-after``); a
missing key, a server that cannot be reached, or an error status without rate-limit headers is
one line on stderr and exit 2.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

from memory_banker.cli.common import AppContext, emit_json, pass_app, stdout_console
from memory_banker.errors import MemoryBankerError, MissingApiKeyError, UsageError
from memory_banker.keys import KEYLESS_PROVIDERS, PROVIDER_KEYS, env_base_url, provider_of
from pricing import PriceBook, Usage, load_pricebook
from token_tracking import display
from token_tracking.counts import sum_exact
from token_tracking.errors import LedgerError, UsageNotFoundError
from token_tracking.extract import usage_from_result
from token_tracking.git import git_info, project_root
from token_tracking.history.clock import utc_now
from token_tracking.history.ledger import Ledger
from token_tracking.history.ratelimit_store import (
    FETCH_SOURCE,
    KINDS,
    RateLimitSnapshot,
    save_snapshot,
)
from token_tracking.ratelimits import (
    CEILINGS,
    ProviderLimitsReport,
    ceiling_of,
    limits_report,
    litellm_headers,
    parse_headers,
)
from token_tracking.records import AgentUsage, RequestUsage
from token_tracking.reports.build import tool_version
from token_tracking.reports.file import SCHEMA_VERSION as REPORT_SCHEMA_VERSION
from token_tracking.reports.file import TokenUsageReport
from token_tracking.settings import LedgerSettings, load_settings, tracking_enabled

PROMPT = "Reply with one word."
"""The one short message the request sends."""
TIMEOUT_SECONDS = 30.0
"""How long the request may take before the provider counts as unreachable."""
# The OpenAI and Anthropic clients need a key even for a server that wants none (a local proxy):
# this placeholder goes to a server given with --api-base, and it is not a secret.
_PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class Answer:
    """What the provider answered: its headers and status, and the usage when it succeeded."""

    provider: str
    """The provider that answered (``openai``, ``anthropic``, or LiteLLM's name for it)."""
    headers: Mapping[str, str]
    """The response's headers (for LiteLLM, the provider's own, prefix removed)."""
    status: int
    """The HTTP status."""
    result: Any | None
    """The SDK's parsed response, when the request succeeded."""
    duration_seconds: float
    """How long the request took (0 when it failed)."""


class FetchError(MemoryBankerError):
    """The provider could not be asked, or answered an error without rate-limit headers."""


def _key(provider: str | None, api_key: str | None, api_base: str | None) -> str | None:
    """The key to send: ``--api-key``, else the provider's variable; a placeholder for a server
    given with ``--api-base``. Raises MissingApiKeyError when a provider needs one."""
    if api_key:
        return api_key
    variables = PROVIDER_KEYS.get(provider or "", ())
    for name in variables:
        if os.environ.get(name):
            return os.environ[name]
    if api_base or provider in KEYLESS_PROVIDERS or not variables:
        return _PLACEHOLDER_KEY if provider in ("openai", "anthropic") else None
    raise MissingApiKeyError(
        f"{variables[0]} is not set: asking the {provider} provider for its rate limits needs "
        f"an API key; set {variables[0]} or pass --api-key"
    )


def _bare(model: str, provider: str) -> str:
    prefix = provider + "/"
    return model[len(prefix) :] if model.lower().startswith(prefix) else model


def _ask_openai(model: str, key: str | None, api_base: str | None) -> Answer:
    # Lazy: the OpenAI SDK costs ~0.6 s to import; only this command's OpenAI path needs it.
    import openai

    client = openai.OpenAI(api_key=key, base_url=api_base, max_retries=0, timeout=TIMEOUT_SECONDS)
    started = time.monotonic()
    try:
        raw = client.chat.completions.with_raw_response.create(
            model=_bare(model, "openai"),
            messages=[{"role": "user", "content": PROMPT}],
            max_completion_tokens=1,
        )
    except openai.APIStatusError as exc:
        return Answer("openai", exc.response.headers, exc.status_code, None, 0.0)
    except openai.APIConnectionError as exc:
        raise FetchError(f"cannot reach the openai provider: {exc}") from exc
    elapsed = time.monotonic() - started
    return Answer("openai", raw.headers, raw.status_code, raw.parse(), elapsed)


def _ask_anthropic(model: str, key: str | None, api_base: str | None) -> Answer:
    # Lazy: the Anthropic SDK costs ~1.2 s to import; only this command's Anthropic path needs it.
    import anthropic

    client = anthropic.Anthropic(
        api_key=key, base_url=api_base, max_retries=0, timeout=TIMEOUT_SECONDS
    )
    started = time.monotonic()
    try:
        raw = client.messages.with_raw_response.create(
            model=_bare(model, "anthropic"),
            max_tokens=1,
            messages=[{"role": "user", "content": PROMPT}],
        )
    except anthropic.APIStatusError as exc:
        return Answer("anthropic", exc.response.headers, exc.status_code, None, 0.0)
    except anthropic.APIConnectionError as exc:
        raise FetchError(f"cannot reach the anthropic provider: {exc}") from exc
    elapsed = time.monotonic() - started
    return Answer("anthropic", raw.headers, raw.status_code, raw.parse(), elapsed)


def _ask_litellm(model: str, provider: str | None, key: str | None, api_base: str | None) -> Answer:
    # Lazy: LiteLLM costs ~2.2 s to import; only models no SDK here speaks go through it.
    import litellm
    import openai

    litellm.suppress_debug_info = True
    started = time.monotonic()
    try:
        response = litellm.completion(
            model=model,
            messages=[{"role": "user", "content": PROMPT}],
            max_tokens=1,
            api_key=key,
            api_base=api_base,
            num_retries=0,
            timeout=TIMEOUT_SECONDS,
        )
    # LiteLLM's exceptions subclass the OpenAI SDK's; a status error keeps the provider's headers.
    # LiteLLM keeps the provider's own headers in ``litellm_response_headers``.
    except openai.APIStatusError as exc:
        headers = getattr(exc, "litellm_response_headers", None) or exc.response.headers
        return Answer(provider or "unknown", headers, exc.status_code, None, 0.0)
    except openai.APIConnectionError as exc:
        raise FetchError(f"cannot reach the provider of {model}: {exc}") from exc
    elapsed = time.monotonic() - started
    name = provider or str(getattr(response, "_hidden_params", {}).get("custom_llm_provider", ""))
    return Answer(name or "unknown", litellm_headers(response), 200, response, elapsed)


def ask_provider(model: str, api_key: str | None, api_base: str | None) -> Answer:
    """Send the minimal request for ``model`` and return the answer.

    Raises:
        MissingApiKeyError: the provider needs a key and none is set.
        FetchError: the provider could not be reached.
    """
    provider = provider_of(model)
    api_base = api_base or env_base_url(model)
    key = _key(provider, api_key, api_base)
    if provider == "openai":
        return _ask_openai(model, key, api_base)
    if provider == "anthropic":
        return _ask_anthropic(model, key, api_base)
    return _ask_litellm(model, provider, key, api_base)


# --- recording ------------------------------------------------------------------------------------


def request_report(
    app: AppContext, model: str, usage: RequestUsage, book: PriceBook, now: datetime
) -> TokenUsageReport:
    """The ledger's record of the request: a one-agent session of source ``fetch-limits``.

    A count the provider did not return stays unknown, and so does the cost then.
    """
    prompt, completion = usage.prompt_tokens, usage.completion_tokens
    cost = None
    if prompt is not None and completion is not None:
        breakdown = book.try_cost(model, Usage(prompt_tokens=prompt, completion_tokens=completion))
        cost = breakdown.total if breakdown is not None else None
    total = sum_exact([prompt, completion])
    duration = usage.duration_seconds if usage.duration_seconds is not None else 0.0
    agent = AgentUsage(
        agent_name=FETCH_SOURCE,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        model=model,
        start_time=now,
        end_time=now,
        duration_seconds=duration,
        success=True,
        requests=1,
        cost_usd=cost,
    )
    root = project_root(app.project_path)
    return TokenUsageReport(
        session_id=str(uuid.uuid4()),
        project_path=str(root),
        model=model,
        command="tokens fetch-limits",
        start_time=now,
        end_time=now,
        total_duration_seconds=duration,
        total_prompt_tokens=prompt,
        total_completion_tokens=completion,
        total_tokens=total,
        total_cost_usd=cost,
        total_requests=1,
        unknown_usage_requests=0 if total is not None else 1,
        successful_agents=1,
        agent_usage=[agent],
        schema_version=REPORT_SCHEMA_VERSION,
        source="fetch-limits",
        git=git_info(root),
        priced_coverage=(1.0 if cost is not None else 0.0) if total else None,
        tool_version=tool_version(),
    )


def _record(report: TokenUsageReport | None, snapshot: RateLimitSnapshot | None) -> None:
    """Store the request and the snapshot; a ledger that cannot take them is one warning."""
    if report is None and snapshot is None:
        return
    try:
        with Ledger() as ledger:
            if report is not None:
                ledger.insert_report(report)
            if snapshot is not None:
                save_snapshot(ledger, snapshot)
    except LedgerError as exc:
        click.echo(f"Warning: not recorded in the ledger: {exc}", err=True)


# --- rendering ------------------------------------------------------------------------------------


def render(
    console: Console,
    report: ProviderLimitsReport,
    snapshot: RateLimitSnapshot,
    request: TokenUsageReport | None,
    settings: LedgerSettings,
) -> None:
    """Print the provider's limits, the configured limits beside their ceilings, and the lines
    to set."""
    when = report.fetched_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    status = f", HTTP {snapshot.http_status}" if snapshot.http_status not in (None, 200) else ""
    console.print(
        f"Rate limits of {report.provider} for {report.model} ({when}{status})",
        markup=False,
        soft_wrap=True,
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("Limit", "Per minute", "Remaining", "Resets in"):
        table.add_column(name, justify="left" if name == "Limit" else "right", no_wrap=True)
    for kind in KINDS:
        window = report.limits.get(kind)
        if window is not None:
            table.add_row(
                kind.replace("_", " "),
                display.tokens(window.limit, unknown="-"),
                display.tokens(window.remaining, unknown="-"),
                display.span(window.reset_seconds),
            )
    console.print(table)
    if snapshot.retry_after_seconds is not None:
        console.print(f"Retry after: {display.span(snapshot.retry_after_seconds)}")
    usage = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("Usage limit", "Configured", "Provider ceiling"):
        usage.add_column(name, justify="left" if name == "Usage limit" else "right", no_wrap=True)
    for ceiling in CEILINGS:
        configured = report.configured.get(ceiling.variable)
        default = settings.limits.get(ceiling.variable)
        shown = (
            display.tokens(configured)
            if configured is not None
            else (f"{display.tokens(round(default))} (default)" if default else "not set")
        )
        implied = ceiling_of(snapshot, ceiling)
        window = snapshot.limits.get(ceiling.kind)
        where = (
            f"{display.tokens(implied)} ({display.tokens(window.limit)}/min x {ceiling.factor:,})"
            if implied is not None and window is not None
            else "-"
        )
        usage.add_row(ceiling.variable, shown, where)
    console.print(usage)
    if report.recommended:
        console.print("Set (the provider's per-minute limits allow no more):")
        for variable, value in report.recommended.items():
            console.print(f"  {variable}={value}", markup=False)
    else:
        console.print("The configured limits are within the provider's.")
    if request is not None:
        console.print(
            f"This request: {display.tokens(request.total_tokens)} tokens, "
            f"{display.usd(request.total_cost_usd)}, recorded in the ledger "
            f"(source {FETCH_SOURCE}).",
            soft_wrap=True,
        )


# --- the command ----------------------------------------------------------------------------------


@click.command("fetch-limits")
@click.option("--model", required=True, help="The model whose provider to ask, e.g. gpt-4o-mini.")
@click.option("--api-base", metavar="URL", help="Send the request to this server instead.")
@click.option(
    "--api-key", metavar="KEY", help="The key to send (default: the provider's own variable)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def fetch_limits(
    app: AppContext, model: str, api_base: str | None, api_key: str | None, as_json: bool
) -> None:
    """Ask the model's provider for its rate limits and compare them with the configured ones.

    Sends one minimal request (one short message, 1 output token; a fraction of a cent, recorded
    in the ledger with source fetch-limits, no report file), reads the rate-limit headers, and
    prints each provider limit with what remains and when it resets. Provider limits are per
    minute: x 60 is the hourly ceiling, x 1,440 the daily one. CLAUDE_HOURLY_LIMIT and
    CLAUDE_DAILY_LIMIT follow the requests limit, TOKEN_HOURLY_LIMIT and TOKEN_DAILY_LIMIT the
    tokens limit; each one not set in the environment (a default does not count) or set above
    its ceiling is printed as the line to set.

    \b
    Examples:
      memory-banker tokens fetch-limits --model gpt-4o-mini
      memory-banker tokens fetch-limits --model claude-haiku-4-5 --json
    """
    if not model.strip():
        raise UsageError("--model is empty: give a model such as gpt-4o-mini")
    # Settings and the price table are read first: a bad value must not cost a request.
    settings = load_settings()
    persist = tracking_enabled()
    book = load_pricebook(app.pricing_file)
    answer = ask_provider(model, api_key, api_base)
    now = utc_now()
    snapshot = parse_headers(
        answer.headers,
        provider=answer.provider,
        model=model,
        source=FETCH_SOURCE,
        http_status=answer.status,
        now=now,
    )
    request: TokenUsageReport | None = None
    if answer.result is not None:
        try:
            (usage,) = usage_from_result(answer.result, model=model)
        except UsageNotFoundError:
            usage = RequestUsage(timestamp=now, model=model)  # no usage returned: unknown
        usage = usage.model_copy(update={"duration_seconds": answer.duration_seconds})
        request = request_report(app, model, usage, book, now)
    if snapshot is None and answer.status >= 400:
        raise FetchError(
            f"the {answer.provider} provider answered HTTP {answer.status} without rate-limit "
            "headers"
        )
    if persist:
        _record(request, snapshot)
    if snapshot is None:
        empty = ProviderLimitsReport(provider=answer.provider, model=model, fetched_at=now)
        line = f"The {answer.provider} provider sent no rate-limit headers for {model}."
        if as_json:
            emit_json(empty)
            click.echo(line, err=True)
        else:
            click.echo(line)
        return
    report = limits_report(snapshot, settings).model_copy(update={"model": model})
    if as_json:
        emit_json(report)
    else:
        render(stdout_console(), report, snapshot, request, settings)
