"""``memory-banker tokens import``: default folders, the --json document, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.token_tracking.imports.agent_logs import (
    claude_line,
    codex_count,
    codex_meta,
    codex_turn,
    codex_usage,
    line,
    write,
)

IN, OUT = 3e-6, 15e-6


def _claude(folder: Path, message: str, fresh: int, output: int) -> None:
    write(
        folder / "-p" / f"{message}.jsonl",
        line(
            claude_line(
                session=message,
                ts="2026-12-01T09:00:00Z",
                message_id=message,
                request_id="r",
                fresh=fresh,
                output=output,
            )
        ),
    )


def test_default_folders_of_every_agent_and_the_json_document(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = isolated_environment
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CODEX_HOME", raising=False)
    _claude(home / ".config" / "claude" / "projects", "m1", 10, 1)
    _claude(home / ".claude" / "projects", "m2", 20, 2)
    codex = [
        line(codex_meta("c1", str(tmp_path))),
        line(codex_turn("2026-12-01T10:00:00Z", "gpt-5", str(tmp_path))),
        line(
            codex_count(
                "2026-12-01T10:00:01Z", codex_usage(100, 0, 10, 0), codex_usage(100, 0, 10, 0)
            )
        ),
    ]
    write(home / ".codex" / "sessions" / "2026" / "12" / "01" / "rollout-a.jsonl", *codex)
    result = invoke(tmp_path, "tokens", "import", "all", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == [
        "files",
        "requests",
        "duplicates",
        "skipped",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "cost_usd",
    ]
    assert document["cost_usd"] == pytest.approx(30 * IN + 3 * OUT + 100 * 1.25e-6 + 10 * 1e-5)
    assert {key: document[key] for key in ("files", "requests", "prompt_tokens")} == {
        "files": 3,
        "requests": 3,
        "prompt_tokens": 130,
    }
    again = invoke(tmp_path, "tokens", "import", "all")
    assert (
        again.stdout
        == "Imported 0 requests from 0 files: 0 prompt + 0 completion tokens, $0.0000\n"
    )


def test_claude_config_dir_is_a_comma_separated_list_and_codex_home_moves_codex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _claude(tmp_path / "one" / "projects", "m1", 10, 1)
    _claude(tmp_path / "two" / "projects", "m2", 20, 2)
    _claude(tmp_path / "home" / ".claude" / "projects", "ignored", 1, 1)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{tmp_path / 'one'}, {tmp_path / 'two'}")
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    write(
        tmp_path / "codex" / "archived_sessions" / "rollout-b.jsonl",
        line(codex_meta("c2", str(tmp_path))),
        line(codex_turn("2026-12-01T10:00:00Z", "gpt-5", str(tmp_path))),
        line(codex_count("2026-12-01T10:00:01Z", codex_usage(7, 0, 1, 0), codex_usage(7, 0, 1, 0))),
    )
    claude = invoke(tmp_path, "tokens", "import", "claude-code", "--json")
    assert json.loads(claude.stdout)["prompt_tokens"] == 30
    codex = invoke(tmp_path, "tokens", "import", "codex", "--dry-run")
    assert codex.stdout.startswith("Would import 1 request from 1 file: 7 prompt + 1 completion")


def test_warnings_name_the_file_and_line_on_stderr(tmp_path: Path) -> None:
    path = write(tmp_path / "logs" / "a.jsonl", "{oops\n")
    _claude(tmp_path / "logs", "m1", 10, 1)
    result = invoke(tmp_path, "tokens", "import", "claude-code", "--path", str(tmp_path / "logs"))
    assert result.exit_code == 0
    assert result.stderr == f"Warning: skipped {path}: not a coding-agent log\n"
    assert result.stdout.startswith("Imported 1 request from 1 file")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["claude"],
            "unknown source 'claude': choose one of claude-code, codex, gemini, all; "
            "did you mean claude-code?",
        ),
        (["all", "--path", "missing"], "--path missing does not exist"),
        (
            ["all", "--since", "last week"],
            "--since takes a number of days or a date (YYYY-MM-DD), not 'last week'",
        ),
        (["all", "--since", "0"], "--since must be 1 to 36,500 days, or a date (YYYY-MM-DD)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke(tmp_path, "tokens", "import", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: {message}\n"


def test_help_shows_examples(tmp_path: Path) -> None:
    result = invoke(tmp_path, "tokens", "import", "--help")
    assert "memory-banker tokens import all" in result.stdout


def test_a_control_character_in_a_file_name_is_printed_escaped(tmp_path: Path) -> None:
    write(tmp_path / "logs" / "evil\x1b[2J.jsonl", "{oops\n")
    result = invoke(tmp_path, "tokens", "import", "all", "--path", str(tmp_path / "logs"))
    assert result.stderr == (
        f"Warning: skipped {tmp_path / 'logs'}/evil\\x1b[2J.jsonl: not a coding-agent log\n"
    )
