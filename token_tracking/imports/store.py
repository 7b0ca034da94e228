"""Writing imported requests into the ledger: one row per request, once, across imports.

Every imported row carries its request key (``usage_rows.dedup_key``, unique). A line whose key
is already recorded is a duplicate: a streaming snapshot with larger usage replaces the recorded
row's counts, anything else changes nothing; a sidechain line that replays a recorded request is
dropped. Each agent session is one ledger session (id = the agent's session id) whose totals,
agent runs (one per model) and stored report are recomputed from its rows whenever it grows.
Where each file was read up to is kept in ``import_files``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from pricing import PriceBook, Usage
from token_tracking.counts import sum_known
from token_tracking.history import rows
from token_tracking.history.clock import from_us, utc_now
from token_tracking.history.database import Database
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.imports.model import SIDECHAIN_REPLAY, ImportSummary, Problems, Request
from token_tracking.records import AgentUsage, GitInfo, ReportSource
from token_tracking.reports.build import tool_version
from token_tracking.reports.file import SCHEMA_VERSION as REPORT_SCHEMA_VERSION
from token_tracking.reports.file import TokenUsageReport

IMPORT_COMMAND = "import"
"""The ``command`` of imported sessions (their ``source`` names the agent)."""

UNKNOWN_PROJECT = "(unknown project)"
"""The project of requests whose log names no working folder."""

LOOKUP_CHUNK = 500
"""Request keys looked up per query."""

COST_MEMO = 50_000
"""Distinct (model, counts) costs remembered (agents repeat the same counts often); the memo is
emptied when full, so it never grows with the logs."""

_UNSEEN = -1.0
"""Marks a cost not yet in the memo (by identity; no cost is negative)."""

_ROW_COLUMNS = (
    "session_pk",
    "context_id",
    "ts_us",
    "agent",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost_usd",
    "dedup_key",
    "reported_cost_usd",
)
"""The ``usage_rows`` columns of an imported row's values, in the order of the value tuples."""

_NULLABLE = (4, 7, 8, 9, 11, 13)
"""Positions in the value tuple of the values that may be ``None``: model, cached, cache write,
reasoning, cost and reported cost."""

_ROW_CONSTANTS = (
    "iteration, requests, cost_is_actual, duration_seconds, metadata, note, derived",
    "NULL, 1, 0, NULL, NULL, NULL, 0",
)
"""The columns every imported row has the same value in, and those values."""


ROWS_PER_INSERT = 64
"""Rows written by one multi-row INSERT: one statement per row opens and closes the table's and
each index's cursors every time, which costs a third of the insert; 64 rows of at most 14 values
stay under 999 parameters, the smallest limit an SQLite build may have."""


@dataclass(frozen=True, slots=True)
class _Insert:
    """How rows with the same values unknown are written (see :func:`_insert_for`)."""

    one: str
    """The INSERT of one row."""
    many: str
    """The INSERT of :data:`ROWS_PER_INSERT` rows."""
    pick: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None
    """Drops the unknown values from a value tuple; ``None`` when none is unknown."""


@cache
def _insert_for(nulls: tuple[bool, ...]) -> _Insert:
    """The INSERTs of rows whose values at :data:`_NULLABLE` are ``None`` where ``nulls`` says,
    with ``NULL`` written in the statement for those instead of a parameter.

    Python's sqlite3 binds a ``None`` parameter through its adaptation protocol, which raises
    and clears two AttributeErrors each time; a ``NULL`` in the statement costs nothing.
    """
    dropped = {position for position, null in zip(_NULLABLE, nulls, strict=True) if null}
    marks = ["NULL" if position in dropped else "?" for position in range(len(_ROW_COLUMNS))]
    head = f"INSERT INTO usage_rows ({', '.join(_ROW_COLUMNS)}, {_ROW_CONSTANTS[0]}) VALUES "
    row = f"({', '.join(marks)}, {_ROW_CONSTANTS[1]})"
    kept = [position for position in range(len(_ROW_COLUMNS)) if position not in dropped]
    return _Insert(
        one=head + row,
        many=head + ", ".join([row] * ROWS_PER_INSERT),
        pick=itemgetter(*kept) if dropped else None,
    )


_REPLACE_ROW = """
    UPDATE usage_rows SET model = ?, prompt_tokens = ?, completion_tokens = ?, cached_tokens = ?,
        cache_write_tokens = ?, reasoning_tokens = ?, total_tokens = ?, cost_usd = ?,
        reported_cost_usd = ?
    WHERE id = ?
"""

