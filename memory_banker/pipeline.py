"""The generation pipeline: six agents in three rounds, tracked, budgeted, honest about the outcome.

One run, in order (:func:`memory_banker.plan.prepare`, then :func:`run`):

1. Checks that refuse before anything launches, writing nothing: the agent names, ``init`` on an
   existing bank, the API key (before any SDK import), the ``--max-cost`` estimate
   (``memory_banker.plan``).
2. Orphaned journals left by a dead run are turned into ``interrupted`` reports.
3. The digest is built once; every agent gets the same system instructions (preamble + digest), so
   requests 2 to 6 share a long prefix that provider prompt caches reuse.
4. Round one writes projectbrief; round two (productContext, systemPatterns, techContext) runs
   concurrently, at most ``--concurrency`` at a time, each given projectbrief; round three
   (activeContext, progress) runs concurrently, given those four. An input that failed is read
   from its existing bank file (``update`` keeps it), and missing when there is none. An agent
   whose inputs in this run all failed or were not run is not launched (``not run``, with the
   reason). With ``--agents``, inputs not regenerated come from the existing bank files.
5. Each agent runs under ``--timeout`` on the backend's runner (the Agents SDK with the tracker's
   hooks, or the offline engine, which imports no SDK). Its file is written (atomically)
   only when the agent succeeded and its output has every required section; otherwise the old
   file stays as it was and the agent is recorded as failed with the reason.
6. ``--max-cost``: no agent launches once the spent cost reaches the budget (``budget_exceeded``).
   Ctrl-C cancels the running agents (``interrupted``). In every outcome after a launch, the
   report is finished and saved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from memory_banker import writer
from memory_banker.backends import (
    AgentRunner,
    ProviderConnectionError,
    digest_summary,
    open_runner,
    usage_callbacks,
)
from memory_banker.digest.secrets import redact
from memory_banker.errors import MemoryBankerError
from memory_banker.keys import key_values
from memory_banker.plan import Plan
from memory_banker.specs import (
    BANK_DIR,
    AgentSpec,
    missing_sections,
    spec_by_name,
    system_instructions,
    user_message,
)
from pricing import PriceBook
from token_tracking import TokenTracker, recover_journals
from token_tracking.errors import JournalError, ReportNotSavedError
from token_tracking.history.record import record_in_ledger
from token_tracking.records import ReportStatus
from token_tracking.reports.file import TokenUsageReport
from token_tracking.reports.listing import reports_folder

if TYPE_CHECKING:
    from rich.console import Console


AgentState = Literal["waiting", "running", "done", "failed", "not run"]

_ERROR_LIMIT = 500


@dataclass
class AgentOutcome:
    """What happened to one agent of the run."""

    name: str
    """The agent's name."""
    state: AgentState = "waiting"
    """``waiting``, ``running``, ``done``, ``failed`` or ``not run``."""
    round: int | None = None
    """The round it runs in (1 to 3 in a full run); ``None`` when not known."""
    error: str | None = None
    """Why it failed; ``None`` otherwise."""
    not_run_reason: str | None = None
    """Why it was not launched (budget, Ctrl-C, failed inputs); ``None`` otherwise."""
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
    write_failures: tuple[str, ...] = ()
    """What could not be written (a disk full, an I/O error), one line each; the run stopped
    launching agents at the first."""
    report_error: str | None = None
    """Why the finished report could not be saved (its journal is then kept); None when it was
    saved or persistence is off."""

    @property
    def failures(self) -> list[AgentOutcome]:
        """The agents that failed."""
        return [outcome for outcome in self.outcomes if outcome.state == "failed"]

    @property
    def not_run(self) -> list[str]:
        """The agents that never launched (budget, Ctrl-C, or inputs that all failed)."""
        return [outcome.name for outcome in self.outcomes if outcome.state == "not run"]

    @property
    def not_run_reasons(self) -> dict[str, str]:
        """Why each agent of ``not_run`` never launched (name → reason)."""
        return not_run_reasons(self.outcomes)

    @property
    def exit_code(self) -> int:
        """2 when something could not be written, else 0 when every agent succeeded, else 1."""
        if self.write_failures:
            return 2
        return 0 if all(outcome.state == "done" for outcome in self.outcomes) else 1


