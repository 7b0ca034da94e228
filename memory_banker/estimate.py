"""Project what a generation run will cost, per model, before any request is made.

How the numbers are made:

- **Rounds** follow the pipeline (:func:`memory_banker.specs.plan_rounds`): projectbrief; then
  productContext, systemPatterns and techContext; then activeContext and progress.
- **First round** (agents whose inputs this run does not regenerate): the prompts are built
  exactly as the pipeline builds them — :func:`memory_banker.specs.system_instructions` of the
  digest plus the agent's :func:`memory_banker.specs.user_message` — and counted with
  :func:`memory_banker.tokenizer.count_prompt_tokens` (text tokens plus a fixed
  ``MESSAGE_OVERHEAD`` per message). These counts are exact for the tokenizer.
- **Later rounds**: the same shared prefix and the agent's message with its input files. An input
  that this run regenerates is not known yet: its framing is counted with an empty body and its
  *expected length* is added. An input that is not regenerated (with ``--agents``) is read from
  the existing bank file and counted exactly.
- **Expected output lengths**: from the given report (this project's latest real report: the
  completion tokens of each agent that succeeded in it), else each spec's
  ``expected_output_tokens``.
- **Output range**: ``OUTPUT_RANGE`` = 0.5x to 1.5x the expected length, per agent.
- **Cost range**: each agent's request priced on its own with ``PriceBook.try_cost`` (so
  long-context tiers apply per request) at the low and high output, summed. A model without a
  known per-token price is listed as unknown: its costs are ``None``, never 0.
- **Prompt-cache saving**: all six prompts start with the same system instructions. Where the
  model has a cache-read price, requests 2-6 are priced again with that prefix
  (``count_tokens`` of the system instructions) as cached tokens, at the expected output; the
  saving is the difference. Providers cache only long enough prefixes (OpenAI from 1,024 tokens)
  and some need an explicit opt-in, so this is the best case.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from memory_banker.digest.build import build_digest
from memory_banker.digest.facts import Digest
from memory_banker.errors import UsageError
from memory_banker.specs import (
    AGENT_SPECS,
    AgentSpec,
    plan_rounds,
    system_instructions,
    user_message,
)
from memory_banker.tokenizer import MESSAGE_OVERHEAD, count_prompt_tokens, count_tokens
from memory_banker.writer import read_bank_file
from pricing import PriceBook, Usage
from token_tracking import display
from token_tracking.errors import TrackingError
from token_tracking.records import DeferredModel
from token_tracking.reports.file import TokenUsageReport, load_report
from token_tracking.reports.listing import list_reports, reports_folder

OUTPUT_RANGE = (0.5, 1.5)
"""Low and high factors applied to each agent's expected output length."""


class AgentEstimate(DeferredModel):
    """The projected request of one agent (the same for every model)."""

    agent: str
    """The agent's name."""
    file: str
    """The file it writes inside ``memory-bank/``."""
    round: int
    """The round it runs in: 1 for projectbrief, 2 for the three agents given it, 3 for the two
    given those four (with ``--agents``, an agent whose inputs are not regenerated runs first)."""
    prompt_tokens: int
    """Projected prompt tokens of its request (system + user message, with overhead)."""
    prompt_exact: bool
    """True when the prompt was built in full (no expected input length was added)."""
    output_tokens: int
    """Expected completion tokens."""
    output_source: Literal["report", "spec"]
    """Where ``output_tokens`` came from: the latest real report, or the spec's default."""