_UPDATE_SESSION = """
    UPDATE sessions SET session_id = ?, project = ?, project_remote = ?, command = ?, model = ?,
        source = ?, status = ?, start_us = ?, end_us = ?, duration_seconds = ?, branch = ?,
        git_commit = ?, user = ?, prompt_tokens = ?, completion_tokens = ?, total_tokens = ?,
        cached_tokens = ?, cache_write_tokens = ?, reasoning_tokens = ?, requests = ?,
        cost_usd = ?, priced_coverage = ?, successful_agents = ?, failed_agents = ?, note = ?,
        report_json = ?, unknown_usage_requests = ?
    WHERE id = ?
"""


@dataclass(frozen=True)
class FileRecord:
    """Where a log file was read up to by an earlier import."""

    source: str
    """The file's format."""
    identity: str
    """``device:inode`` of the file then: a different one means the file was replaced."""
    size: int
    """Its size then."""
    mtime_ns: int
    """Its modification time then."""
    offset: int
    """Offset just after the last complete line read."""
    state: dict[str, Any]
    """The reader's state at that offset (line count, Codex's model and totals …)."""


def file_record(ledger: Ledger, path: Path) -> FileRecord | None:
    """Return where an earlier import left ``path``, or ``None``."""
    return _file_record(ledger.connection, path)


def _file_record(db: Database, path: Path) -> FileRecord | None:
    row = db.execute(
        "SELECT source, identity, size, mtime_ns, read_offset, state FROM import_files "
        "WHERE path = ?",
        (str(path),),
    ).fetchone()
    if row is None:
        return None
    state = json.loads(row[5]) if row[5] else {}
    return FileRecord(row[0], row[1], row[2], row[3], row[4], state)


@dataclass(frozen=True, slots=True)
class _Recorded:
    row_id: int
    total: int
    prompt: int
    completion: int
    cached: int | None
    cache_write: int | None
    reasoning: int | None
    cost: float | None


