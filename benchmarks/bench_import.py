"""``tokens import`` throughput and memory on 1,000,000 generated Claude Code log lines.

Run: ``python benchmarks/bench_import.py [--lines N] [--files F] [--repeat R]``. It writes N
compact JSON lines (as Claude Code writes them: 80% assistant lines with usage, of which one in
eight repeats an earlier message as a streaming snapshot; the rest user lines) into F session
files, then measures side by side, each in a fresh subprocess so peak memory is its own:

- the baseline: a plain ``json.loads`` loop over the same lines (no ledger);
- the first import into an empty ledger (parse, dedupe, price, write), lines/s and peak RSS;
- the same at a fifth of the lines, to show that memory does not grow with the line count;
- the incremental re-import with nothing new, and after 1,000 appended lines;
- the post-commit hook's wall time (what git runs: ``python -m token_tracking.imports.post_commit``)
  with nothing waiting (it attributes the commit itself), and with 1,000,000 lines waiting
  (handed to a background process).

Ratios are medians of ``--repeat`` baseline/import pairs, by wall time and by CPU time (steadier
when other processes load the machine); the load average printed beside them says how loaded.

Target: the import at least 0.5x the baseline's lines/s, with the ledger writes included.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

TARGET_RATIO = 0.5


def _assistant(session: str, ts: str, message: str, request: str, output: int, cwd: str) -> str:
    obj = {
        "parentUuid": "p",
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session,
        "version": "2.0.1",
        "gitBranch": "main",
        "message": {
            "id": message,
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-20250514",
            "content": [{"type": "text", "text": "Done: edited the file and ran the tests."}],
            "stop_reason": "end_turn",
            "usage": {
                "input_tokens": 12,
                "cache_creation_input_tokens": 340,
                "cache_read_input_tokens": 21000,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 340,
                    "ephemeral_1h_input_tokens": 0,
                },
                "output_tokens": output,
                "service_tier": "standard",
            },
        },
        "requestId": request,
        "type": "assistant",
        "uuid": f"u-{message}-{output}",
        "timestamp": ts,
    }
    return json.dumps(obj, separators=(",", ":"))


def _user(session: str, ts: str, cwd: str) -> str:
    obj = {
        "parentUuid": None,
        "isSidechain": False,
        "cwd": cwd,
        "sessionId": session,
        "type": "user",
        "message": {"role": "user", "content": [{"type": "tool_result", "content": "ok"}]},
        "timestamp": ts,
    }
    return json.dumps(obj, separators=(",", ":"))


def generate(folder: Path, lines: int, files: int, cwd: str, *, seed: int = 7) -> None:
    """Write ``lines`` log lines spread over ``files`` session files under ``folder``."""
    rng = random.Random(seed)
    per_file = lines // files
    for number in range(files):
        session = f"session-{number:04d}"
        recent: list[tuple[str, str]] = []
        path = folder / "projects" / "-bench" / f"{session}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as handle:
            for index in range(per_file):
                day = 1 + number % 28
                hour, minute, second = index // 3600 % 24, index // 60 % 60, index % 60
                ts = f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.000Z"
                roll = rng.random()
                if roll < 0.2:
                    handle.write(_user(session, ts, cwd) + "\n")
                elif roll < 0.3 and recent:
                    message, request = rng.choice(recent)  # a later snapshot of an earlier message
                    handle.write(
                        _assistant(session, ts, message, request, rng.randint(1, 900), cwd) + "\n"
                    )
                else:
                    message = f"msg_{number}_{index}"
                    request = f"req_{number}_{index}"
                    recent = [*recent[-7:], (message, request)]
                    handle.write(
                        _assistant(session, ts, message, request, rng.randint(1, 900), cwd) + "\n"
                    )


_BASELINE = """
import json, sys, pathlib
count = 0
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.jsonl")):
    with path.open("rb") as handle:
        for raw in handle:
            json.loads(raw)
            count += 1
