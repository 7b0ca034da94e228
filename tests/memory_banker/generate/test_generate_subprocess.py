"""The generation commands as real processes: the missing-key path, an offline run without any
LLM SDK, Ctrl-C, orphaned journals."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.cli import clean_environment, executable, run_installed
from tests.support.fake_provider import FakeProvider, Reply
from tests.support.generate import (
    LAST_ROUND,
    ROUNDS,
    TEST_KEY,
    bank_markdown,
    reports,
    script_bank,
    spec,
)
from tests.support.sample_project import make_sample_project
from token_tracking.history.ledger import Ledger

HEAVY = ("agents", "litellm", "openai", "anthropic")

# Runs the CLI in a fresh interpreter and, at exit, says which heavy SDKs had been imported.
_PROBE = textwrap.dedent(
    """
    import atexit, sys
    heavy = {heavy!r}
    atexit.register(
        lambda: sys.stderr.write(
            "LOADED=" + ",".join(m for m in heavy if m in sys.modules) + "\\n"
        )
    )
    from memory_banker.cli.main import main
    sys.argv = ["memory-banker", *sys.argv[1:]]
    main()
    """
).format(heavy=HEAVY)


def test_missing_key_is_one_line_before_any_sdk_import(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)

    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, "--project-path", str(project), "init"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert probe.returncode == 2
    assert probe.stderr.splitlines() == [
        "Error: OPENAI_API_KEY is not set: model gpt-4o-mini needs an API key for the openai "
        "provider. Set OPENAI_API_KEY or pass --api-key, or run with --offline to generate the "
        "memory bank without a model.",
        "LOADED=",
    ]
    assert probe.stdout == ""
    assert not (project / "memory-bank").exists()


@pytest.mark.parametrize(
    ("command", "saved_reports"),
    [(("init", "--offline"), 1), (("update", "--offline", "--dry-run"), 0)],
)
def test_an_offline_run_imports_no_llm_sdk(
    tmp_path: Path, command: tuple[str, ...], saved_reports: int
) -> None:
    project = make_sample_project(tmp_path)

    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, "--project-path", str(project), *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert probe.returncode == 0, probe.stderr
    assert probe.stderr.splitlines()[-1] == "LOADED="
    found = reports(project)
    assert len(found) == saved_reports
    for report in found:
        assert (report.status, report.source, report.model) == ("success", "offline", "offline")
        assert report.total_cost_usd == 0.0


def test_missing_anthropic_key_through_the_console_entry_point(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)

    result = run_installed(
        "--project-path", str(project), "update", "--model", "anthropic/claude-3-haiku-20240307"
    )

    assert result.returncode == 2
    assert result.stderr.startswith("Error: ANTHROPIC_API_KEY is not set: model ")
    assert len(result.stderr.splitlines()) == 1


def test_ctrl_c_saves_an_interrupted_report_and_keeps_finished_files(
    tmp_path: Path, fake_provider: FakeProvider
) -> None:
    project = make_sample_project(tmp_path)
    slow = {name: Reply(text=bank_markdown(spec(name)), delay=60.0) for name in ROUNDS[1]}
    script_bank(fake_provider, overrides=slow)
    env = clean_environment(
        {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake_provider.openai_base_url}
    )
    process = subprocess.Popen(
        [str(executable()), "--project-path", str(project), "init"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A shell that starts a job in the background (as a CI runner may start the suite) makes
        # it ignore SIGINT, and a child inherits that: Ctrl-C must reach this one as it would.
        preexec_fn=_default_sigint,
    )
    brief = project / "memory-bank" / "projectbrief.md"
    for _ in range(600):  # bounded wait for the fast agent's file and the three slow requests
        if brief.exists() and len(fake_provider.requests) == 4:
            break
        time.sleep(0.1)
    assert brief.exists()

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 1, stderr
    [report] = reports(project)
    assert report.status == "interrupted"
    assert report.agents_not_run == list(LAST_ROUND)
    assert report.agents_not_run_reasons == dict.fromkeys(
        LAST_ROUND, "interrupted (Ctrl-C) before it launched"
    )
    by_name = {agent.agent_name: agent for agent in report.agent_usage}
    assert by_name["projectbrief"].success is True
    for name in ROUNDS[1]:
        assert by_name[name].success is False
        assert by_name[name].error == "interrupted (Ctrl-C) before the agent finished"
    assert sorted(path.name for path in (project / "memory-bank").glob("*.md")) == [
        "projectbrief.md"
    ]
    assert list((project / "memory-bank" / "token-reports" / ".journal").glob("*.jsonl")) == []
    assert "TOKEN USAGE REPORT" in stdout
    assert "Not run (interrupted): activeContext, progress" in stderr


_ORPHAN = textwrap.dedent(
    """
    import os, sys
    from datetime import datetime, timezone
    from pathlib import Path
    from token_tracking import RequestUsage, TokenTracker
    tracker = TokenTracker(
        reports_dir=Path(sys.argv[1]), command="init", model="gpt-4o-mini", persist=True
    )
    tracker.start_session()
    tracker.start_agent("projectbrief", model="gpt-4o-mini")
    tracker.record(RequestUsage(
        timestamp=datetime.now(timezone.utc), agent_name="projectbrief", model="gpt-4o-mini",
        prompt_tokens=1234, completion_tokens=56,
    ))
    os._exit(0)  # dies without finishing: the journal is orphaned
    """
)


def test_an_orphaned_journal_is_recovered_at_the_start_of_a_run(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)
    folder = project / "memory-bank" / "token-reports"
    subprocess.run([sys.executable, "-c", _ORPHAN, str(folder)], check=True, timeout=120)
    assert len(list((folder / ".journal").glob("*.jsonl"))) == 1

    result = run_installed("--project-path", str(project), "init", "--offline")

    assert result.returncode == 0, result.stderr
    assert "from its orphaned journal into a report" in result.stderr
    assert "1,290 tokens" in result.stderr
    recovered, offline = reports(project)
    assert (recovered.status, recovered.total_tokens) == ("interrupted", 1290)
    assert (offline.status, offline.source) == ("success", "offline")
    assert list((folder / ".journal").glob("*.jsonl")) == []
    with Ledger() as ledger:
        in_ledger = {s.session_id: s for s in ledger.sessions(limit=None)}
    assert set(in_ledger) == {recovered.session_id, offline.session_id}
    assert in_ledger[recovered.session_id].status == "interrupted"


def _default_sigint() -> None:
    """Restore SIGINT's default action in a child process, whatever its parent ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