class ImportStore:
    """Writes one import's requests into an open ledger and counts what it added."""

    def __init__(
        self, ledger: Ledger, pricebook: PriceBook, summary: ImportSummary, problems: Problems
    ) -> None:
        self._ledger = ledger
        self._db = ledger.connection
        self._pricebook = pricebook
        self.summary = summary
        self._problems = problems
        self._sessions: dict[str, int] = {}
        self._projects: dict[str | None, str] = {}
        self._who = rows.recorder()
        self._touched: dict[int, str] = {}
        self._ids: dict[tuple[str, str | None, str | None, str], tuple[int, int]] = {}
        self._unpriced: set[str | None] = set()
        self._costs: dict[
            tuple[str | None, int, int, int | None, int | None, int | None], float | None
        ]
        self._costs = {}
        self._cost_sum = 0.0
        self._cost_known = False
        self._sums = [0, 0, 0, 0, 0]
        self._requests = 0
        self._duplicates = 0

    # -- transactions -------------------------------------------------------------------------

    def begin(self) -> None:
        """Take the ledger's write lock (waiting on its busy timeout)."""
        self._db.execute("BEGIN IMMEDIATE")

    def end(self, *, keep: bool) -> None:
        """Finish the touched sessions, then commit (``keep``) or roll back."""
        if keep:
            self._finish_sessions()
            self._db.execute("COMMIT")
            self._ledger.commit_contexts()
        else:
            self._db.execute("ROLLBACK")
            self._ledger.forget_pending_contexts()
        self._touched.clear()
        if not keep:
            self._sessions.clear()
            self._ids.clear()

    def abort(self) -> None:
        """Roll back after a failure."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._touched.clear()
        self._ledger.forget_pending_contexts()
        self._sessions.clear()
        self._ids.clear()

    # -- files --------------------------------------------------------------------------------

    def file_record(self, path: Path) -> FileRecord | None:
        """Return where an earlier import left ``path``, or ``None``."""
        return _file_record(self._db, path)

    def save_file(self, path: Path, record: FileRecord) -> None:
        """Remember where ``path`` was read up to (inside the current transaction)."""
        self._db.execute(
            # An upsert rather than INSERT OR REPLACE: it means the same on PostgreSQL.
            "INSERT INTO import_files "
            "(path, source, identity, size, mtime_ns, read_offset, state, imported_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET source = excluded.source, "
            "identity = excluded.identity, size = excluded.size, mtime_ns = excluded.mtime_ns, "
            "read_offset = excluded.read_offset, state = excluded.state, "
            "imported_at = excluded.imported_at",
            (
                str(path),
                record.source,
                record.identity,
                record.size,
                record.mtime_ns,
                record.offset,
                json.dumps(record.state, sort_keys=True),
                utc_now().isoformat(),
            ),
        )

    # -- requests -----------------------------------------------------------------------------

    def add(self, batch: Sequence[Request]) -> None:
        """Record a batch of requests (in log order): new ones inserted, larger snapshots
        replacing recorded ones, duplicates and sidechain replays counted."""
        pending: dict[str, Request] = {}
        for request in batch:
            key = request.key
            earlier = pending.get(key)
            if earlier is None:
                pending[key] = request
            elif request.sidechain:
                self._problems.skip(SIDECHAIN_REPLAY)
            else:
                self._duplicates += 1
                if request.total_tokens > earlier.total_tokens:
                    pending[key] = request
        recorded = self._recorded(list(pending))
        new: Iterable[Request] = pending.values()
        if recorded:
            new = []
            for key, request in pending.items():
                old = recorded.get(key)
                if old is None:
                    new.append(request)
                elif request.sidechain:
                    self._problems.skip(SIDECHAIN_REPLAY)
                else:
                    self._duplicates += 1
                    if request.total_tokens > old.total:
                        self._replace(old, request)
        for nulls, values in self._rows(new):
            self._insert(_insert_for(nulls), values)

    def _insert(self, insert: _Insert, values: list[tuple[Any, ...]]) -> None:
        """Write rows in log order: by :data:`ROWS_PER_INSERT`, the rest one by one."""
        if insert.pick is not None:
            values = list(map(insert.pick, values))
        whole = len(values) - len(values) % ROWS_PER_INSERT
        if whole:
            self._db.executemany(
                insert.many,
                [
                    tuple(chain.from_iterable(values[start : start + ROWS_PER_INSERT]))
                    for start in range(0, whole, ROWS_PER_INSERT)
                ],
            )
        if whole < len(values):
            self._db.executemany(insert.one, values[whole:])

    def _recorded(self, keys: list[str]) -> dict[str, _Recorded]:
        found: dict[str, _Recorded] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                "SELECT dedup_key, id, total_tokens, prompt_tokens, completion_tokens, "
                "cached_tokens, cache_write_tokens, reasoning_tokens, cost_usd FROM usage_rows "
                f"WHERE dedup_key IN ({marks})",
                chunk,
            ):
                found[row[0]] = _Recorded(*row[1:])
        return found

    def _cost(self, request: Request) -> float | None:
        model = request.model
        if model is None:
            self._unpriced.add(None)
            return None
        counts = (
            model,
            request.prompt_tokens,
            request.completion_tokens,
            request.cached_tokens,
            request.cache_write_tokens,
            request.reasoning_tokens,
        )
        costs = self._costs
        if counts in costs:
            cost = costs[counts]
        else:
            breakdown = self._pricebook.try_cost(model, Usage(*counts[1:]))
            cost = None if breakdown is None else breakdown.total
            if len(costs) >= COST_MEMO:
                costs.clear()
            costs[counts] = cost
        if cost is None:
            self._unpriced.add(model)
        return cost

    def _count(self, request: Request, cost: float | None, sign: int = 1) -> None:
        # Plain integers on the hot path; the summary model is filled once, by flush(). An
        # unknown part count adds nothing to the sums.
        sums = self._sums
        sums[0] += sign * request.prompt_tokens
        sums[1] += sign * request.completion_tokens
        cached, written, reasoning = (
            request.cached_tokens,
            request.cache_write_tokens,
            request.reasoning_tokens,
        )
        if cached is not None:
            sums[2] += sign * cached
        if written is not None:
            sums[3] += sign * written
        if reasoning is not None:
            sums[4] += sign * reasoning
        if cost is not None:
            self._cost_sum += sign * cost
            self._cost_known = True

    def flush(self) -> ImportSummary:
        """Write the counts so far into the summary and return it."""
        summary = self.summary
        summary.requests = self._requests
        summary.duplicates = self._duplicates
        (
            summary.prompt_tokens,
            summary.completion_tokens,
            summary.cached_tokens,
            summary.cache_write_tokens,
            summary.reasoning_tokens,
        ) = self._sums
        summary.cost_usd = self._cost_sum if self._cost_known else None
        return summary

    def _rows(
        self, requests: Iterable[Request]
    ) -> list[tuple[tuple[bool, ...], list[tuple[Any, ...]]]]:
        """The ``usage_rows`` values of new requests, counted into the summary, in runs of
        consecutive rows with the same values unknown (see :func:`_insert_for`)."""
        # One pass with local names (the counts summed in the same order as one by one): this
        # runs once per new request, the import's hot path.
        ids = self._ids
        touched = self._touched
        costs = self._costs
        unpriced = self._unpriced
        runs: list[tuple[tuple[bool, ...], list[tuple[Any, ...]]]] = []
        run: list[tuple[Any, ...]] = []
        run_nulls: tuple[bool, ...] = ()
        count = 0
        sums = self._sums
        prompt_sum, completion_sum, cached_sum, written_sum, reasoning_sum = sums
        cost_sum = self._cost_sum
        cost_known = self._cost_known
        for request in requests:
            source = request.source
            where = (request.session_id, request.cwd, request.branch, source)
            pair = ids.get(where)
            if pair is None:
                pair = ids[where] = (self._session_pk(request), self._context_id(request))
            session_pk, context = pair
            touched[session_pk] = source
            model = request.model
            prompt = request.prompt_tokens
            completion = request.completion_tokens
            cached = request.cached_tokens
            written = request.cache_write_tokens
            reasoning = request.reasoning_tokens
            cost = costs.get((model, prompt, completion, cached, written, reasoning), _UNSEEN)
            if cost is _UNSEEN:
                cost = self._cost(request)
            elif cost is None:
                unpriced.add(model)
            prompt_sum += prompt
            completion_sum += completion
            if cached is not None:
                cached_sum += cached
            if written is not None:
                written_sum += written
            if reasoning is not None:
                reasoning_sum += reasoning
            if cost is not None:
                cost_sum += cost
                cost_known = True
            reported = request.reported_cost_usd
            nulls = (
                model is None,
                cached is None,
                written is None,
                reasoning is None,
                cost is None,
                reported is None,
            )
            if nulls != run_nulls:
                run = []
                runs.append((nulls, run))
                run_nulls = nulls
            count += 1
            run.append(
                (
                    session_pk,
                    context,
                    request.ts_us,
                    source,
                    model,
                    prompt,
                    completion,
                    cached,
                    written,
                    reasoning,
                    prompt + completion,
                    cost,
                    request.key,
                    reported,
                )
            )
        sums[:] = prompt_sum, completion_sum, cached_sum, written_sum, reasoning_sum
        self._cost_sum = cost_sum
        self._cost_known = cost_known
        self._requests += count
        return runs

    def _replace(self, old: _Recorded, request: Request) -> None:
        cost = self._cost(request)
        self._db.execute(
            _REPLACE_ROW,
            (
                request.model,
                request.prompt_tokens,
                request.completion_tokens,
                request.cached_tokens,
                request.cache_write_tokens,
                request.reasoning_tokens,
                request.total_tokens,
                cost,
                request.reported_cost_usd,
                old.row_id,
            ),
        )
        self._count(request, cost)
        previous = Request(
            key=request.key,
            source=request.source,
            session_id=request.session_id,
            ts_us=request.ts_us,
            model=request.model,
            cwd=None,
            branch=None,
            prompt_tokens=old.prompt,
            completion_tokens=old.completion,
            cached_tokens=old.cached,
            cache_write_tokens=old.cache_write,
            reasoning_tokens=old.reasoning,
        )
        self._count(previous, old.cost, sign=-1)
        pk = self._db.execute("SELECT session_pk FROM usage_rows WHERE id = ?", (old.row_id,))
        self._touched[int(pk.fetchone()[0])] = request.source

    @property
    def unpriced_models(self) -> set[str | None]:
        """Models of the requests recorded without a cost (``None``: the log named no model)."""
        return self._unpriced

    # -- sessions and contexts ----------------------------------------------------------------

    def _project(self, cwd: str | None) -> str:
        project = self._projects.get(cwd)
        if project is None:
            project = project_key(Path(cwd)) if cwd is not None else UNKNOWN_PROJECT
            self._projects[cwd] = project
        return project

    def _context_id(self, request: Request) -> int:
        user, machine = self._who
        fields = {
            "project": self._project(request.cwd),
            "branch": request.branch,
            "user": user,
            "command": IMPORT_COMMAND,
            "source": request.source,
            "machine": machine,
        }
        return self._ledger.context_id_for(fields)

    def _session_pk(self, request: Request) -> int:
        pk = self._sessions.get(request.session_id)
        if pk is None:
            row = self._db.execute(
                "SELECT id, source FROM sessions WHERE session_id = ?", (request.session_id,)
            ).fetchone()
            if row is not None and row[1] != request.source:
                # Another source's session has this id: keep the two apart.
                request.session_id = f"{request.source}:{request.session_id}"
                return self._session_pk(request)
            if row is not None:
                pk = int(row[0])
            else:
                project = self._project(request.cwd)
                report = _session_report(request, project, self._who[0], [])
                cursor = self._db.execute(
                    rows.INSERT_SESSION, rows.session_values(report, project, None)
                )
                pk = int(cursor.lastrowid or 0)
            self._sessions[request.session_id] = pk
        self._touched[pk] = request.source
        return pk

    def _finish_sessions(self) -> None:
        """Recompute each touched session's totals, agent runs and stored report from its rows."""
        for pk in self._touched:
            head = self._db.execute(
                "SELECT s.session_id, s.project, s.branch, s.user, s.source FROM sessions s "
                "WHERE s.id = ?",
                (pk,),
            ).fetchone()
            per_model = self._db.execute(
                """
                SELECT model, MIN(ts_us), MAX(ts_us), SUM(prompt_tokens), SUM(completion_tokens),
                       SUM(cached_tokens), SUM(cache_write_tokens), SUM(reasoning_tokens),
                       SUM(requests), SUM(cost_usd), COUNT(*) - COUNT(cost_usd),
                       SUM(CASE WHEN cost_usd IS NOT NULL THEN total_tokens END)
                FROM usage_rows WHERE session_pk = ? GROUP BY model ORDER BY MIN(ts_us)
                """,
                (pk,),
            ).fetchall()
            report = _rebuilt_report(head, per_model)
            values = rows.session_values(report, head[1], None)
            self._db.execute(_UPDATE_SESSION, (*values, pk))
            self._db.execute("DELETE FROM agent_runs WHERE session_pk = ?", (pk,))
            self._db.executemany(
                rows.INSERT_AGENT_RUN,
                [
                    rows.agent_values(pk, position, agent)
                    for position, agent in enumerate(report.agent_usage)
                ],
            )


