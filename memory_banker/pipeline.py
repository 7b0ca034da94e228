"""The generation pipeline: six agents in two rounds, tracked, budgeted, honest about the outcome.

One run, in order (``prepare`` then ``run``):

1. Checks that refuse before anything launches, writing nothing: the agent names, ``init`` on an
   existing bank, the API key (before any SDK import), the ``--max-cost`` estimate.
2. Orphaned journals left by a dead run are turned into ``interrupted`` reports (DESIGN §4).
3. The digest is built once; every agent gets the same system instructions (preamble + digest), so
   requests 2 to 6 share a long prefix that provider prompt caches reuse.
4. Round one (projectbrief, productContext, systemPatterns, techContext) runs concurrently, at most
   ``--concurrency`` at a time; round two (activeContext, progress) runs concurrently with the four
   outputs as input. With ``--agents``, inputs not regenerated come from the existing bank files.
5. Each agent runs under ``--timeout`` with the tracker's hooks. Its file is written (atomically)
   only when the agent succeeded and its output has every required section; otherwise the old
   file stays as it was and the agent is recorded as failed with the reason.
6. ``--max-cost``: no agent launches once the spent cost reaches the budget (``budget_exceeded``).
   Ctrl-C cancels the running agents (``interrupted``). In every outcome after a launch, the
   report is finished and saved.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from memory_banker import writer
from memory_banker.backends import (
    ApiKind,
    Backend,
    agent_settings,
    build_model,
    choose_backend,
    configure_tracing,
    model_settings,
    usage_callbacks,
)
from memory_banker.digest.build import Digest, build_digest
from memory_banker.errors import MemoryBankerError, UsageError
from memory_banker.estimate import EstimateResult, estimate, latest_real_report
from memory_banker.keys import check_api_key, key_requirement
from memory_banker.specs import (
    AgentSpec,
    missing_sections,
    select_agents,
    spec_by_name,
    system_instructions,
    user_message,
)
from pricing import PriceBook
from token_tracking import TokenTracker, recover_journals
from token_tracking.history.ledger import Ledger
from token_tracking.history.limits import check_limits_before_run
from token_tracking.history.record import record_in_ledger
from token_tracking.records import ReportStatus, TokenUsageReport

if TYPE_CHECKING:
    from agents import Model, ModelSettings
    from rich.console import Console


Command = Literal["init", "update", "refresh"]
AgentState = Literal["waiting", "running", "done", "failed", "not run"]

# Key-like strings that must never reach an error message (and so the report): OpenAI/Anthropic
# style keys, AWS access key ids, GitHub tokens, bearer credentials.
_SECRET_PATTERN = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}|AKIA[0-9A-Z]{12,}|gh[pousr]_[A-Za-z0-9]{12,}|Bearer\s+\S+)"
)
_ERROR_LIMIT = 500


class BudgetRefusedError(MemoryBankerError):
    """``--max-cost`` refused the run before launch: exit 1, not 2 (a gate, not bad input)."""


class LimitsRefusedError(MemoryBankerError):
    """A usage limit set in the environment is above 100%: exit 1 unless ``--ignore-limits``."""


@dataclass(frozen=True)
class GenerateOptions:
    """What ``init``/``update``/``refresh`` were asked to do (DESIGN §5)."""

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


@dataclass
class AgentOutcome:
    """What happened to one agent of the run."""

    name: str
    """The agent's name."""
    state: AgentState = "waiting"
    """``waiting``, ``running``, ``done``, ``failed`` or ``not run``."""
    error: str | None = None
    """Why it failed; ``None`` otherwise."""
    output_file: Path | None = None
    """The bank file it wrote."""
    started: float | None = None
    """``time.monotonic()`` at launch."""
    ended: float | None = None
    """``time.monotonic()`` at the end."""

    def elapsed(self, now: float | None = None) -> float | None:
        """Seconds the agent has run (so far, while running); ``None`` before launch."""
        if self.started is None:
            return None
        end = self.ended if self.ended is not None else (time.monotonic() if now is None else now)
        return end - self.started