def describe_error(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """Return a one-line, secret-free description of why an agent failed."""
    message = " ".join(str(exc).split())
    if isinstance(exc, ProviderConnectionError):
        text = message  # already one line naming the URL and the reason
    else:
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
        runner: AgentRunner,
    ) -> None:
        self.plan = plan
        self.options = plan.options
        self.tracker = tracker
        self.progress = progress
        self.runner = runner
        self.instructions = system_instructions(plan.digest)
        self.semaphore = asyncio.Semaphore(max(1, plan.options.concurrency))
        self.outputs: dict[str, str] = {}
        self.budget_crossed = False
        self.secrets = key_values(plan.options.model, plan.options.api_key)
        self.write_failures: list[str] = []
        self._running: set[asyncio.Task[object]] = set()
        self._stopped: set[asyncio.Task[object]] = set()

    def _write_failed(self, problem: str) -> None:
        """Record that ``problem`` could not be written: no agent launches after it, and the
        running ones are stopped (their requests so far stay counted)."""
        if problem not in self.write_failures:
            self.write_failures.append(problem)
        current = asyncio.current_task()
        for task in self._running:
            if task is not current and task not in self._stopped:
                self._stopped.add(task)
                task.cancel()

    def _stopped_reason(self) -> str:
        return f"stopped by the write failure ({self.write_failures[0]})"

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

    def _inputs_lost(self, spec: AgentSpec) -> str | None:
        """Return why ``spec`` must not launch: every input it has in this run failed or was not
        run. ``None`` when it may launch (no inputs, one succeeded, or one comes from the bank)."""
        ran = [dep for dep in spec.depends_on if dep in self.progress.outcomes]
        if not ran or len(ran) < len(spec.depends_on):
            return None
        states = [self.progress.outcomes[dep].state for dep in ran]
        if any(state not in ("failed", "not run") for state in states):
            return None
        lost = ", ".join(f"{dep} {state}" for dep, state in zip(ran, states, strict=True))
        return f"every input failed or was not run ({lost})"

    async def run_agent(self, spec: AgentSpec) -> None:
        outcome = self.progress.outcomes[spec.name]
        async with self.semaphore:
            if self.write_failures:
                outcome.state = "not run"
                outcome.not_run_reason = self._stopped_reason()
                return
            if self._over_budget():
                outcome.state = "not run"
                outcome.not_run_reason = "--max-cost budget spent"
                return
            lost = self._inputs_lost(spec)
            if lost is not None:
                outcome.state = "not run"
                outcome.not_run_reason = lost
                return
            await self._run_launched(spec, outcome)

    async def _run_launched(self, spec: AgentSpec, outcome: AgentOutcome) -> None:
        message = user_message(spec, self._inputs(spec))
        try:
            self.tracker.start_agent(spec.name, model=self.plan.report_model)
        except JournalError as exc:
            self._write_failed(str(exc))
            outcome.state = "not run"
            outcome.not_run_reason = self._stopped_reason()
            return
        outcome.state = "running"
        outcome.started = time.monotonic()
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            output = await asyncio.wait_for(
                self.runner.run_agent(spec, self.instructions, message),
                timeout=self.options.timeout,
            )
        except asyncio.CancelledError:
            if task is not None and task in self._stopped:
                # Cancelled by _write_failed, not by Ctrl-C: the run goes on to its report.
                task.uncancel()
                self._fail(spec, outcome, self._stopped_reason())
                return
            self._fail(spec, outcome, "interrupted (Ctrl-C) before the agent finished")
            raise
        except TimeoutError:
            self._fail(spec, outcome, f"timed out after {self.options.timeout:g} s (--timeout)")
            return
        except Exception as exc:  # the agent boundary: record why, surface it in report and exit
            journal = _journal_error(exc)
            if journal is not None:
                self._write_failed(str(journal))
            self._fail(spec, outcome, describe_error(journal or exc, self.secrets))
            return
        finally:
            if task is not None:
                self._running.discard(task)
        self._accept(spec, outcome, output)

    def _accept(self, spec: AgentSpec, outcome: AgentOutcome, raw: str) -> None:
        text = normalize_output(raw)
        missing = missing_sections(spec, text)
        if missing:
            self._fail(spec, outcome, "output lacks required sections: " + ", ".join(missing))
            return
        try:
            path = writer.write_bank_file(self.options.project, spec.file, text)
        except OSError as exc:
            problem = f"cannot write {BANK_DIR}/{spec.file}: {exc.strerror or exc}"
            self._write_failed(problem)
            self._fail(spec, outcome, problem)
            return
        self.outputs[spec.name] = text
        outcome.state = "done"
        outcome.ended = time.monotonic()
        outcome.output_file = path
        try:
            self.tracker.end_agent(spec.name, success=True, output_file=f"{BANK_DIR}/{spec.file}")
        except JournalError as exc:
            self._write_failed(str(exc))

    def _fail(self, spec: AgentSpec, outcome: AgentOutcome, error: str) -> None:
        outcome.state = "failed"
        outcome.error = error
        outcome.ended = time.monotonic()
        try:
            self.tracker.end_agent(spec.name, success=False, error=error)
        except JournalError as exc:
            self._write_failed(str(exc))

    async def run_rounds(self) -> None:
        for round_ in self.plan.rounds:
            await asyncio.gather(*(self.run_agent(spec) for spec in round_))