class ModelEstimate(DeferredModel):
    """The projection for one model."""

    model: str
    """The model as asked."""
    known: bool
    """False when no per-token price is known for the model; its costs are then ``None``."""
    matched_key: str | None = None
    """The price-table key the name resolved to."""
    custom: bool = False
    """Prices come from a custom price file or variable."""
    suggestions: list[str] = Field(default_factory=list)
    """Close known names, for an unknown model."""
    prompt_tokens: int
    """Projected prompt tokens of all requests."""
    output_tokens_low: int
    """Completion tokens at the low end of ``OUTPUT_RANGE``."""
    output_tokens_expected: int
    """Expected completion tokens."""
    output_tokens_high: int
    """Completion tokens at the high end of ``OUTPUT_RANGE``."""
    cost_low_usd: float | None = None
    """Cost in USD at the low output, no prompt cache; ``None`` when the price is unknown."""
    cost_expected_usd: float | None = None
    """Cost in USD at the expected output, no prompt cache; ``None`` when unknown."""
    cost_high_usd: float | None = None
    """Cost in USD at the high output, no prompt cache; ``None`` when unknown."""
    cache_read_cost_per_token: float | None = None
    """The model's USD price per cached prompt token; ``None`` when it has none."""
    cached_prompt_tokens: int | None = None
    """Prompt tokens served from the cache when requests 2-6 reuse the shared prefix."""
    cache_saving_usd: float | None = None
    """USD saved at the expected output when the shared prefix is cached; ``None`` when the
    model has no cache-read price or no known price."""


class EstimateResult(DeferredModel):
    """What ``memory-banker estimate`` prints (``--json`` prints this model)."""

    project_path: str
    """The project the digest was built from."""
    context_tokens: int
    """The digest budget (``--context-tokens``)."""
    digest_tokens: int
    """Tokens of the digest text."""
    shared_prefix_tokens: int
    """Tokens of the system instructions every agent shares (preamble + digest)."""
    message_overhead: int
    """Fixed tokens counted per message beyond its text."""
    output_range: tuple[float, float]
    """Low and high factors on the expected output lengths."""
    report_session_id: str | None = None
    """The report the expected output lengths came from, if any."""
    agents: list[AgentEstimate]
    """One projected request per agent, in launch order."""
    models: list[ModelEstimate]
    """One projection per model, in the order asked."""


def latest_real_report(project: Path) -> TokenUsageReport | None:
    """Return the newest report of ``project`` that came from a real model run, or None.

    Only reports with source ``llm`` and at least one successful agent count; unreadable files
    are skipped. The reports folder's index is not written.
    """
    folder = reports_folder(project)
    try:
        listing = list_reports(folder, use_index=False)
    except TrackingError:
        return None
    for summary in listing.reports:
        if summary.source != "llm" or summary.successful_agents < 1:
            continue
        try:
            return load_report(listing.path_of(summary))
        except TrackingError:
            continue
    return None


def _expected_outputs(
    specs: Sequence[AgentSpec], report: TokenUsageReport | None
) -> dict[str, tuple[int, Literal["report", "spec"]]]:
    measured: dict[str, int] = {}
    if report is not None:
        for usage in report.agent_usage:
            if usage.success and usage.completion_tokens is not None:
                measured[usage.agent_name] = usage.completion_tokens
    result: dict[str, tuple[int, Literal["report", "spec"]]] = {}
    for spec in specs:
        if spec.name in measured:
            result[spec.name] = (measured[spec.name], "report")
        else:
            result[spec.name] = (spec.expected_output_tokens, "spec")
    return result


def estimate_agents(
    project: Path,
    digest: Digest,
    specs: Sequence[AgentSpec],
    report: TokenUsageReport | None = None,
) -> list[AgentEstimate]:
    """Return the projected request of each agent in ``specs``, in the pipeline's round order.

    Raises nothing beyond ``OSError`` from reading an existing bank file.
    """
    by_name = {spec.name: spec for spec in AGENT_SPECS}
    chosen = {spec.name for spec in specs}
    expected = _expected_outputs([*specs, *AGENT_SPECS], report)
    shared = system_instructions(digest)
    ordered = [
        (number, spec)
        for number, round_ in enumerate(plan_rounds(specs), start=1)
        for spec in round_
    ]
    estimates = []
    for number, spec in ordered:
        inputs: dict[str, str | None] = {}
        added = 0
        for name in spec.depends_on:
            if name in chosen:
                inputs[name] = ""  # framing counted here, the body's expected length below
                added += expected[name][0]
            else:
                inputs[name] = read_bank_file(project, by_name[name].file)
        prompt = count_prompt_tokens(shared, user_message(spec, inputs)) + added
        output, source = expected[spec.name]
        estimates.append(
            AgentEstimate(
                agent=spec.name,
                file=spec.file,
                round=number,
                prompt_tokens=prompt,
                prompt_exact=added == 0,
                output_tokens=output,
                output_source=source,
            )
        )
    return estimates