@dataclass
class RunProgress:
    """The live state of a run, shared with the live view."""

    outcomes: dict[str, AgentOutcome]
    """Per agent, in launch order."""
    started: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the run began."""


@dataclass(frozen=True)
class GenerationResult:
    """The outcome of a run that launched."""

    report: TokenUsageReport
    """The finished (and, when persisting, saved) report."""
    outcomes: tuple[AgentOutcome, ...]
    """Per agent, in launch order."""
    report_path: Path | None = None
    """Where the report was saved, when it was."""

    @property
    def failures(self) -> list[AgentOutcome]:
        """The agents that failed."""
        return [outcome for outcome in self.outcomes if outcome.state == "failed"]

    @property
    def not_run(self) -> list[str]:
        """The agents that never launched (budget or Ctrl-C)."""
        return [outcome.name for outcome in self.outcomes if outcome.state == "not run"]

    @property
    def exit_code(self) -> int:
        """0 when every agent succeeded, else 1."""
        return 0 if all(outcome.state == "done" for outcome in self.outcomes) else 1


def plan_rounds(specs: Sequence[AgentSpec]) -> tuple[tuple[AgentSpec, ...], ...]:
    """Group ``specs`` into rounds: an agent runs after the selected agents it depends on.

    Agents whose inputs are not selected read them from the bank instead, so they run in round one.
    Raises ``UsageError`` on a dependency cycle (none among the six specs).
    """
    remaining = list(specs)
    done: set[str] = set()
    selected = {spec.name for spec in specs}
    rounds: list[tuple[AgentSpec, ...]] = []
    while remaining:
        ready = tuple(
            spec
            for spec in remaining
            if all(dep in done or dep not in selected for dep in spec.depends_on)
        )
        if not ready:
            names = ", ".join(spec.name for spec in remaining)
            raise UsageError(f"the agents {names} depend on each other in a cycle")
        rounds.append(ready)
        done.update(spec.name for spec in ready)
        remaining = [spec for spec in remaining if spec.name not in done]
    return tuple(rounds)


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
    """Return the projected cost of running ``specs`` on the chosen model (DESIGN §6)."""
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


def _budget(value: float) -> str:
    """Return a budget as the user typed it: ``0.0001``, ``1``, ``0.5`` (never ``1e-05``)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _check_budget(plan: Plan, max_cost: float) -> None:
    """Raise ``BudgetRefusedError`` when the run cannot fit ``max_cost`` or cannot be priced."""
    projected = estimate_range(plan)
    model = plan.options.model
    if projected is None:
        raise BudgetRefusedError(
            f"--max-cost ${_budget(max_cost)} cannot be enforced: no price is known for {model}; "
            "give it a custom price with --pricing-file (per-1M or per-1K rates)"
        )
    low, high = projected
    if low > max_cost:
        raise BudgetRefusedError(
            f"refusing to start: the estimated cost of {len(plan.specs)} agents on {model} is "
            f"${low:.4f}-${high:.4f}, above --max-cost ${_budget(max_cost)}"
        )


class PlanSummary(BaseModel):
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


def _secrets_of(options: GenerateOptions) -> tuple[str, ...]:
    """Return the key values this run could leak into an error message: never report them."""
    requirement = key_requirement(options.model)
    variables = requirement.variables if requirement is not None else ()
    values = [options.api_key, *(os.environ.get(name) for name in variables)]
    return tuple(value for value in values if value)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Return ``text`` with the given secrets and key-like strings replaced by ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _SECRET_PATTERN.sub("[redacted]", text)


