"""The live view: a table on stderr only when it is a terminal, never on stdout."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from inline_snapshot import snapshot
from rich.console import Console

from memory_banker.live import render_progress
from memory_banker.pipeline import AgentOutcome
from tests.support.cli import clean_environment, executable, invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import TEST_KEY, script_bank
from tests.support.sample_project import make_sample_project
from token_tracking.records import AgentUsage


def test_render_progress_shows_state_tokens_cost_elapsed_and_burn_rate() -> None:
    outcomes = [
        AgentOutcome("projectbrief", state="done", round=1, started=10.0, ended=14.5),
        AgentOutcome("productContext", state="running", round=2, started=10.0),
        AgentOutcome(
            "systemPatterns", state="failed", round=2, error="boom", started=10.0, ended=11.0
        ),
        AgentOutcome("activeContext", state="waiting", round=3),
        AgentOutcome("progress", state="not run"),
    ]
    start = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    usage = [
        AgentUsage(
            agent_name="projectbrief",
            prompt_tokens=1200,
            completion_tokens=300,
            total_tokens=1500,
            cost_usd=0.00036,
            start_time=start,
        ),
        AgentUsage(
            agent_name="systemPatterns",
            prompt_tokens=0,
            completion_tokens=0,
            total_tokens=0,
            cost_usd=0.0,
            start_time=start,
        ),
    ]
    console = Console(file=io.StringIO(), width=100, color_system=None)

    console.print(
        render_progress(
            outcomes, usage, elapsed=18.0, spent=0.00036, title="memory-banker init", now=16.0
        )
    )

    assert isinstance(console.file, io.StringIO)
    assert console.file.getvalue() == snapshot("""\
memory-banker init                                               \n\
┏━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━┓
┃ Agent          ┃ Round ┃ State   ┃ Tokens ┃    Cost ┃ Elapsed ┃
┡━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━┩
│ projectbrief   │     1 │ done    │  1,500 │ $0.0004 │    4.5s │
│ productContext │     2 │ running │      - │       - │    6.0s │
│ systemPatterns │     2 │ failed  │      0 │ $0.0000 │    1.0s │
│ activeContext  │     3 │ waiting │      - │       - │       - │
│ progress       │     - │ not run │      - │       - │       - │
└────────────────┴───────┴─────────┴────────┴─────────┴─────────┘
Spent $0.0004 in 18.0s · burn rate $0.07/hour
""")


def test_no_live_view_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)

    result = invoke(project, "init", "--offline")

    assert result.exit_code == 0
    assert "burn rate" not in result.stderr
    assert "burn rate" not in result.stdout


def _run_with_stderr_on_a_pty(
    args: list[str], extra_env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe; return (rc, out, tty)."""
    master, slave = pty.openpty()
    env = clean_environment({"COLUMNS": "120", "LINES": "40", "TERM": "xterm", **(extra_env or {})})
    process = subprocess.Popen(
        [str(executable()), *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    chunks: list[bytes] = []
    for _ in range(2000):  # bounded: each wait is at most 0.1 s
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(master)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    process.stdout.close()
    return process.wait(timeout=60), stdout, b"".join(chunks).decode(errors="replace")


def test_live_view_appears_on_a_terminal_stderr_and_never_on_stdout(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)

    code, stdout, terminal = _run_with_stderr_on_a_pty(
        ["--project-path", str(project), "init", "--offline"]
    )

    assert code == 0, terminal
    assert "memory-banker init · offline" in terminal
    assert "burn rate $0.00/hour" in terminal
    for name in ("projectbrief", "activeContext", "progress"):
        assert name in terminal
    assert "done" in terminal
    assert "burn rate" not in stdout
    assert "TOKEN USAGE REPORT" in stdout
    assert "TOKEN USAGE REPORT" not in terminal


def test_quiet_hides_the_live_view_on_a_terminal(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)

    code, stdout, terminal = _run_with_stderr_on_a_pty(
        ["--project-path", str(project), "init", "--offline", "--quiet"]
    )

    assert code == 0, terminal
    assert "burn rate" not in terminal
    assert "TOKEN USAGE REPORT" in stdout


def test_interval_lines_appear_in_the_live_view_during_a_slow_run(
    tmp_path: Path, fake_provider: FakeProvider
) -> None:
    project = make_sample_project(tmp_path)
    # Three rounds of 1.5 s outlast the shortest interval TOKEN_INTERVAL_MINUTES allows (3 s).
    script_bank(fake_provider, delay=1.5)
    extra = {
        "OPENAI_API_KEY": TEST_KEY,
        "OPENAI_BASE_URL": fake_provider.openai_base_url,
        "TOKEN_INTERVAL_MINUTES": "0.05",
    }

    code, stdout, terminal = _run_with_stderr_on_a_pty(
        ["--project-path", str(project), "init"], extra
    )

    assert code == 0, terminal
    assert "Interval 1: " in terminal
    assert "] Interval 1: " not in stdout
    assert "burn rate $" in terminal