def _journal_error(exc: BaseException) -> JournalError | None:
    """Return the journal write failure behind ``exc`` (raised by the tracker's hooks inside the
    SDK, possibly wrapped), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, JournalError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def not_run_reasons(outcomes: Iterable[AgentOutcome]) -> dict[str, str]:
    """Return why each agent of ``outcomes`` that never launched did not (name → reason), in
    launch order."""
    return {
        outcome.name: outcome.not_run_reason or "not launched"
        for outcome in outcomes
        if outcome.state == "not run"
    }


def new_progress(plan: Plan) -> RunProgress:
    """Return the progress record of ``plan``: every agent waiting, in launch order."""
    return RunProgress(
        outcomes={
            spec.name: AgentOutcome(spec.name, round=number)
            for number, round_ in enumerate(plan.rounds, start=1)
            for spec in round_
        }
    )


def recover_orphans(project: Path, pricebook: PriceBook) -> list[TokenUsageReport]:
    """Turn journals left by dead runs into ``interrupted`` reports and return them."""
    reports = recover_journals(reports_folder(project), pricebook=pricebook)
    for report in reports:
        record_in_ledger(report)
    return reports


def make_tracker(
    plan: Plan, pricebook: PriceBook, *, interval_console: Console | None = None
) -> TokenTracker:
    """Return the tracker of a run of ``plan`` (not started)."""
    options = plan.options
    return TokenTracker(
        default_model=plan.report_model,
        pricebook=pricebook,
        reports_dir=reports_folder(options.project),
        command=options.command,
        model=plan.report_model,
        project_path=options.project,
        source="offline" if options.offline else "llm",
        interval_console=interval_console,
        planned_agents=[spec.name for spec in plan.specs],
        otel=options.otel,
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
    runner = open_runner(
        plan.backend,
        tracker,
        plan.digest,
        api_key=options.api_key,
        max_retries=options.max_retries,
        trace=options.trace,
        environ=environ,
    )
    run = _Run(plan, tracker, progress, runner)
    if options.command == "refresh":
        try:
            writer.snapshot_history(options.project)
        except OSError as exc:
            raise MemoryBankerError(
                f"could not copy the bank to {BANK_DIR}/{writer.HISTORY_DIRNAME}/ "
                f"before refreshing it, so nothing was changed: {exc}"
            ) from exc
    try:
        tracker.start_session()
    except JournalError as exc:
        raise MemoryBankerError(f"{exc}; nothing was sent") from exc
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
            outcome.not_run_reason = "interrupted (Ctrl-C) before it launched"
    reasons = not_run_reasons(progress.outcomes.values())
    if status is None and run.budget_crossed:
        status = "budget_exceeded"
    report_error: str | None = None
    try:
        report = tracker.finish(
            status=status,
            agents_not_run=list(reasons),
            agents_not_run_reasons=reasons,
            digest=digest_summary(runner, options.project),
        )
    except ReportNotSavedError as exc:
        # The journal is kept (``tokens reindex`` or the next run recovers it); the report is
        # still printed in full.
        assert isinstance(exc.report, TokenUsageReport)
        report = exc.report
        report_error = str(exc)
        run.write_failures.append(report_error)
    return GenerationResult(
        report=report,
        outcomes=tuple(progress.outcomes.values()),
        report_path=tracker.report_path,
        write_failures=tuple(run.write_failures),
        report_error=report_error,
    )


def run(plan: Plan, tracker: TokenTracker, progress: RunProgress) -> GenerationResult:
    """Run ``plan`` to its end on a fresh event loop and return the result (see ``run_async``)."""
    return asyncio.run(run_async(plan, tracker, progress))
