"""Everything decided before a run launches: the options, the checks that refuse, the plan.

``prepare`` runs every refusal before anything is written or any SDK imported: unknown agents and
option clashes, a bank path that is a file, ``init`` on an existing bank, a kept input that cannot
be read, the API key, and the ``--max-cost`` estimate; ``check_usage_limits`` checks the user's
usage limits. The returned :class:`Plan` is what ``pipeline.run`` launches and what ``--dry-run``
prints (:func:`plan_summary`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from memory_banker import writer
from memory_banker.backends import ApiKind, Backend, choose_backend
from memory_banker.digest.build import build_digest
from memory_banker.digest.facts import Digest
from memory_banker.errors import BudgetRefusedError, LimitsRefusedError
from memory_banker.estimate import EstimateResult, estimate, latest_real_report
from memory_banker.keys import check_api_key
from memory_banker.specs import AgentSpec, plan_rounds, select_agents, spec_by_name
from pricing import PriceBook
from token_tracking.display import plural, usd
from token_tracking.errors import LedgerError
from token_tracking.history.ledger import Ledger
from token_tracking.history.limits import check_limits_before_run
from token_tracking.records import DeferredModel

Command = Literal["init", "update", "refresh"]


@dataclass(frozen=True)
class GenerateOptions:
    """What ``init``/``update``/``refresh`` were asked to do."""

    command: Command
    """Which command runs: it decides the existing-bank check and the ``.history`` copy."""
    project: Path
    """The project (resolved)."""
    model: str = "gpt-4o-mini"
    """Any LiteLLM model string; ignored with ``offline``."""
    api_key: str | None = field(default=None, repr=False)
    """``--api-key``: overrides the provider's environment variable; never written anywhere."""
    api_base: str | None = None
    """``--api-base``: the server to send requests to."""
    api: ApiKind | None = None
    """``--api``: ``responses`` or ``chat`` for OpenAI models; ``None`` picks the default."""
    timeout: float = 300.0
    """Seconds each agent may run."""
    agents: str | None = None
    """``--agents a,b``: the subset to regenerate; ``None`` for all six."""
    offline: bool = False
    """Use the in-process offline engine: no key, no network, cost 0."""
    max_cost: float | None = None
    """``--max-cost`` budget in USD."""
    concurrency: int = 4
    """Agents that may run at the same time."""
    context_tokens: int = 30000
    """Token budget of the digest's source excerpts."""
    trace: bool = False
    """Leave the Agents SDK's trace export on."""
    force: bool = False
    """``init --force``: write even when bank files exist."""
    max_retries: int | None = None
    """Retries of a failed request by the OpenAI client (its default, 2, when ``None``)."""
    otel: bool | None = None
    """Send the finished run to an OpenTelemetry collector (``None``: ``TOKEN_TRACKING_OTEL``)."""


@dataclass(frozen=True)
class Plan:
    """A run that passed every up-front check: what will run, where, on what input."""

    options: GenerateOptions
    """The options the plan was made from."""
    rounds: tuple[tuple[AgentSpec, ...], ...]
    """The selected agents, grouped in the rounds they run in."""
    backend: Backend
    """The model implementation the agents run on."""
    digest: Digest
    """The project digest every agent's instructions contain."""
    estimate: EstimateResult | None = None
    """The projected cost, when ``--max-cost`` or ``--dry-run`` asked for it."""

    @property
    def specs(self) -> tuple[AgentSpec, ...]:
        """The selected agents in launch order."""
        return tuple(spec for round_ in self.rounds for spec in round_)

    @property
    def report_model(self) -> str:
        """The model name reports and pricing use (``offline`` for the offline engine)."""
        return self.backend.model


def prepare(
    options: GenerateOptions,
    pricebook: PriceBook,
    *,
    with_estimate: bool = False,
    check_key: bool = True,
) -> Plan:
    """Run every up-front check and return the plan. Imports no SDK.

    Raises ``UsageError`` for unknown agents or option clashes, ``BankExistsError`` for ``init``
    on an existing bank, ``MissingApiKeyError`` when the provider's key is missing (unless
    ``check_key`` is False, as for ``--dry-run``), ``BudgetRefusedError`` when the estimate's low
    end exceeds ``--max-cost`` or the model has no known price.
    """
    specs = select_agents(options.agents)
    writer.check_folders(options.project, history=options.command == "refresh")
    if options.command == "init":
        writer.check_init(options.project, force=options.force)
    _check_kept_inputs(options.project, specs)
    backend = choose_backend(
        options.model, offline=options.offline, api=options.api, api_base=options.api_base
    )
    if check_key and not options.offline:
        check_api_key(options.model, api_key=options.api_key, api_base=options.api_base)
    digest = build_digest(options.project, context_tokens=options.context_tokens)
    needs_estimate = not options.offline and (with_estimate or options.max_cost is not None)
    estimate_result = _estimate(options, specs, digest, pricebook) if needs_estimate else None
    plan = Plan(
        options=options,
        rounds=plan_rounds(specs),
        backend=backend,
        digest=digest,
        estimate=estimate_result,
    )
    if options.max_cost is not None and not options.offline:
        _check_budget(plan, options.max_cost)
    return plan


