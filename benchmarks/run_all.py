"""Run every benchmark, each figure beside a baseline measured in the same run, and write
``docs/performance.md``.

Every target is a ratio, because absolute times move with the machine and its load: a command's
start-up against a bare ``python -c pass``; ``tokens`` over 10,000 reports against ``tokens``
over 100; recording a request for an unpriced model against a priced one; pricing against
``litellm.cost_per_token``; ``update --offline`` against the same command of commit 605a592 (its
tree is extracted into a temporary folder with ``git archive``); ledger inserts and ``trends``
against plain ``sqlite3`` over the same schema and rows. A process's figure is its wall time, the
median of ``--repeat`` runs (at least 15), the processes of one figure and of its baseline
interleaved so that a change in load touches both; the ratio of their CPU times (user + system) is
shown beside it, steadier on a busy machine. The load average and the number of cores are printed
and written with the table.

Each figure is printed as it is measured, then the table is written to ``docs/performance.md``
(``--output`` elsewhere, ``--no-write`` not at all) with, for each figure: value, baseline,
ratio, target and whether it holds; figures that fall short are listed at the end. Nothing is
asserted: the tests never depend on timing.

The benchmarks other helpers own are run after the table when present, and their output is
appended to the page verbatim (``OTHER_SCRIPTS``): the digest of a large repository against
605a592's, the coding-agent import against a ``json.loads`` loop, the ledger on PostgreSQL beside
SQLite, the generation pipeline and the memory bank's quality.

Run: ``python benchmarks/run_all.py [--repeat 15] [--rows 1000000] [--only startup,listing,...]``
(sections: startup, listing, record, pricing, offline, ledger, others).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # tests/ (pricing parity helpers) is not installed
sys.path.insert(0, str(HERE))  # the other benchmark scripts, run as scripts, are no package

from bench_digest import commit_all, extract  # noqa: E402

BASE_COMMIT = "605a592"
"""The commit the ``update --offline`` figures compare with."""

EXECUTABLE = shutil.which("memory-banker", path=str(Path(sys.executable).parent)) or "memory-banker"
SECTIONS = ("startup", "listing", "record", "pricing", "offline", "ledger", "others")
OTHER_SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("bench_digest.py", "--only", "digest", "--runs", "9"),
    ("bench_import.py", "--repeat", "3"),
    ("bench_team_ledger.py",),
    ("bench_pipeline.py",),
    ("bench_bank_quality.py",),
)
"""The scripts whose output is appended to the page, each with its arguments; each prints its own
figures beside their baselines and targets."""


@dataclass(frozen=True)
class Figure:
    """One row of the table: a measured value beside its baseline, and the target on their ratio."""

    name: str
    value: str
    baseline: str
    ratio: float
    target: str
    holds: bool

    def line(self) -> str:
        mark = "yes" if self.holds else "NO"
        return (
            f"| {self.name} | {self.value} | {self.baseline} | {self.ratio:.2f}x "
            f"| {self.target} | {mark} |"
        )


def at_most(
    name: str, value: float, baseline: float, unit: str, bound: float, against: str
) -> Figure:
    """A figure whose ratio value / baseline must stay at or below ``bound``."""
    ratio = value / baseline
    return Figure(
        name,
        _fmt(value, unit),
        f"{_fmt(baseline, unit)} ({against})",
        ratio,
        f"≤ {bound:g}x",
        ratio <= bound,
    )


def at_least(
    name: str, value: float, baseline: float, unit: str, bound: float, against: str
) -> Figure:
    """A figure whose speed-up baseline / value must reach ``bound`` (both are times)."""
    ratio = baseline / value
    return Figure(
        name,
        _fmt(value, unit),
        f"{_fmt(baseline, unit)} ({against})",
        ratio,
        f"≥ {bound:g}x",
        ratio >= bound,
    )


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1e3:,.0f} ms" if value < 10 else f"{value:,.1f} s"
    if unit == "us":
        return f"{value * 1e6:,.2f} µs"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "MiB":
        return f"{value / 2**20:,.0f} MiB"
    return f"{value:g} {unit}"


def report(figure: Figure) -> Figure:
    print(
        f"  {figure.name}: {figure.value} vs {figure.baseline} = {figure.ratio:.2f}x "
        f"(target {figure.target}: {'holds' if figure.holds else 'SHORT'})",
        flush=True,
    )
    return figure


# --- processes ------------------------------------------------------------------------------------


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of measured processes: byte-code compiled once into a temporary prefix
    (as an installed copy loads it), the ledger in a temporary folder."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra or {})
    return env


def run_once(command: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run; raises when the command fails (an error
    path is not a figure)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        # No timeout: with one, the wait polls in steps of up to 50 ms, which rounds every
        # start-up time up to the next step.
    )
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved(
    commands: dict[str, Sequence[str]], cwd: Path, env: dict[str, str], repeat: int
) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of each command over ``repeat`` rounds, one run of each per
    round (after one untimed warm-up run each)."""
    for command in commands.values():
        run_once(command, cwd, env)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            times[name].append(run_once(command, cwd, env))
    return {
        name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for name, runs in times.items()
    }


