"""``TokenTracker``: the collector every integration and the memory-banker pipeline record into.

One tracker is one session: ``start_session`` opens it (git state, the crash-safe journal),
``start_agent`` / ``end_agent`` bracket each agent run, ``record`` adds one request's usage (from
any thread or task, priced at once), and ``finish`` closes it with a ``TokenUsageReport``.

Persistence — the journal, the report file, run-directory lines and the ledger — follows
``TOKEN_TRACKING_ENABLED``; the in-memory accounting behind the end-of-run report and
``--max-cost`` always works.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from rich.console import Console

from pricing import PriceBook
from token_tracking import settings, telemetry
from token_tracking.counts import sum_exact, sum_known
from token_tracking.errors import TrackingError
from token_tracking.extract import model_name, usage_from_result
from token_tracking.git import git_info, project_root
from token_tracking.history.record import record_in_ledger
from token_tracking.intervals import IntervalTracker, format_interval_line
from token_tracking.reconcile import ResponseIndex, SdkRunUsage, unattributed_usage
from token_tracking.records import AgentUsage, ReportSource, ReportStatus, RequestUsage
from token_tracking.reports.build import UNATTRIBUTED_AGENT, ReportBuilder, SessionMeta
from token_tracking.reports.file import DigestSummary, TokenUsageReport, save_report
from token_tracking.reports.journal import Journal
from token_tracking.reports.pricer import Pricer, total_cost
from token_tracking.rundirs import summary
from token_tracking.rundirs.log import append_usage, read_usage
from token_tracking.rundirs.summary import (
    RUN_FILE,
    RunTokenStats,
    compute_stats,
    estimate,
    read_run_json,
    run_id_of,
    update_run_json,
)

ClientT = TypeVar("ClientT")

logger = logging.getLogger(__name__)

_USAGE_FIELDS = ("cached_tokens", "cache_write_tokens", "reasoning_tokens", "duration_seconds")


def local_now() -> datetime:
    """Return the current local time with its UTC offset (the times reports carry)."""
    return datetime.now().astimezone()


class TokenTracker:
    """Collects the token usage of one session and turns it into a ``TokenUsageReport``.

    Thread-safe: agents may record concurrently from one event loop and from threads.
    """

    def __init__(
        self,
        run_dir: Path | None = None,
        *,
        default_model: str | None = None,
        pricebook: PriceBook | None = None,
        reports_dir: Path | None = None,
        command: str = "app",
        model: str | None = None,
        project_path: Path | None = None,
        source: ReportSource = "llm",
        persist: bool | None = None,
        interval_console: Console | None = None,
        interval_minutes: float | None = None,
        clock: Callable[[], datetime] | None = None,
        planned_agents: Sequence[str] = (),
        otel: bool | None = None,
    ) -> None:
        """Create a tracker; nothing is written until the session starts.

        ``run_dir``: also append every request to ``run_dir/tokens.jsonl``.
        ``default_model`` prices records that name no model. ``pricebook``: default, the
        table with environment overrides. ``reports_dir``: where the journal lives and the
        report is saved. ``persist``: None reads ``TOKEN_TRACKING_ENABLED``.
        ``interval_console``: where interval lines go (default: stderr). ``interval_minutes``:
        None reads ``TOKEN_INTERVAL_MINUTES``. ``clock``: the time source (tests).
        ``planned_agents``: the agents the session means to run; a report recovered from its
        journal lists those that never launched in ``agents_not_run``. ``otel``: send the
        finished session to an OpenTelemetry collector (:mod:`token_tracking.telemetry`); None
        reads ``TOKEN_TRACKING_OTEL``.

        Raises SettingError (a TrackingError) when an environment setting is invalid, or export
        is on without the OpenTelemetry exporter installed.
        """
        self.session_id: str = str(uuid.uuid4())
        """The session's id, also the journal's file name and the report's ``session_id``."""
        self.run_dir = run_dir
        self.reports_dir = reports_dir
        self.command = command
        self.model = model
        self.default_model = default_model
        self.source: ReportSource = source
        self.project_path = project_path
        self.persist = settings.tracking_enabled() if persist is None else persist
        self.otel = telemetry.telemetry_enabled() if otel is None else otel
        if self.otel:
            telemetry.require_exporter()
        self.interval_minutes = (
            settings.interval_minutes() if interval_minutes is None else interval_minutes
        )
        self.report_path: Path | None = None
        """Where ``finish`` saved the report, when it saved one."""
        self._interval_console = interval_console
        self._clock = local_now if clock is None else clock
        self.planned_agents = tuple(planned_agents)
        self._pricer = Pricer(pricebook, default_model)
        self._lock = threading.Lock()
        self._builder: ReportBuilder | None = None
        self._intervals: IntervalTracker | None = None
        self._journal: Journal | None = None
        self._report: TokenUsageReport | None = None
        self._unwritten: list[RequestUsage] = []
        self._responses = ResponseIndex()
        self._sdk_runs = SdkRunUsage()

    # --- session lifecycle ----------------------------------------------------------------

    def __enter__(self) -> TokenTracker:
        self.start_session()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._report is None:
            interrupted = kind is not None and issubclass(kind, KeyboardInterrupt)
            self.finish(status="interrupted" if interrupted else None)

    @property
    def finished(self) -> bool:
        """True once ``finish`` built the session's report: recording more then raises
        TrackingError (the LiteLLM callback checks this to drop events LiteLLM delivers late)."""
        return self._report is not None

    @property
    def pricer(self) -> Pricer:
        """The pricer of this session (its price book and how each model resolved)."""
        return self._pricer

    def start_session(self) -> None:
        """Open the session: read the project's git state and open the journal when persisting.

        Calling it again is harmless. Raises JournalError (a TrackingError) when the journal
        cannot be created.
        """
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> ReportBuilder:
        if self._builder is not None:
            return self._builder
        start = self._clock()
        path = Path.cwd() if self.project_path is None else self.project_path
        root = project_root(path)
        meta = SessionMeta(
            session_id=self.session_id,
            command=self.command,
            project_path=str(path.resolve()),
            start_time=start,
            model=self.model,
            default_model=self.default_model,
            source=self.source,
            git=git_info(root),
            interval_minutes=self.interval_minutes,
            planned_agents=self.planned_agents,
        )
        if self.persist and self.reports_dir is not None:
            self._journal = Journal.create(self.reports_dir, meta, self._pricer.pricing_info())
        self._intervals = IntervalTracker(start, self.interval_minutes)
        self._builder = ReportBuilder(meta)
        return self._builder

    def _open_builder(self) -> ReportBuilder:
        if self._report is not None:
            raise TrackingError(f"session {self.session_id} is already finished")
        return self._start_locked()

    def start_agent(self, name: str, model: str | None = None) -> None:
        """Start an agent run named ``name`` (starting the session if needed).

        A run of that name that is still open keeps accumulating. Raises TrackingError after
        ``finish``.
        """
        with self._lock:
            builder = self._open_builder()
            now = self._clock()
            builder.start_agent(name, model, now)
            if self._journal is not None:
                self._journal.agent_start(name, model, now)

    def end_agent(
        self,
        name: str,
        *,
        success: bool,
        error: str | None = None,
        output_file: str | None = None,
    ) -> None:
        """End the open run of ``name``: succeeded, or failed with ``error``. The tokens of the
        requests it completed are kept either way. Raises TrackingError after ``finish``."""
        with self._lock:
            builder = self._open_builder()
            now = self._clock()
            builder.end_agent(name, now, success=success, error=error, output_file=output_file)
            if self._journal is not None:
                self._journal.agent_end(
                    name, now, success=success, error=error, output_file=output_file
                )

    @contextlib.contextmanager
    def agent_run(self, name: str, model: str | None = None) -> Iterator[None]:
        """Bracket one agent run: start it, then end it as succeeded, or as failed with the
        error (``"<ExceptionType>: <message>"``) when the block raises; the exception propagates.

        The Agents SDK's hooks never see a run that raises, so ``with tracker.agent_run(name):
        await Runner.run(agent, …, hooks=tracker.agents_hooks())`` is how such a failure is
        recorded; the hooks leave an agent started here to it. The tokens of the requests that
        completed are kept either way. Raises TrackingError after ``finish``.
        """
        self.start_agent(name, model)
        try:
            yield
        except BaseException as error:
            # Recorded, then re-raised: the failure is the caller's to handle.
            self.end_agent(name, success=False, error=f"{type(error).__name__}: {error}")
            raise
        self.end_agent(name, success=True)

    def record(self, usage: RequestUsage) -> RequestUsage:
        """Add one request's usage to its agent (``usage.agent_name``; default: the command).

        Checks the count invariants (warning, never fixing), prices the request (the
        default model when it names none; an actual cost is kept), journals it, appends it to
        ``run_dir/tokens.jsonl``, and prints the lines of intervals that ended. Returns the
        priced copy. Raises TrackingError after ``finish`` or when a file cannot be written.
        """
        with self._lock:
            builder = self._open_builder()
            seen = self._responses.seen(usage)
            if seen is not None:
                # Another integration recorded this provider response already.
                return seen
        usage.check_invariants()
        with self._lock:
            builder = self._open_builder()
            seen = self._responses.seen(usage)
            if seen is not None:
                return seen
            priced = self._pricer.price(usage)
            self._responses.remember(priced)
            builder.add_request(priced, default_agent=self.command)
            assert self._intervals is not None
            self._intervals.add(priced)
            if self._journal is not None:
                note = None if priced.model is None else self._pricer.models.get(priced.model)
                self._journal.request(priced, note)
            if self.run_dir is not None:
                if self.persist:
                    append_usage(self.run_dir, priced)
                else:
                    self._unwritten.append(priced)
            finished = self._intervals.newly_completed(self._clock())
        if self.run_dir is not None and self.persist:
            self._refresh_run_json()
        self._announce(finished)
        return priced

    # --- reconciliation with the Agents SDK's run-wide usage --------------------------------

    def note_sdk_usage(
        self, run: int, input_tokens: int, output_tokens: int, requests: int
    ) -> None:
        """Count one model response's Agents SDK usage toward the run whose usage object has
        ``id`` ``run`` (the hooks call it for every response, recorded or not)."""
        with self._lock:
            self._sdk_runs.note(run, input_tokens, output_tokens, requests)

    def reconcile_usage(
        self, run_usage: object, *, model: str | None = None
    ) -> RequestUsage | None:
        """Compare an Agents SDK run's run-wide usage with the responses it was made of.

        ``run_usage`` is the SDK's ``Usage`` (``result.context_wrapper.usage``). What it counts
        beyond the responses the hooks saw is recorded once, as the agent ``(unattributed)``
        (successful, never counted among the agents), with a warning; returns that record, or
        None when nothing is missing.
        """
        with self._lock:
            missing = self._sdk_runs.take_missing(run_usage)
        if missing is None:
            return None
        record = self.record(unattributed_usage(missing, timestamp=self._clock(), model=model))
        with self._lock:
            assert self._builder is not None
            self._builder.end_agent(UNATTRIBUTED_AGENT, self._clock(), success=True)
        return record

    def reconcile(self, result: object) -> RequestUsage | None:
        """Reconcile an Agents SDK ``RunResult`` (see :meth:`reconcile_usage`); the hooks do
        this at the end of every run they see."""
        wrapper = getattr(result, "context_wrapper", None)
        last = getattr(result, "last_agent", None)
        return self.reconcile_usage(
            getattr(wrapper, "usage", None), model=model_name(getattr(last, "model", None))
        )

    def check_intervals(self) -> list[str]:
        """Print (and return) the lines of intervals that ended since the last check.

        The collector checks on every ``record``; a live view calls this on its own tick so a
        quiet interval is announced on time too.
        """
        with self._lock:
            if self._intervals is None or self._report is not None:
                return []
            finished = self._intervals.newly_completed(self._clock())
        return self._announce(finished)

    def _announce(self, intervals: Sequence[Any]) -> list[str]:
        lines = [format_interval_line(interval, self.interval_minutes) for interval in intervals]
        if lines:
            if self._interval_console is None:
                # soft_wrap: one interval is one line, whatever width stderr reports.
                self._interval_console = Console(stderr=True, soft_wrap=True)
            for line in lines:
                self._interval_console.print(line, highlight=False, markup=False)
        return lines

    def spent_cost(self) -> float | None:
        """Return the cost recorded so far in USD (0.0 before any request; None when no request
        could be priced; with some unpriced, the priced part — a lower bound)."""
        with self._lock:
            if self._builder is None:
                return 0.0
            return total_cost(self._builder.requests)

    def agent_snapshot(self) -> list[AgentUsage]:
        """Return every agent run's figures so far, in launch order. A run still going has
        ``end_time`` None, ``success`` False and its duration up to now."""
        with self._lock:
            if self._builder is None:
                return []
            return self._builder.snapshot(self._clock())

    def requests(self) -> list[RequestUsage]:
        """Return every request recorded in this session (priced), in recording order."""
        with self._lock:
            return [] if self._builder is None else list(self._builder.requests)

    def finish(
        self,
        *,
        status: ReportStatus | None = None,
        agents_not_run: Sequence[str] = (),
        agents_not_run_reasons: Mapping[str, str] | None = None,
        digest: DigestSummary | None = None,
    ) -> TokenUsageReport:
        """Close the session and return its report.

        ``status`` None derives it: every agent succeeded (or none ran) → ``success``, every
        agent failed → ``failed``, otherwise ``partial``. ``agents_not_run_reasons`` maps each
        agent never launched to why; ``digest`` is what the run kept from the provider. An agent
        started but not ended fails
        with "interrupted: the agent did not finish". When persisting, the report is saved to
        ``reports_dir`` (``report_path``) and the journal then deleted. Raises TrackingError when
        already finished, ReportFileError when the report cannot be saved (the journal is then
        kept for recovery).
        """
        with self._lock:
            builder = self._open_builder()
            assert self._intervals is not None
            end = self._clock()
            finished = self._intervals.newly_completed(end)
            builder.close_open_runs(end)
            report = builder.build(
                end_time=end,
                status=status,
                agents_not_run=agents_not_run,
                agents_not_run_reasons=agents_not_run_reasons,
                pricing=self._pricer.pricing_info(),
                intervals=self._intervals.intervals(end),
                digest=digest,
            )
            self._report = report
        self._announce(finished)
        journal, self._journal = self._journal, None
        try:
            self._persist(report)
        except BaseException:
            if journal is not None:
                journal.close(delete=False)
            raise
        if journal is not None:
            journal.close(delete=True)
        if self.otel:
            warning = telemetry.export_session(report, self.requests())
            if warning is not None:
                logger.warning(warning)
        return report

    def _persist(self, report: TokenUsageReport) -> None:
        """Persist a finished report: the report file, then a session row in the user's ledger.

        Does nothing when persistence is off (``TOKEN_TRACKING_ENABLED=false``).
        """
        if not self.persist:
            return
        if self.reports_dir is not None:
            self.report_path = save_report(report, self.reports_dir)
        record_in_ledger(report, self.requests())

    # --- SDK integrations (implemented in token_tracking/integrations/*) ------------------

    def agents_hooks(self) -> Any:
        """Return an ``agents.RunHooks`` recording every model response per agent.

        Pass it as ``Runner.run(agent, input, hooks=tracker.agents_hooks())``.
        """
        # Imported here: the Agents SDK costs ~1.6 s to import; only its users pay for it.
        from token_tracking.integrations.openai_agents import make_run_hooks

        return make_run_hooks(self)

    def litellm_callback(self) -> Any:
        """Return a LiteLLM ``CustomLogger`` recording ``completion``/``acompletion`` usage.

        Add it with ``litellm.callbacks.append(tracker.litellm_callback())``; the agent name is
        taken from the request's ``metadata``.
        """
        # Imported here: litellm costs ~2.2 s to import; only its users pay for it.
        from token_tracking.integrations.litellm import make_callback

        return make_callback(self)

    def wrap_anthropic(self, client: ClientT, *, agent_name: str | None = None) -> ClientT:
        """Return ``client`` (``Anthropic`` or ``AsyncAnthropic``) with ``messages.create`` and
        ``messages.stream`` recorded under ``agent_name`` (default: the command).

        The client is changed in place; wrapping it again re-targets it to the new agent.
        Raises TypeError for an object without ``messages.create``.
        """
        # Imported here: the anthropic SDK costs ~1.2 s to import; only its users pay for it.
        from token_tracking.integrations.anthropic import wrap

        wrapped: ClientT = wrap(self, client, agent_name=agent_name)
        return wrapped

    def record_usage(
        self,
        result: object,
        *,
        operation: str | None = None,
        duration_seconds: float | None = None,
        metadata: dict[str, Any] | None = None,
        operation_type: str | None = None,
        model: str | None = None,
    ) -> RequestUsage:
        """Record the usage in any SDK result and return it, priced.

        Accepts an Agents SDK ``RunResult`` (one record per model response), an OpenAI
        ``ChatCompletion`` or ``Response``, a LiteLLM ``ModelResponse``, an Anthropic
        ``Message``, or a mapping with OpenAI- or Anthropic-style usage keys. ``operation``
        names the agent (``operation_type`` is an alias of it); ``duration_seconds`` is the
        operation's wall time. A result whose ``usage`` is None (a stream without usage) is
        one request with unknown counts; a run in which no request completed records nothing.
        Returns the sum of the records made. Raises TrackingError (UsageNotFoundError) for a
        result it cannot read, or when ``operation`` and ``operation_type`` disagree.
        """
        name = operation
        if operation_type is not None:
            if operation is not None and operation != operation_type:
                raise TrackingError(
                    f"operation={operation!r} and operation_type={operation_type!r} disagree; "
                    "give one of them"
                )
            name = operation_type
        records = usage_from_result(result, model=model)
        if not records:
            # A run in which no request completed: nothing was spent, nothing is recorded.
            return RequestUsage(timestamp=self._clock(), agent_name=name, model=model, requests=0)
        prepared: list[RequestUsage] = []
        for position, record in enumerate(records, start=1):
            update: dict[str, Any] = {}
            if name is not None:
                update["agent_name"] = name
            if metadata:
                update["metadata"] = {**record.metadata, **metadata}
            if duration_seconds is not None and position == len(records):
                # The operation ends with its last request: its start is then
                # last timestamp - duration, the agent run's start.
                update["duration_seconds"] = duration_seconds
            prepared.append(record.model_copy(update=update))
        priced = [self.record(record) for record in prepared]
        if len(priced) == 1:
            return priced[0]
        return _combined(priced, duration_seconds)

    async def arecord_usage(
        self,
        result: object,
        *,
        operation: str | None = None,
        duration_seconds: float | None = None,
        metadata: dict[str, Any] | None = None,
        operation_type: str | None = None,
        model: str | None = None,
    ) -> RequestUsage:
        """The async twin of :meth:`record_usage` (recording never blocks on the network)."""
        return self.record_usage(
            result,
            operation=operation,
            duration_seconds=duration_seconds,
            metadata=metadata,
            operation_type=operation_type,
            model=model,
        )

    # --- run-directory API ----------------------------------------------------------------

    def _require_run_dir(self) -> Path:
        if self.run_dir is None:
            raise TrackingError(
                "this tracker has no run directory: create it as TokenTracker(run_dir)"
            )
        return self.run_dir

    def log_usage(
        self,
        operation: str,
        input_tokens: int,
        output_tokens: int,
        iteration: int | None = None,
        model: str | None = None,
        cost_usd: float | None = None,
        **extras: Any,
    ) -> RequestUsage:
        """Record one operation's usage by its input and output counts and return the priced
        record.

        A given ``cost_usd`` is the actual cost and overrides the estimate. ``extras`` may give
        ``cached_tokens``, ``cache_write_tokens``, ``reasoning_tokens``, ``duration_seconds``
        and ``timestamp``; any other keyword goes into the record's metadata.
        """
        known = {key: extras.pop(key) for key in _USAGE_FIELDS if key in extras}
        timestamp = extras.pop("timestamp", None)
        metadata = dict(extras.pop("metadata", None) or {})
        metadata.update(extras)
        usage = RequestUsage(
            timestamp=self._clock() if timestamp is None else timestamp,
            agent_name=operation,
            model=model,
            prompt_tokens=input_tokens,
            completion_tokens=output_tokens,
            iteration=iteration,
            cost_usd=cost_usd,
            cost_is_actual=cost_usd is not None,
            metadata=metadata,
            **known,
        )
        return self.record(usage)

    def load_usage(self) -> list[RequestUsage]:
        """Return every record of ``run_dir/tokens.jsonl`` (all processes' lines), plus this
        session's records when persistence is off. Raises TrackingError without a run_dir."""
        records = read_usage(self._require_run_dir())
        with self._lock:
            return records + list(self._unwritten)

    def calculate_stats(self, run_id: str | None = None, phase: str | None = None) -> RunTokenStats:
        """Return the statistics of the run directory: totals per iteration and per operation.

        Actual costs are kept; other lines are estimated with this tracker's price book.
        ``run_id`` / ``phase`` default to ``run.json``'s, else the directory's name / None.
        Raises TrackingError without a run_dir.
        """
        run_dir = self._require_run_dir()
        records = self.load_usage()
        run = read_run_json(run_dir) or {}
        if run_id is None:
            run_id = run_id_of(run_dir, run)
        if phase is None and run.get("phase") is not None:
            phase = str(run["phase"])
        with self._lock:
            priced = estimate(records, self._pricer)
        return compute_stats(priced, run_id, phase)

    def save_summary(self, stats: RunTokenStats) -> Path:
        """Write ``stats`` to ``run_dir/token_summary.json`` (and ``run.json``'s ``tokens`` block
        when run.json exists); return the summary's path. Raises TrackingError without run_dir."""
        return summary.save_summary(self._require_run_dir(), stats)

    def print_summary(self, stats: RunTokenStats, console: Console | None = None) -> None:
        """Print the run summary of ``stats`` (default: to stdout)."""
        summary.print_summary(stats, Console() if console is None else console)

    def _refresh_run_json(self) -> None:
        run_dir = self._require_run_dir()
        if (run_dir / RUN_FILE).is_file():
            update_run_json(run_dir, self.calculate_stats())


def _combined(records: Sequence[RequestUsage], duration_seconds: float | None) -> RequestUsage:
    """Return one record summing ``records`` (what ``record_usage`` returns for a RunResult)."""
    last = records[-1]
    models = {record.model for record in records}
    costs = [record.cost_usd for record in records]
    return RequestUsage(
        timestamp=last.timestamp,
        agent_name=last.agent_name,
        model=models.pop() if len(models) == 1 else None,
        prompt_tokens=sum_known(r.prompt_tokens for r in records),
        completion_tokens=sum_known(r.completion_tokens for r in records),
        cached_tokens=sum_known(r.cached_tokens for r in records),
        cache_write_tokens=sum_known(r.cache_write_tokens for r in records),
        reasoning_tokens=sum_known(r.reasoning_tokens for r in records),
        requests=sum(r.requests for r in records),
        duration_seconds=duration_seconds,
        # One unknown cost makes the sum unknown rather than quietly too low.
        cost_usd=sum_exact(costs),
        cost_is_actual=all(r.cost_is_actual for r in records),
        iteration=last.iteration,
        metadata=last.metadata,
    )