def _check_kept_inputs(project: Path, specs: Sequence[AgentSpec]) -> None:
    """Read the bank files the chosen agents depend on but will not regenerate, so that an
    unreadable one is refused before the run starts, not midway through it."""
    chosen = {spec.name for spec in specs}
    for spec in specs:
        for dep in spec.depends_on:
            if dep not in chosen:
                writer.read_bank_file(project, spec_by_name(dep).file)


def _estimate(
    options: GenerateOptions, specs: Sequence[AgentSpec], digest: Digest, pricebook: PriceBook
) -> EstimateResult:
    """Return the projected cost of running ``specs`` on the chosen model: prompts counted with
    the tokenizer, outputs sized from the project's latest real run when there is one."""
    return estimate(
        options.project,
        [options.model],
        list(specs),
        context_tokens=options.context_tokens,
        pricebook=pricebook,
        report=latest_real_report(options.project),
        digest=digest,
    )


def estimate_range(plan: Plan) -> tuple[float, float] | None:
    """Return the plan's projected (low, high) cost in USD; ``None`` when the price is unknown."""
    if plan.options.offline:
        return (0.0, 0.0)
    if plan.estimate is None:
        return None
    row = plan.estimate.models[0]
    if row.cost_low_usd is None or row.cost_high_usd is None:
        return None
    return (row.cost_low_usd, row.cost_high_usd)


def _check_budget(plan: Plan, max_cost: float) -> None:
    """Raise ``BudgetRefusedError`` when the run cannot fit ``max_cost`` or cannot be priced."""
    projected = estimate_range(plan)
    model = plan.options.model
    if projected is None:
        raise BudgetRefusedError(
            f"--max-cost {usd(max_cost)} cannot be enforced: no price is known for {model}; "
            "give it a custom price with --pricing-file (per-1M or per-1K rates)"
        )
    low, high = projected
    if low > max_cost:
        raise BudgetRefusedError(
            f"refusing to start: the estimated cost of {plural(len(plan.specs), 'agent')} on "
            f"{model} is "
            f"{usd(low)}-{usd(high)}, above --max-cost {usd(max_cost)}"
        )


class PlanSummary(DeferredModel):
    """What ``--dry-run`` prints (and ``--dry-run --json`` emits): the run that would happen."""

    command: str
    """``init``, ``update`` or ``refresh``."""
    project: str
    """The project path."""
    model: str
    """The model the agents would run on (``offline`` for the offline engine)."""
    backend: str
    """How requests would be sent, in words."""
    rounds: list[list[str]]
    """The agents, grouped in the rounds they would run in, in order."""
    concurrency: int
    """Agents that may run at once."""
    digest_tokens: int
    """Tokens of the project digest every agent's instructions contain."""
    digest_files: int
    """Files listed in the digest."""
    prompt_tokens: int | None = None
    """Projected prompt tokens of the whole run."""
    output_tokens_low: int | None = None
    """Projected output tokens, low end."""
    output_tokens_high: int | None = None
    """Projected output tokens, high end."""
    cost_low_usd: float | None = None
    """Projected cost, low end; ``None`` when the model's price is unknown."""
    cost_high_usd: float | None = None
    """Projected cost, high end; ``None`` when the model's price is unknown."""


def plan_summary(plan: Plan) -> PlanSummary:
    """Return the dry-run summary of ``plan``."""
    summary = PlanSummary(
        command=plan.options.command,
        project=str(plan.options.project),
        model=plan.report_model,
        backend=plan.backend.describe(),
        rounds=[[spec.name for spec in round_] for round_ in plan.rounds],
        concurrency=plan.options.concurrency,
        digest_tokens=plan.digest.tokens,
        digest_files=len(plan.digest.files),
    )
    row = _estimate_row(plan)
    if row is not None:
        summary = summary.model_copy(update=row)
    return summary


def check_usage_limits(options: GenerateOptions, *, ignore_limits: bool) -> list[str]:
    """Check the user's usage limits before a run and return the warning lines.

    Offline runs are free and never counted, so they are not checked. An unusable ledger (a
    read-only or full file system, a folder where the file should be) never blocks a run: the
    one warning says the limits were not checked. Raises LimitsRefusedError when a limit set
    explicitly in the environment is above 100% (unless ``ignore_limits``), and SettingError
    (exit 2) for an invalid limit setting.
    """
    if options.offline:
        return []
    try:
        with Ledger() as ledger:
            verdict = check_limits_before_run(ledger)
    except LedgerError as exc:
        return [f"not checked ({exc}); the run goes on"]
    if verdict.refuse and not ignore_limits:
        raise LimitsRefusedError(
            "usage limit exceeded: "
            + "; ".join(verdict.refusals)
            + " (raise the limit, wait for the window to pass, or pass --ignore-limits)"
        )
    return verdict.warnings


def _estimate_row(plan: Plan) -> dict[str, Any] | None:
    """Return the projected figures of the plan's model, as ``PlanSummary`` fields."""
    projected = estimate_range(plan)
    if plan.estimate is None:
        if projected is None:
            return None
        return {"cost_low_usd": projected[0], "cost_high_usd": projected[1]}
    row = plan.estimate.models[0]
    return {
        "prompt_tokens": row.prompt_tokens,
        "output_tokens_low": row.output_tokens_low,
        "output_tokens_high": row.output_tokens_high,
        "cost_low_usd": row.cost_low_usd,
        "cost_high_usd": row.cost_high_usd,
    }