def _scaled(tokens: int, factor: float) -> int:
    return round(tokens * factor)


def _model_estimate(
    model: str, agents: Sequence[AgentEstimate], prefix_tokens: int, pricebook: PriceBook
) -> ModelEstimate:
    low_factor, high_factor = OUTPUT_RANGE
    base = ModelEstimate(
        model=model,
        known=False,
        prompt_tokens=sum(a.prompt_tokens for a in agents),
        output_tokens_low=sum(_scaled(a.output_tokens, low_factor) for a in agents),
        output_tokens_expected=sum(a.output_tokens for a in agents),
        output_tokens_high=sum(_scaled(a.output_tokens, high_factor) for a in agents),
    )
    resolution = pricebook.lookup(model)
    if resolution is None:
        return base.model_copy(update={"suggestions": pricebook.suggestions(model)})

    def total(factor: float | None, cached: bool) -> float | None:
        amount = 0.0
        for index, agent in enumerate(agents):
            output = agent.output_tokens if factor is None else _scaled(agent.output_tokens, factor)
            usage = Usage(
                prompt_tokens=agent.prompt_tokens,
                completion_tokens=output,
                cached_tokens=min(prefix_tokens, agent.prompt_tokens) if cached and index else 0,
            )
            breakdown = pricebook.try_cost(model, usage)
            if breakdown is None:
                return None
            amount += breakdown.total
        return amount

    low, expected, high = total(low_factor, False), total(None, False), total(high_factor, False)
    update: dict[str, object] = {
        "matched_key": resolution.key,
        "custom": resolution.custom,
        "known": expected is not None,
        "cost_low_usd": low,
        "cost_expected_usd": expected,
        "cost_high_usd": high,
    }
    rate = resolution.entry.cache_read_cost_per_token
    if rate is not None and expected is not None:
        with_cache = total(None, True)
        update["cache_read_cost_per_token"] = rate
        update["cached_prompt_tokens"] = sum(
            min(prefix_tokens, a.prompt_tokens) for a in agents[1:]
        )
        update["cache_saving_usd"] = None if with_cache is None else expected - with_cache
    return base.model_copy(update=update)


def estimate(
    project: Path,
    models: Sequence[str],
    agents: Sequence[AgentSpec],
    context_tokens: int,
    pricebook: PriceBook,
    *,
    report: TokenUsageReport | None = None,
    digest: Digest | None = None,
) -> EstimateResult:
    """Project the tokens and cost of generating ``agents`` for each of ``models``.

    ``report`` supplies measured output lengths (see :func:`latest_real_report`); ``digest``
    reuses a digest already built for ``context_tokens``. No request is made and no key is
    needed. Returns the :class:`EstimateResult`. Raises ``UsageError`` when ``models`` or
    ``agents`` is empty or ``context_tokens`` is too small.
    """
    if not models:
        raise UsageError("name at least one model to estimate")
    if not agents:
        raise UsageError("name at least one agent to estimate")
    project = project.resolve()
    if digest is None:
        digest = build_digest(project, context_tokens=context_tokens)
    agent_estimates = estimate_agents(project, digest, agents, report)
    prefix_tokens = count_tokens(system_instructions(digest))
    return EstimateResult(
        project_path=str(project),
        context_tokens=context_tokens,
        digest_tokens=digest.tokens,
        shared_prefix_tokens=prefix_tokens,
        message_overhead=MESSAGE_OVERHEAD,
        output_range=OUTPUT_RANGE,
        report_session_id=report.session_id if report is not None else None,
        agents=agent_estimates,
        models=[_model_estimate(m, agent_estimates, prefix_tokens, pricebook) for m in models],
    )


