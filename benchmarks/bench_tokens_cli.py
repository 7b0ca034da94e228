"""Cold start of ``memory-banker tokens`` and ``tokens --list-all`` over many report files.

Each figure is the median wall time of fresh processes of the installed executable, measured
side by side with a bare ``python -c pass`` in the same run, so the ratio says what the command
adds over starting Python at all. "first" is the run that finds no index and builds
``.index.json``; "warm index" runs find it fresh (the usual case: the index is rebuilt only for
files added or changed since).

The targets, as ratios, are checked by ``benchmarks/run_all.py``, which also uses
:func:`populate` to write its report folders.

Byte-code: the processes run with ``PYTHONDONTWRITEBYTECODE`` unset and ``PYTHONPYCACHEPREFIX``
pointing at a temporary folder, after one warm-up run, so they load compiled modules as an
installed copy does (compiling our sources on every start would add ~0.2 s) without writing
``__pycache__`` into the source tree. Besides wall time, the children's CPU time (user + system)
is printed: on a busy machine it is the steadier of the two.

Run: ``python benchmarks/bench_tokens_cli.py [--counts 1000,10000] [--repeat 5] [--pythonpath DIR]``
(``--pythonpath`` measures another source tree, e.g. a copy with a proposed change).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from token_tracking.records import AgentUsage, ModelPricing, PricingInfo
from token_tracking.reports.file import TokenUsageReport

AGENTS = (
    "projectbrief",
    "productContext",
    "systemPatterns",
    "techContext",
    "activeContext",
    "progress",
)
EXECUTABLE = shutil.which("memory-banker", path=str(Path(sys.executable).parent)) or "memory-banker"


def make_report(number: int, end: datetime) -> TokenUsageReport:
    """A realistic six-agent report (the size the tracker writes)."""
    agents = []
    for index, name in enumerate(AGENTS):
        prompt, completion = 1_800 + 37 * index + number % 97, 1_200 + 11 * index
        agents.append(
            AgentUsage(
                agent_name=name,
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=prompt + completion,
                model="gpt-4o-mini",
                start_time=end - timedelta(seconds=40),
                end_time=end - timedelta(seconds=5 * index),
                duration_seconds=7.5,
                success=True,
                cached_tokens=1_024,
                requests=1,
                cost_usd=(prompt - 1_024) * 0.15e-6 + 1_024 * 0.075e-6 + completion * 0.6e-6,
                output_file=f"memory-bank/{name}.md",
            )
        )
    prompt = sum(a.prompt_tokens or 0 for a in agents)
    completion = sum(a.completion_tokens or 0 for a in agents)
    return TokenUsageReport(
        session_id=f"{number:08d}-0000-4000-8000-000000000000",
        project_path="/home/dev/shop",
        model="gpt-4o-mini",
        command="update",
        start_time=end - timedelta(seconds=45),
        end_time=end,
        total_duration_seconds=45.0,
        total_prompt_tokens=prompt,
        total_completion_tokens=completion,
        total_tokens=prompt + completion,
        total_cost_usd=sum(a.cost_usd or 0.0 for a in agents),
        successful_agents=6,
        failed_agents=0,
        agent_usage=agents,
        schema_version=1,
        total_cached_tokens=6 * 1_024,
        total_requests=6,
        pricing=PricingInfo(
            source="litellm",
            version="1.83.0",
            models=[ModelPricing(model="gpt-4o-mini", matched_key="gpt-4o-mini")],
        ),
        priced_coverage=1.0,
        tool_version="0.2.0",
    )


def populate(project: Path, count: int) -> None:
    """Write ``count`` report files into the project's reports folder."""
    folder = project / "memory-bank" / "token-reports"
    folder.mkdir(parents=True)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for number in range(count):
        end = start + timedelta(minutes=37 * number)
        name = f"token_usage_{end.strftime('%Y%m%d_%H%M%S')}.json"
        (folder / name).write_text(make_report(number, end).model_dump_json(indent=2))


Timing = tuple[float, float]
"""Wall seconds, children's CPU seconds (user + system)."""


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> Timing:
    """Wall and CPU time of one run of ``command``, output discarded; raises when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    # No timeout: with one, the wait polls in steps of up to 50 ms, rounding the time up.
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median_timed(command: list[str], cwd: Path, env: dict[str, str], repeat: int) -> Timing:
    runs = [timed(command, cwd, env) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def measure(count: int, repeat: int, env: dict[str, str]) -> list[tuple[str, Timing]]:
    with tempfile.TemporaryDirectory() as temp:
        project = Path(temp)
        populate(project, count)
        index = project / "memory-bank" / "token-reports" / ".index.json"
        timed([EXECUTABLE, "--help"], project, env)  # warm-up: compile into the pycache prefix
        bare = median_timed([sys.executable, "-c", "pass"], project, env, repeat)
        rows = [("python -c pass", bare)]
        for label, args in (
            ("tokens", ["tokens"]),
            ("tokens --list-all", ["tokens", "--list-all"]),
        ):
            index.unlink(missing_ok=True)
            rows.append(
                (f"{label} (first, builds index)", timed([EXECUTABLE, *args], project, env))
            )
            warm = median_timed([EXECUTABLE, *args], project, env, repeat)
            rows.append((f"{label} (warm index)", warm))
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pythonpath", help="a source tree to measure instead of the installed")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        if options.pythonpath:
            env["PYTHONPATH"] = options.pythonpath
        load = os.getloadavg()[0]
        print(
            f"executable: {EXECUTABLE}; tree: {options.pythonpath or 'installed'}; "
            f"cpus: {os.cpu_count()}; load average {load:.1f}; median of {options.repeat} runs"
        )
        for count in (int(c) for c in options.counts.split(",")):
            rows = measure(count, options.repeat, env)
            base = rows[0][1][0]
            print(f"\n{count:,} report files{'':27}wall    x python -c pass   cpu")
            for label, (wall, cpu) in rows:
                print(
                    f"  {label:<40} {wall * 1000:6.0f} ms  {wall / base:6.1f}x"
                    f"  {cpu * 1000:7.0f} ms"
                )


if __name__ == "__main__":
    main()