def process_figure(
    name: str,
    value: tuple[float, float],
    baseline: tuple[float, float],
    bound: float,
    against: str,
) -> Figure:
    """A process figure on wall time, with the ratio of CPU times beside it; it holds only when
    both ratios do (on a busy machine the bare baseline waits for a core too, which flatters the
    wall-time ratio)."""
    figure = at_most(name, value[0], baseline[0], "s", bound, against)
    cpu = value[1] / baseline[1]
    return replace(
        figure, value=f"{figure.value} (CPU {cpu:.2f}x)", holds=figure.holds and cpu <= bound
    )


def peak_rss(command: Sequence[str], cwd: Path, env: dict[str, str]) -> int:
    """Peak resident memory in bytes of one run of ``command`` (measured in a fresh parent, as
    the children's peak of this process only grows)."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,"
        " check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return int(done.stdout.split()[-1]) * 1024


# --- sections -------------------------------------------------------------------------------------


def startup_and_listing(repeat: int, scratch: Path, sections: set[str]) -> list[Figure]:
    """CLI start-up against ``python -c pass``, and ``tokens`` over 10,000 reports against 100."""
    from bench_tokens_cli import populate

    env = child_environment(
        {
            "PYTHONPYCACHEPREFIX": str(scratch / "pycache"),
            "TOKEN_TRACKING_DB_PATH": str(scratch / "ledger.sqlite3"),
        }
    )
    projects: dict[int, Path] = {}
    for count in (100, 1_000, 10_000):
        project = scratch / f"reports-{count}"
        project.mkdir()
        populate(project, count)
        projects[count] = project
        run_once([EXECUTABLE, "--project-path", str(project), "tokens"], scratch, env)
    # The index trusts no file modified within 2 s of its writing: let the reports age first.
    time.sleep(2.5)

    def cli(count: int, *args: str) -> list[str]:
        return [EXECUTABLE, "--project-path", str(projects[count]), *args]

    figures: list[Figure] = []
    if "startup" in sections:
        print(f"Start-up, median of {repeat} interleaved runs", flush=True)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "--version": [EXECUTABLE, "--version"],
            "--help": [EXECUTABLE, "--help"],
            "tokens (1,000 reports)": cli(1_000, "tokens"),
            "tokens --list-all (1,000 reports)": cli(1_000, "tokens", "--list-all"),
            "tokens check (1,000 reports)": cli(1_000, "tokens", "check", "--max-cost", "1000"),
            "pricing show gpt-4o-mini": [EXECUTABLE, "pricing", "show", "gpt-4o-mini"],
        }
        times = interleaved(commands, scratch, env, repeat)
        bare = times.pop("python -c pass")
        for name, measured in times.items():
            bound = 4.0 if name in ("--version", "--help") else 6.0
            figures.append(
                report(
                    process_figure(
                        f"`memory-banker {name}`", measured, bare, bound, "`python -c pass`"
                    )
                )
            )
    if "listing" in sections:
        print(f"Latest report over many reports, median of {repeat} interleaved runs", flush=True)
        times = interleaved(
            {"100": cli(100, "tokens"), "10000": cli(10_000, "tokens")}, scratch, env, repeat
        )
        figures.append(
            report(
                process_figure(
                    "`tokens` with 10,000 reports",
                    times["10000"],
                    times["100"],
                    1.1,
                    "`tokens` with 100",
                )
            )
        )
    return figures


def record(repeat: int, scratch: Path) -> list[Figure]:
    """``TokenTracker.record`` per request: an unpriced model against a priced one."""
    from rich.console import Console

    from token_tracking import TokenTracker
    from token_tracking.records import RequestUsage

    print(f"Recording one request, median of {repeat} passes of 500", flush=True)
    logging.disable(logging.WARNING)  # the unpriced model's one warning
    moment = datetime(2026, 1, 1, tzinfo=UTC)

    def per_request(model: str, folder: Path) -> float:
        tracker = TokenTracker(
            reports_dir=folder / "reports",
            project_path=folder,
            interval_console=Console(file=io.StringIO()),
        )
        requests = [
            RequestUsage(
                agent_name="writer",
                prompt_tokens=1_000,
                completion_tokens=100,
                model=model,
                timestamp=moment,
            )
            for _ in range(501)
        ]
        tracker.record(requests[0])  # the first one of a model warns and resolves it
        began = time.perf_counter()
        for request in requests[1:]:
            tracker.record(request)
        return (time.perf_counter() - began) / 500

    priced: list[float] = []
    unpriced: list[float] = []
    for number in range(repeat):
        priced.append(per_request("gpt-4o-mini", scratch / f"priced-{number}"))
        unpriced.append(per_request("gpt-4o-mini-typo", scratch / f"unpriced-{number}"))
    logging.disable(logging.NOTSET)
    return [
        report(
            at_most(
                "record a request, unpriced model",
                statistics.median(unpriced),
                statistics.median(priced),
                "us",
                2.0,
                "priced model",
            )
        )
    ]


POPULAR_AS_WRITTEN = (
    "GPT-4o-mini",
    "openai/gpt-4o",
    "gpt-4o-2024-08-06",
    "OpenAI/GPT-4.1-mini",
    "gpt-4.1",
    "o3-mini",
    "anthropic/claude-3-5-sonnet-20241022",
    "Claude-3-Haiku",
    "claude-sonnet-4-5",
    "anthropic/claude-3-5-haiku-latest",
    "gemini/gemini-1.5-pro",
    "Gemini-2.0-Flash",
    "deepseek/deepseek-chat",
    "mistral/mistral-large-latest",
    "groq/llama3-70b-8192",
    "GPT-4-TURBO",
    "gpt-3.5-turbo-0125",
    "azure/gpt-4o-mini",
)
"""Names as users type them into configs: provider-prefixed, dated, upper-case."""


def pricing_figures(repeat: int) -> list[Figure]:
    """Resolve + cost against ``litellm.cost_per_token``: over the chat table, and over popular
    names as written with the name cache cleared before each call.

    A pass of ours over the 10,000 pairs takes milliseconds, LiteLLM's seconds: ours is timed
    before and after LiteLLM's passes and the best pass kept (as for LiteLLM), so that a burst of
    load from another process during one short stretch does not decide the figure. The popular
    names are timed in interleaved rounds, each round long enough (tens of milliseconds) for the
    clock and a stray context switch not to matter; the figure is the median round."""
    from bench_pricing import draw_pairs, time_litellm, time_ours

    from pricing import PriceBook, Usage, load_table
    from tests.pricing.test_pricing_parity import litellm_usage

    print("Pricing against litellm.cost_per_token", flush=True)
    pairs = draw_pairs(10_000)
    passes = max(5, repeat // 3)
    before = time_ours(pairs, passes)
    theirs = time_litellm(pairs, max(3, repeat // 5))
    after = time_ours(pairs, passes)
    first, memoized = min(before[0], after[0]), min(before[1], after[1])
    figures = [
        report(
            at_least(
                f"resolve + cost, 10,000 pairs over the chat table ({label})",
                ours / len(pairs),
                theirs / len(pairs),
                "us",
                100.0,
                "`litellm.cost_per_token`",
            )
        )
        for label, ours in (("names resolved", first), ("names memoized", memoized))
    ]
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # Imported here only: the reference measured against, not a dependency of the packages.
    import litellm

    litellm.suppress_debug_info = True
    book = PriceBook(load_table())
    usage = Usage(prompt_tokens=10_000, completion_tokens=2_000, cached_tokens=4_000)
    block = litellm_usage(usage)

    def litellm_cost(name: str) -> object:
        return litellm.cost_per_token(
            model=name,
            usage_object=block,
            prompt_tokens=10_000,
            completion_tokens=2_000,
        )

    # The names both sides price as written (LiteLLM refuses upper-case names, for one).
    calls = []
    for name in POPULAR_AS_WRITTEN:
        if book.lookup(name) is None:
            continue
        try:
            litellm_cost(name)
        except Exception:  # any refusal of LiteLLM's: the name is left out of the comparison
            continue
        calls.append(name)
    ours: list[float] = []
    reference: list[float] = []
    ours_loops, reference_loops = 500, 20  # about as long a round each
    for _ in range(repeat):
        began = time.perf_counter()
        for _ in range(ours_loops):
            for name in calls:
                book._memo.clear()  # the name cache cleared: every call resolves the name again
                book.cost(name, usage)
        ours.append((time.perf_counter() - began) / ours_loops)
        began = time.perf_counter()
        for _ in range(reference_loops):
            for name in calls:
                litellm_cost(name)
        reference.append((time.perf_counter() - began) / reference_loops)
    figures.append(
        report(
            at_least(
                f"resolve + cost, {len(calls)} popular names as written, cache cleared",
                statistics.median(ours) / len(calls),
                statistics.median(reference) / len(calls),
                "us",
                25.0,
                "`litellm.cost_per_token`, same names",
            )
        )
    )
    return figures


def offline(repeat: int, scratch: Path) -> list[Figure]:
    """Cold ``update --offline`` on a copy of this repository, against commit 605a592's.

    The current run imports this work tree (the editable install) and the base run the extracted
    605a592 tree (first on ``PYTHONPATH``); both run with ``-P`` from the scratch folder, because
    ``-m`` would otherwise put the working directory first on ``sys.path``. Which code each run
    imports is printed before the figures. Each run has an empty cache folder (cold)."""
    runs = max(9, repeat // 2)  # each run is seconds long, and its CPU time swings by a third
    print(f"update --offline on this repository, median of {runs} cold runs each", flush=True)
    base = extract(BASE_COMMIT, scratch / "base-tree")
    project = extract("HEAD", scratch / "project")
    commit_all(project, "snapshot")
    trees = {"current": None, BASE_COMMIT: base}

    def environment(label: str, tree: Path | None, number: int) -> dict[str, str]:
        extra = {
            "PYTHONPYCACHEPREFIX": str(scratch / f"pycache-{label}"),
            "TOKEN_TRACKING_DB_PATH": str(scratch / f"ledger-{label}.sqlite3"),
            "TOKEN_TRACKING_CACHE_DIR": str(scratch / f"cache-{label}-{number}"),
        }
        if tree is not None:
            extra["PYTHONPATH"] = str(tree)  # before the editable install's finder
        return child_environment(extra)

    for label, tree in trees.items():
        imported = subprocess.run(
            [sys.executable, "-P", "-c", "import memory_banker; print(memory_banker.__file__)"],
            cwd=scratch,
            env=environment(label, tree, 0),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        expected = (tree if tree is not None else ROOT) / "memory_banker" / "__init__.py"
        if Path(imported).resolve() != expected.resolve():
            raise SystemExit(f"the {label} run imports {imported}, not {expected}")
        print(f"  {label} code: {imported}", flush=True)

    times: dict[str, list[tuple[float, float]]] = {label: [] for label in trees}
    peaks: dict[str, int] = {}
    for number in range(runs + 1):
        for label, tree in trees.items():
            env = environment(label, tree, number)
            copy = scratch / f"{label}-{number}"
            shutil.copytree(project, copy, symlinks=True)
            command = [
                sys.executable,
                "-P",
                "-m",
                "memory_banker",
                "--project-path",
                str(copy),
                "update",
                "--offline",
            ]
            if number == 0:  # warm-up: byte-code compiled, files cached
                peaks[label] = peak_rss(command, scratch, env)
            else:
                times[label].append(run_once(command, scratch, env))
            shutil.rmtree(copy)
            shutil.rmtree(env["TOKEN_TRACKING_CACHE_DIR"], ignore_errors=True)

    def median(label: str) -> tuple[float, float]:
        runs_of = times[label]
        return (
            statistics.median(wall for wall, _ in runs_of),
            statistics.median(cpu for _, cpu in runs_of),
        )

    return [
        report(
            process_figure(
                "`update --offline` on this repository, cold",
                median("current"),
                median(BASE_COMMIT),
                0.4,
                f"commit {BASE_COMMIT}",
            )
        ),
        report(
            at_most(
                "`update --offline` peak memory",
                peaks["current"],
                peaks[BASE_COMMIT],
                "MiB",
                0.75,
                f"commit {BASE_COMMIT}",
            )
        ),
    ]


def ledger(rows: int, scratch: Path) -> list[Figure]:
    """Ledger inserts against a plain sqlite3 loop, and every ``trends`` form against a plain
    GROUP BY, over ``rows`` request rows."""
    from bench_ledger import ROWS_PER_SESSION, SESSIONS_PER_BATCH, build_session

    from token_tracking.history import rows as sql
    from token_tracking.history.ledger import Ledger, prepare_session, project_key
    from token_tracking.history.trends import TREND_BY, compute_trends

    print(f"Ledger over {rows:,} request rows", flush=True)
    projects = [scratch / f"project-{n}" for n in range(3)]
    for project in projects:
        project.mkdir()
    now = datetime.now(UTC)
    total = rows // ROWS_PER_SESSION
    sessions = [build_session(i, total, now, projects) for i in range(total)]
    batches = [sessions[i : i + SESSIONS_PER_BATCH] for i in range(0, total, SESSIONS_PER_BATCH)]

    ours_path, plain_path = scratch / "ledger.sqlite3", scratch / "plain.sqlite3"
    with Ledger(plain_path):
        pass  # the same schema, indexes and migrations as the measured ledger
    plain = sqlite3.connect(plain_path, isolation_level=None)
    plain.execute("PRAGMA journal_mode = WAL")
    plain.execute("PRAGMA synchronous = NORMAL")
    plain.execute("PRAGMA cache_size = -32000")
    contexts: dict[tuple[Any, ...], int] = {}
    # A context key holds the contexts table's columns in order (project, branch, user, …).
    context_columns = [
        row[1] for row in plain.execute("PRAGMA table_info(contexts)") if row[1] != "id"
    ]
    prepared = []
    for batch in batches:
        ready = []
        for report_, requests in batch:
            project = project_key(Path(report_.project_path))
            key = sql.context_key(report_, project)
            if key not in contexts:
                cursor = plain.execute(
                    f"INSERT INTO contexts ({', '.join(context_columns[: len(key)])}) "
                    f"VALUES ({', '.join('?' * len(key))})",
                    key,
                )
                contexts[key] = int(cursor.lastrowid or 0)
            context = sql.RowContext(session_pk=0, context_id=contexts[key], note=None)
            ready.append(
                (
                    sql.session_values(report_, project, None),
                    [sql.agent_values(None, p, a)[1:] for p, a in enumerate(report_.agent_usage)],
                    [row[1:] for row in sql.usage_values(context, report_, requests)],
                )
            )
        prepared.append(ready)
    ours_prepared = [[prepare_session(r, q) for r, q in batch] for batch in batches]
    plain_seconds = ours_seconds = 0.0
    measured = Ledger(ours_path)
    # Batch by batch, one of each in turn, so that a change of load touches both.
    for ready, ready_sessions in zip(prepared, ours_prepared, strict=True):
        began = time.perf_counter()
        plain.execute("BEGIN IMMEDIATE")
        for session, agents, usage in ready:
            pk = plain.execute(sql.INSERT_SESSION, session).lastrowid
            plain.executemany(sql.INSERT_AGENT_RUN, [(pk, *agent) for agent in agents])
            plain.executemany(sql.INSERT_ROW, [(pk, *row) for row in usage])
        plain.execute("COMMIT")
        plain_seconds += time.perf_counter() - began
        began = time.perf_counter()
        measured.insert_prepared(ready_sessions)
        ours_seconds += time.perf_counter() - began
    plain.close()
    with measured:
        inserted = total * ROWS_PER_SESSION
        ratio = plain_seconds / ours_seconds
        figures = [
            report(
                Figure(
                    "ledger insert (`Ledger.insert_prepared`, from ready row tuples to commit)",
                    _fmt(inserted / ours_seconds, "rows/s"),
                    f"{_fmt(inserted / plain_seconds, 'rows/s')} (plain sqlite3 loop, same "
                    "schema, pragmas and tuples)",
                    ratio,
                    "≥ 0.95x",
                    ratio >= 0.95,
                )
            )
        ]
        db = measured.connection
        start_us = int((now - timedelta(days=30)).timestamp() * 1e6)
        local = "strftime(?, u.ts_us / 1000000, 'unixepoch', 'localtime')"
        plain_sql = {
            "day": (local, ("%Y-%m-%d",)),
            "week": (local, ("%Y-%W",)),
            "month": (local, ("%Y-%m",)),
            "branch": ("c.branch", ()),
            "model": ("u.model", ()),
            "agent": ("u.agent", ()),
            "command": ("c.command", ()),
            "user": ("c.user", ()),
            "machine": ("c.machine", ()),
            "commit": ("u.attributed_commit", ()),
        }
        for by in TREND_BY:
            for project in (project_key(projects[1]), None):
                # A form added to trends later is grouped on its context column by default.
                column, args = plain_sql.get(by, (f"c.{by}", ()))
                where = "u.ts_us >= ? AND c.source != 'offline'"
                params: tuple[Any, ...] = (*args, start_us)
                if project is not None:
                    where += " AND c.project = ?"
                    params = (*params, project)
                # The same sums the trends table shows (sessions, requests, tokens, cost).
                query = (
                    f"SELECT {column} AS k, {sql.SUMS} "
                    "FROM usage_rows u JOIN contexts c ON c.id = u.context_id "
                    f"WHERE {where} GROUP BY k"
                )
                baseline = _best(lambda q=query, p=params: db.execute(q, p).fetchall())
                value = _best(
                    lambda b=by, p=project: compute_trends(
                        measured, days=30, by=b, project=p, now=now
                    )
                )
                label = f"`trends --by {by}`" + (" `--all-projects`" if project is None else "")
                figure = at_most(label + " (30 days)", value, baseline, "s", 3.0, "plain GROUP BY")
                # The target is the ratio and an absolute ceiling (a user waits for the table).
                figure = replace(
                    figure, target="≤ 3x and ≤ 0.5 s", holds=figure.holds and value <= 0.5
                )
                figures.append(report(figure))
        figures.append(report(_trends_after_inserts(measured, db, total, now, projects, start_us)))
    return figures


def _trends_after_inserts(
    measured: Any, db: Any, total: int, now: datetime, projects: list[Path], start_us: int
) -> Figure:
    """`trends --all-projects` read right after a batch of new sessions: the read folds the
    batch into the trends rollup before it sums the window."""
    from bench_ledger import SESSIONS_PER_BATCH, build_session

    from token_tracking.history import rows as sql
    from token_tracking.history.ledger import prepare_session
    from token_tracking.history.trends import compute_trends

    query = (
        f"SELECT c.branch AS k, {sql.SUMS} "
        "FROM usage_rows u JOIN contexts c ON c.id = u.context_id "
        "WHERE u.ts_us >= ? AND c.source != 'offline' GROUP BY k"
    )
    baseline = _best(lambda: db.execute(query, (start_us,)).fetchall())
    timings = []
    for run in range(3):
        # New sessions (new ids) at the times of the latest ones.
        first = total - SESSIONS_PER_BATCH * (run + 1)
        measured.insert_prepared(
            [
                prepare_session(
                    *build_session(total + k, total, now - timedelta(days=90), projects)
                )
                for k in range(first, first + SESSIONS_PER_BATCH)
            ]
        )
        began = time.perf_counter()
        compute_trends(measured, days=30, by="branch", now=now)
        timings.append(time.perf_counter() - began)
    value = min(timings)
    label = (
        f"`trends --by branch` `--all-projects` (30 days) after {SESSIONS_PER_BATCH} new sessions"
    )
    figure = at_most(label, value, baseline, "s", 3.0, "plain GROUP BY")
    return replace(figure, target="≤ 3x and ≤ 0.5 s", holds=figure.holds and value <= 0.5)


def _best(function: Callable[[], Any], runs: int = 3) -> float:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        timings.append(time.perf_counter() - began)
    return min(timings)


def others() -> str:
    """Run the other helpers' benchmark scripts that exist; return their output."""
    parts = []
    for script, *arguments in OTHER_SCRIPTS:
        path = HERE / script
        if not path.exists():
            continue
        print(f"Running {script} {' '.join(arguments)}", flush=True)
        done = subprocess.run(
            [sys.executable, str(path), *arguments], capture_output=True, text=True, timeout=3600
        )
        text = done.stdout + (
            f"\n(exit {done.returncode})\n{done.stderr}" if done.returncode else ""
        )
        print(text, flush=True)
        title = " ".join((f"benchmarks/{script}", *arguments))
        parts.append(f"### `{title}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


# --- the page -------------------------------------------------------------------------------------


def machine_line(loads: Sequence[float]) -> str:
    return (
        f"{platform.python_implementation()} {platform.python_version()} on {platform.system()}, "
        f"{os.cpu_count()} cores; load average (1 min) {' -> '.join(f'{x:.1f}' for x in loads)} "
        "during the run"
    )


def page(figures: list[Figure], machine: str, others_text: str, args: list[str]) -> str:
    short = [f for f in figures if not f.holds]
    lines = [
        "# Performance",
        "",
        "This page is the output of `python benchmarks/run_all.py"
        + (f" {' '.join(args)}" if args else "")
        + "`; nothing here is typed by hand. Each figure is measured beside its baseline in the",
        "same run on the same machine, and the target is on their ratio, so it means the same on a",
        "busy or a slower machine. Re-run the script to refresh the page.",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine}.",
        "",
        "| figure | value | baseline | ratio | target | holds |",
        "|---|---|---|---|---|---|",
        *(figure.line() for figure in figures),
        "",
        "Falling short in this table: "
        + (", ".join(f.name for f in short) if short else "none")
        + ("; the benchmarks below print their own targets and verdicts." if others_text else "."),
        "",
    ]
    if others_text:
        lines += ["## Other benchmarks", "", others_text]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per process figure (≥ 15)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="ledger request rows")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()
    sections = {s.strip() for s in options.only.split(",") if s.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    random.seed(0)
    loads = [os.getloadavg()[0]]
    print(f"{os.cpu_count()} cores; load average {loads[0]:.1f}", flush=True)
    figures: list[Figure] = []
    others_text = ""
    with tempfile.TemporaryDirectory(prefix="run-all-") as temp:
        scratch = Path(temp)
        steps: list[tuple[str, Callable[[Path], list[Figure]]]] = [
            ("startup", lambda s: startup_and_listing(options.repeat, s, sections)),
            ("record", lambda s: record(options.repeat, s)),
            ("pricing", lambda s: pricing_figures(options.repeat)),
            ("offline", lambda s: offline(options.repeat, s)),
            ("ledger", lambda s: ledger(options.rows, s)),
        ]
        for name, step in steps:
            wanted = sections & ({"startup", "listing"} if name == "startup" else {name})
            if not wanted:
                continue
            folder = scratch / name
            folder.mkdir()
            figures += step(folder)
            loads.append(os.getloadavg()[0])
        if "others" in sections:
            others_text = others()
    machine = machine_line(loads)
    print(f"\n{machine}")
    text = page(figures, machine, others_text, sys.argv[1:])
    print("\n".join(line for line in text.splitlines() if line.startswith(("|", "Falling"))))
    if not options.no_write:
        options.output.write_text(text, encoding="utf-8")
        print(f"\nwrote {options.output}")


if __name__ == "__main__":
    main()