_ESTIMATE_HEADERS = ("Model", "Prompt tokens", "Output tokens", "Cost (low-high)", "Cache saving")
# Least wanted first: the prompt-cache saving, then the prompt and output token ranges go before
# a model name or a cost is ever cut.
_ESTIMATE_DROP_ORDER = (4, 1, 2)


def render_estimate(result: EstimateResult, console: Console) -> None:
    """Print the estimate: one row per model, then the per-agent prompts it is built from.

    The model table fits the console's width: model names and costs are never cut; when the
    columns do not fit, the prompt-cache saving goes first, then the prompt tokens, then the
    output token range.
    """
    rows = []
    for model in result.models:
        cost = (
            "unknown"
            if model.cost_low_usd is None or model.cost_high_usd is None
            else f"{display.usd(model.cost_low_usd)}-{display.usd(model.cost_high_usd)}"
        )
        saving = "-" if model.cache_saving_usd is None else display.usd(model.cache_saving_usd)
        rows.append(
            (
                display.printable(model.model),
                f"{model.prompt_tokens:,}",
                f"{model.output_tokens_low:,}-{model.output_tokens_high:,}",
                cost,
                saving,
            )
        )
    widths = [
        max(len(cell) for cell in column) for column in zip(_ESTIMATE_HEADERS, *rows, strict=True)
    ]
    # Each column is padded by one space on either side: three characters between two columns
    # and one at each end.
    keep = display.fit_columns(widths, _ESTIMATE_DROP_ORDER, console.width - 2, gap=3)
    table = Table(
        title="Estimated cost per model (no request made)", box=box.SIMPLE_HEAD, show_edge=False
    )
    for index in keep:
        # "fold": a model name too long for any terminal wraps whole rather than being cut.
        table.add_column(
            _ESTIMATE_HEADERS[index],
            justify="left" if index == 0 else "right",
            overflow="fold",
            no_wrap=True,
        )
    for row in rows:
        table.add_row(*(escape(row[index]) for index in keep))
    console.print(table)
    dropped = [_ESTIMATE_HEADERS[index] for index in _ESTIMATE_DROP_ORDER if index not in keep]
    if dropped:
        console.print(display.left_out(dropped, console.width), markup=False)
    agents = Table(title="Requests")
    agents.add_column("Agent")
    agents.add_column("Round", justify="right")
    agents.add_column("Prompt tokens", justify="right")
    agents.add_column("Expected output", justify="right")
    for agent in result.agents:
        prompt = f"{agent.prompt_tokens:,}" + ("" if agent.prompt_exact else " (est.)")
        agents.add_row(
            agent.agent,
            str(agent.round),
            prompt,
            f"{agent.output_tokens:,} ({agent.output_source})",
        )
    console.print(agents)
    low, high = result.output_range
    console.print(
        f"Digest {result.digest_tokens:,} of {result.context_tokens:,} tokens; shared prefix "
        f"{result.shared_prefix_tokens:,} tokens; {result.message_overhead} tokens per message. "
        f"Output range {low:g}x-{high:g}x the expected length"
        + (
            f" (lengths from report {result.report_session_id})."
            if result.report_session_id
            else " (lengths from the agent specs)."
        )
    )
    for model in result.models:
        if not model.known:
            hint = f" (did you mean: {', '.join(model.suggestions)})" if model.suggestions else ""
            console.print(f"{model.model}: price unknown{hint}; pass --pricing-file to price it.")