print(count)
"""


class Measured(NamedTuple):
    """One subprocess run."""

    seconds: float
    """Wall time."""
    cpu: float
    """User + system CPU time: steadier than wall time on a machine other work loads."""
    peak_mib: int
    """The largest peak RSS of any child so far (run the big ones last)."""
    stdout: str


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measured(args: list[str], env: dict[str, str], cwd: Path | None = None) -> Measured:
    """Run a subprocess; return its wall and CPU seconds, peak RSS in MiB, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of any child so far: run the big ones last.
    return Measured(seconds, cpu, max(peak, before) // 1024, done.stdout)


def _import(env: dict[str, str], logs: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "memory_banker",
        "tokens",
        "import",
        "claude-code",
        "--path",
        str(logs),
        "--json",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1, help="baseline/import pairs (median)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        env = {
            **os.environ,
            "TOKEN_TRACKING_DB_PATH": str(root / "ledger.sqlite3"),
            "HOME": str(root),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        small = root / "small"
        generate(small, options.lines // 5, options.files, str(root))
        big = root / "big"
        generate(big, options.lines, options.files, str(root))
        print(
            f"{options.lines:,} lines in {options.files} files, "
            f"{sum(p.stat().st_size for p in big.rglob('*.jsonl')) / 2**20:,.0f} MiB"
        )

        small_env = {**env, "TOKEN_TRACKING_DB_PATH": str(root / "small.sqlite3")}
        small_run = _measured(_import(small_env, small), small_env)
        print(
            f"import {options.lines // 5:,} lines:  {small_run.seconds:6.2f} s  "
            f"{options.lines / 5 / small_run.seconds:>10,.0f} lines/s  "
            f"peak {small_run.peak_mib} MiB"
        )
        # Baseline and import alternate, each import into a fresh ledger; the ratios are the
        # medians of the pairs (wall time, and CPU time, which other load disturbs less).
        wall_ratios: list[float] = []
        cpu_ratios: list[float] = []
        for attempt in range(options.repeat):
            loop = _measured([sys.executable, "-c", _BASELINE, str(big)], env)
            baseline_rate = options.lines / loop.seconds
            print(f"json.loads loop:        {loop.seconds:6.2f} s  {baseline_rate:>10,.0f} lines/s")
            if attempt:
                ledger = root / "ledger.sqlite3"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{ledger}{suffix}").unlink(missing_ok=True)
            run = _measured(_import(env, big), env)
            rate = options.lines / run.seconds
            summary = json.loads(run.stdout)
            print(
                f"import {options.lines:,} lines: {run.seconds:6.2f} s  {rate:>10,.0f} lines/s  "
                f"peak {run.peak_mib} MiB  ({summary['requests']:,} requests, "
                f"{summary['duplicates']:,} duplicates)"
            )
            wall_ratios.append(loop.seconds / run.seconds)
            cpu_ratios.append(loop.cpu / run.cpu)
        print(
            f"ratio to the loop:      {statistics.median(wall_ratios):.2f}x wall, "
            f"{statistics.median(cpu_ratios):.2f}x CPU (target >= {TARGET_RATIO}x; "
            f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)"
        )

        seconds, _, _, out = _measured(_import(env, big), env)
        print(f"re-import, nothing new: {seconds:6.2f} s  ({json.loads(out)['requests']} requests)")
        first = sorted(big.rglob("*.jsonl"))[0]
        with first.open("a") as handle:
            for index in range(1000):
                handle.write(
                    _assistant(
                        "session-0000",
                        "2026-12-01T00:00:00.000Z",
                        f"extra_{index}",
                        f"rx_{index}",
                        5,
                        str(root),
                    )
                    + "\n"
                )
        seconds, _, _, out = _measured(_import(env, big), env)
        print(f"re-import, 1,000 new:   {seconds:6.2f} s  ({json.loads(out)['requests']} requests)")

        repo = root / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], env=env, check=True)
        hook_env = {
            **env,
            "CLAUDE_CONFIG_DIR": str(big),
            "GIT_AUTHOR_NAME": "b",
            "GIT_AUTHOR_EMAIL": "b@x",
            "GIT_COMMITTER_NAME": "b",
            "GIT_COMMITTER_EMAIL": "b@x",
        }
        subprocess.run(
            ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "a"],
            env=hook_env,
            check=True,
        )
        # What the installed hook runs, in the repository, as git runs it.
        run_hook = [sys.executable, "-m", "token_tracking.imports.post_commit"]
        hook_times = [_measured(run_hook, hook_env, cwd=repo).seconds for _ in range(5)]
        print(
            f"hook, nothing waiting:  {statistics.median(hook_times):6.2f} s median of 5 "
            f"(max {max(hook_times):.2f} s; attributes in the foreground)"
        )
        fresh_env = {**hook_env, "TOKEN_TRACKING_DB_PATH": str(root / "fresh.sqlite3")}
        seconds = _measured(run_hook, fresh_env, cwd=repo).seconds
        print(f"hook, {options.lines:,} lines waiting: {seconds:6.2f} s (handed to the background)")
        # Let the background import finish before the folder is removed: it logs its end.
        log = repo / ".git" / "memory-banker-hook.log"
        for _ in range(1200):
            text = log.read_text() if log.exists() else ""
            if text.count(" imported ") > len(hook_times) or "error:" in text:
                break
            time.sleep(1)


if __name__ == "__main__":
    main()