def _session_report(
    request: Request, project: str, user: str | None, agents: list[AgentUsage]
) -> TokenUsageReport:
    moment = from_us(request.ts_us)
    return TokenUsageReport(
        session_id=request.session_id,
        project_path=project,
        model=request.model,
        command=IMPORT_COMMAND,
        start_time=moment,
        end_time=moment,
        total_duration_seconds=0.0,
        successful_agents=len(agents),
        agent_usage=agents,
        schema_version=REPORT_SCHEMA_VERSION,
        source=cast(ReportSource, request.source),
        git=GitInfo(branch=request.branch, user_email=user),
        tool_version=_version(),
    )


@cache
def _version() -> str | None:
    return tool_version()


def _rebuilt_report(head: Sequence[Any], per_model: list[Any]) -> TokenUsageReport:
    session_id, project, branch, user, source = head
    agents: list[AgentUsage] = []
    prompt_sum = completion_sum = requests_sum = priced = 0
    for (
        model,
        first,
        last,
        prompt,
        completion,
        cached,
        write,
        reasoning,
        count,
        cost,
        _,
        p,
    ) in per_model:
        agents.append(
            AgentUsage(
                agent_name=source,
                model=model,
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=prompt + completion,
                cached_tokens=cached,
                cache_write_tokens=write,
                reasoning_tokens=reasoning,
                requests=count,
                cost_usd=cost,
                start_time=from_us(first),
                end_time=from_us(last),
                duration_seconds=(last - first) / 1e6,
                success=True,
            )
        )
        prompt_sum += prompt
        completion_sum += completion
        requests_sum += count
        priced += p if p is not None else 0
    start = min(row[1] for row in per_model)
    end = max(row[2] for row in per_model)
    total = prompt_sum + completion_sum
    models = [agent.model for agent in agents if agent.model is not None]
    return TokenUsageReport(
        session_id=session_id,
        project_path=project,
        model=models[-1] if models else None,
        command=IMPORT_COMMAND,
        start_time=from_us(start),
        end_time=from_us(end),
        total_duration_seconds=(end - start) / 1e6,
        total_prompt_tokens=prompt_sum,
        total_completion_tokens=completion_sum,
        total_tokens=total,
        total_cost_usd=sum_known(agent.cost_usd for agent in agents),
        total_cached_tokens=sum_known(agent.cached_tokens for agent in agents),
        total_cache_write_tokens=sum_known(agent.cache_write_tokens for agent in agents),
        total_reasoning_tokens=sum_known(agent.reasoning_tokens for agent in agents),
        total_requests=requests_sum,
        successful_agents=len(agents),
        agent_usage=agents,
        schema_version=REPORT_SCHEMA_VERSION,
        source=cast(ReportSource, source),
        git=GitInfo(branch=branch, user_email=user),
        priced_coverage=priced / total if total else None,
        tool_version=_version(),
    )