def describe_error(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """Return a one-line, secret-free description of why an agent failed."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    text = redact(text, secrets)
    return text if len(text) <= _ERROR_LIMIT else text[: _ERROR_LIMIT - 1] + "…"


def normalize_output(text: str) -> str:
    """Return the agent's markdown without a wrapping code fence, ending in one newline."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and "\n" in stripped:
        stripped = stripped[stripped.index("\n") + 1 : -3].strip()
    return stripped + "\n"


class _Run:
    """The state of one launched run (one per ``run`` call)."""

    def __init__(
        self,
        plan: Plan,
        tracker: TokenTracker,
        progress: RunProgress,
        model: Model,
        settings: ModelSettings,
    ) -> None:
        self.plan = plan
        self.options = plan.options
        self.tracker = tracker
        self.progress = progress
        self.model = model
        self.settings = settings
        self.instructions = system_instructions(plan.digest)
        self.semaphore = asyncio.Semaphore(max(1, plan.options.concurrency))
        self.outputs: dict[str, str] = {}
        self.budget_crossed = False
        self.secrets = _secrets_of(plan.options)

    def _over_budget(self) -> bool:
        if self.options.max_cost is None:
            return False
        spent = self.tracker.spent_cost()
        if spent is not None and spent > self.options.max_cost:
            self.budget_crossed = True
        return self.budget_crossed

    def _inputs(self, spec: AgentSpec) -> dict[str, str | None]:
        inputs: dict[str, str | None] = {}
        for dep in spec.depends_on:
            if dep in self.outputs:
                inputs[dep] = self.outputs[dep]
            else:
                inputs[dep] = writer.read_bank_file(self.options.project, spec_by_name(dep).file)
        return inputs

    async def run_agent(self, spec: AgentSpec) -> None:
        outcome = self.progress.outcomes[spec.name]
        async with self.semaphore:
            if self._over_budget():
                outcome.state = "not run"
                return
            await self._run_launched(spec, outcome)

    async def _run_launched(self, spec: AgentSpec, outcome: AgentOutcome) -> None:
        # Lazy: the Agents SDK costs ~1.6 s to import; prepare() ran every refusal before this.
        from agents import Agent, RunConfig, Runner

        agent = Agent(
            name=spec.name,
            instructions=self.instructions,
            model=self.model,
            model_settings=agent_settings(self.plan.backend, self.settings, spec.name),
        )
        message = user_message(spec, self._inputs(spec))
        outcome.state = "running"
        outcome.started = time.monotonic()
        self.tracker.start_agent(spec.name, model=self.plan.report_model)
        try:
            result = await asyncio.wait_for(
                Runner.run(
                    agent,
                    message,
                    hooks=self.tracker.agents_hooks(),
                    run_config=RunConfig(tracing_disabled=not self.options.trace),
                ),
                timeout=self.options.timeout,
            )
        except asyncio.CancelledError:
            self._fail(spec, outcome, "interrupted (Ctrl-C) before the agent finished")
            raise
        except TimeoutError:
            self._fail(spec, outcome, f"timed out after {self.options.timeout:g} s (--timeout)")
            return
        except Exception as exc:  # the agent boundary: record why, surface it in report and exit
            self._fail(spec, outcome, describe_error(exc, self.secrets))
            return
        self._accept(spec, outcome, str(result.final_output or ""))

    def _accept(self, spec: AgentSpec, outcome: AgentOutcome, raw: str) -> None:
        text = normalize_output(raw)
        missing = missing_sections(spec, text)
        if missing:
            self._fail(spec, outcome, "output lacks required sections: " + ", ".join(missing))
            return
        try:
            path = writer.write_bank_file(self.options.project, spec.file, text)
        except OSError as exc:
            self._fail(spec, outcome, f"could not write {spec.file}: {describe_error(exc)}")
            return
        self.outputs[spec.name] = text
        outcome.state = "done"
        outcome.ended = time.monotonic()
        outcome.output_file = path
        self.tracker.end_agent(
            spec.name, success=True, output_file=f"{writer.BANK_DIRNAME}/{spec.file}"
        )

    def _fail(self, spec: AgentSpec, outcome: AgentOutcome, error: str) -> None:
        outcome.state = "failed"
        outcome.error = error
        outcome.ended = time.monotonic()
        self.tracker.end_agent(spec.name, success=False, error=error)

    async def run_rounds(self) -> None:
        for round_ in self.plan.rounds:
            await asyncio.gather(*(self.run_agent(spec) for spec in round_))


def new_progress(plan: Plan) -> RunProgress:
    """Return the progress record of ``plan``: every agent waiting."""
    return RunProgress(outcomes={spec.name: AgentOutcome(spec.name) for spec in plan.specs})


def recover_orphans(project: Path, pricebook: PriceBook) -> list[TokenUsageReport]:
    """Turn journals left by dead runs into ``interrupted`` reports and return them."""
    folder = writer.reports_dir(project)
    if not (folder / ".journal").is_dir():
        return []
    reports = recover_journals(folder, pricebook=pricebook)
    for report in reports:
        record_in_ledger(report)
    return reports


def check_usage_limits(options: GenerateOptions, *, ignore_limits: bool) -> list[str]:
    """Check the user's usage limits before a run (DESIGN §7) and return the warning lines.

    Offline runs are free and never counted, so they are not checked. Raises
    LimitsRefusedError when a limit set explicitly in the environment is above 100% (unless
    ``ignore_limits``), and SettingError (exit 2) for an invalid limit setting.
    """
    if options.offline:
        return []
    with Ledger() as ledger:
        verdict = check_limits_before_run(ledger)
    if verdict.refuse and not ignore_limits:
        raise LimitsRefusedError(
            "usage limit exceeded: "
            + "; ".join(verdict.refusals)
            + " (raise the limit, wait for the window to pass, or pass --ignore-limits)"
        )
    return verdict.warnings


def make_tracker(
    plan: Plan, pricebook: PriceBook, *, interval_console: Console | None = None
) -> TokenTracker:
    """Return the tracker of a run of ``plan`` (not started)."""
    options = plan.options
    return TokenTracker(
        default_model=plan.report_model,
        pricebook=pricebook,
        reports_dir=writer.reports_dir(options.project),
        command=options.command,
        model=plan.report_model,
        project_path=options.project,
        source="offline" if options.offline else "llm",
        interval_console=interval_console,
    )


async def run_async(
    plan: Plan,
    tracker: TokenTracker,
    progress: RunProgress,
    *,
    environ: Mapping[str, str] | None = None,
) -> GenerationResult:
    """Launch the run of ``plan`` and return its result; the report is finished in every outcome.

    ``tracker`` must not be started yet. Ctrl-C (cancellation of this coroutine) is absorbed: the
    running agents are recorded as failed, the rest as not run, and the result has status
    ``interrupted``.
    """
    options = plan.options
    configure_tracing(options.trace)
    model = build_model(
        plan.backend,
        api_key=options.api_key,
        max_retries=options.max_retries,
        digest=plan.digest,
        environ=environ,
    )
    settings = model_settings(plan.backend)
    run = _Run(plan, tracker, progress, model, settings)
    if options.command == "refresh":
        try:
            writer.snapshot_history(options.project)
        except OSError as exc:
            raise MemoryBankerError(
                f"could not copy the bank to {writer.BANK_DIRNAME}/{writer.HISTORY_DIRNAME}/ "
                f"before refreshing it, so nothing was changed: {exc}"
            ) from exc
    tracker.start_session()
    status: ReportStatus | None = None
    try:
        with usage_callbacks(plan.backend, tracker):
            await run.run_rounds()
    except asyncio.CancelledError:
        # Ctrl-C: the run ends here on purpose, and the report of what was spent must still be
        # written, so the cancellation is absorbed rather than re-raised.
        status = "interrupted"
    for outcome in progress.outcomes.values():
        if outcome.state == "waiting":
            outcome.state = "not run"
    not_run = [o.name for o in progress.outcomes.values() if o.state == "not run"]
    if status is None and run.budget_crossed:
        status = "budget_exceeded"
    report = tracker.finish(status=status, agents_not_run=not_run)
    return GenerationResult(
        report=report,
        outcomes=tuple(progress.outcomes.values()),
        report_path=tracker.report_path,
    )


def run(plan: Plan, tracker: TokenTracker, progress: RunProgress) -> GenerationResult:
    """Run ``plan`` to its end on a fresh event loop and return the result (see ``run_async``)."""
    return asyncio.run(run_async(plan, tracker, progress))


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
