"""``memory-banker tokens hook``: a post-commit hook in a scratch repository attributes exactly
the usage made between two commits, and an amended commit takes over its attribution."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.token_tracking.imports.agent_logs import claude_line, line
from token_tracking.history.ledger import Ledger


def _git(repo: Path, *args: str, when: str | None = None) -> str:
    env = dict(os.environ)
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _commit(repo: Path, name: str, when: str, *extra: str) -> str:
    (repo / name).write_text(name)
    _git(repo, "add", name)
    _git(repo, "commit", "-q", "-m", name, *extra, when=when)
    return _git(repo, "rev-parse", "HEAD")


def _hook_log(repo: Path, needle: str) -> str:
    """The hook's log once it holds ``needle`` (the hook hands new usage to a background
    process, so the commit returns before the import ends); polls a bounded number of times."""
    path = repo / ".git" / "memory-banker-hook.log"
    for _ in range(600):
        text = path.read_text() if path.exists() else ""
        if needle in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"the hook never logged {needle!r}: {text!r}")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    return path


def _request(log: Path, repo: Path, message: str, ts: str, tokens: int) -> None:
    with log.open("a") as handle:
        handle.write(
            line(
                claude_line(
                    session="s1",
                    ts=ts,
                    message_id=message,
                    request_id="r",
                    fresh=tokens,
                    output=0,
                    cwd=str(repo),
                )
            )
        )


def test_the_hook_attributes_the_usage_between_two_commits_and_an_amend_takes_it_over(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    first = _commit(repo, "a.txt", "2026-12-01T09:00:00Z")
    installed = invoke(repo, "tokens", "hook", "install")
    assert installed.exit_code == 0, installed.stderr
    assert installed.stdout.startswith("The post-commit hook is installed: ")
    log = tmp_path / "claude" / "projects" / "-repo" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    _request(log, repo, "before", "2026-12-01T08:50:00Z", 1)
    _request(log, repo, "m1", "2026-12-01T09:10:00Z", 10)
    _request(log, repo, "m2", "2026-12-01T09:20:00Z", 100)
    with log.open("a") as handle:  # another project's request, in the window
        handle.write(
            line(
                claude_line(
                    session="s2",
                    ts="2026-12-01T09:15:00Z",
                    message_id="x",
                    request_id="r",
                    fresh=1000,
                    output=0,
                    cwd=str(tmp_path / "elsewhere"),
                )
            )
        )
    second = _commit(repo, "b.txt", "2026-12-01T09:30:00Z")
    _hook_log(repo, f"{second[:12]}: imported")
    with Ledger() as ledger:
        rows = ledger.connection.execute(
            "SELECT prompt_tokens, attributed_commit FROM usage ORDER BY ts_us"
        ).fetchall()
    assert rows == [(1, None), (10, second), (1000, None), (100, second)]
    _request(log, repo, "m3", "2026-12-01T09:40:00Z", 10_000)
    amended = _commit(repo, "c.txt", "2026-12-01T09:45:00Z", "--amend")
    assert amended != second
    _hook_log(repo, f"{amended[:12]}: imported")
    by_commit = json.loads(
        invoke(repo, "tokens", "trends", "--days", "0", "--by", "commit", "--json").stdout
    )
    assert [(row["key"], row["total_tokens"]) for row in by_commit["rows"]] == [
        (amended, 10_110),
        ("(none)", 1),
    ]
    sessions = json.loads(
        invoke(repo, "tokens", "sessions", "--commit", amended[:10], "--json").stdout
    )
    assert [session["session_id"] for session in sessions] == ["s1"]
    assert json.loads(invoke(repo, "tokens", "sessions", "--commit", second, "--json").stdout) == []
    assert first != second
    log_text = (repo / ".git" / "memory-banker-hook.log").read_text()
    assert "attributed to this commit" in log_text
    assert "error" not in log_text


def test_install_honours_hooks_path_chains_the_old_hook_and_is_idempotent(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    _git(repo, "config", "core.hooksPath", ".githooks")
    hooks = repo / ".githooks"
    hooks.mkdir()
    old = hooks / "post-commit"
    old.write_text('#!/bin/sh\necho ran >> "$(git rev-parse --show-toplevel)/old-hook-ran"\n')
    old.chmod(0o755)
    assert invoke(repo, "tokens", "hook", "install").exit_code == 0
    first = (hooks / "post-commit").read_text()
    again = invoke(repo, "tokens", "hook", "install", "--json")
    assert (hooks / "post-commit").read_text() == first
    status = json.loads(again.stdout)
    assert status["installed"] is True
    assert status["hook_path"] == str(hooks / "post-commit")
    assert status["chained"] == str(hooks / "post-commit.before-memory-banker")
    _commit(repo, "a.txt", "2026-12-01T09:00:00Z")
    assert (repo / "old-hook-ran").read_text() == "ran\n"
    removed = json.loads(invoke(repo, "tokens", "hook", "uninstall", "--json").stdout)
    assert (removed["installed"], removed["chained"]) == (False, None)
    assert old.read_text().startswith("#!/bin/sh\necho ran")


def test_the_hook_exits_0_and_logs_when_the_ledger_is_unusable(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv("TOKEN_TRACKING_DB_PATH", str(tmp_path / "not-a-folder" / "ledger.db"))
    assert invoke(repo, "tokens", "hook", "install").exit_code == 0
    _commit(repo, "a.txt", "2026-12-01T09:00:00Z")  # check=True: the commit succeeded
    log_text = _hook_log(repo, "error: LedgerError")
    assert "error: LedgerError: cannot open the ledger" in log_text
    status = invoke(repo, "tokens", "hook", "status")
    assert "error: LedgerError" in status.stdout


def test_outside_a_repository_install_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = invoke(tmp_path, "tokens", "hook", "install")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path} is not inside a git work tree: run this in a repository\n"
    )


def test_with_nothing_new_to_import_the_hook_attributes_before_the_commit_returns(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    _commit(repo, "a.txt", "2026-12-01T09:00:00Z")
    assert invoke(repo, "tokens", "hook", "install").exit_code == 0
    log = tmp_path / "claude" / "projects" / "-repo" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    _request(log, repo, "m1", "2026-12-01T09:10:00Z", 10)
    _request(log, repo, "m2", "2026-12-01T09:50:00Z", 100)  # after the commit
    imported = invoke(repo, "tokens", "import", "all", "--json")
    assert json.loads(imported.stdout)["requests"] == 2
    second = _commit(repo, "b.txt", "2026-12-01T09:30:00Z")
    # No background process: the log line and the attribution are there when git returns.
    log_text = (repo / ".git" / "memory-banker-hook.log").read_text()
    assert f"{second[:12]}: imported 0 requests; 1 attributed to this commit" in log_text
    with Ledger() as ledger:
        rows = ledger.connection.execute(
            "SELECT prompt_tokens, attributed_commit FROM usage ORDER BY ts_us"
        ).fetchall()
    assert rows == [(10, second), (100, None)]
