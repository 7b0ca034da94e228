"""--offline: the whole pipeline with no key and no network, byte-identical on an unchanged tree."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, NoReturn

import pytest

from memory_banker.specs import AGENT_SPECS, missing_sections
from tests.support.cli import invoke
from tests.support.generate import AGENT_NAMES, reports, six_files
from tests.support.sample_project import SECRET_STRINGS, make_sample_project


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every outgoing connection attempt fail loudly, and record it."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        attempts.append(repr(args))
        raise AssertionError(f"network connection attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_offline_init_then_update_is_byte_identical_free_and_offline(
    tmp_path: Path, no_network: list[str]
) -> None:
    project = make_sample_project(tmp_path)

    first = invoke(project, "init", "--offline")
    written = six_files(project)
    second = invoke(project, "update", "--offline")

    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 0, second.stderr
    assert no_network == []
    assert list(written) == [agent.file for agent in AGENT_SPECS]
    assert six_files(project) == written
    for agent in AGENT_SPECS:
        text = written[agent.file]
        assert missing_sections(agent, text) == []
        assert "generated offline" in text.splitlines()[0]
        for secret in SECRET_STRINGS:
            assert secret not in text
    init_report, update_report = reports(project)
    for report, command in ((init_report, "init"), (update_report, "update")):
        assert report.command == command
        assert report.status == "success"
        assert report.source == "offline"
        assert report.model == "offline"
        assert report.total_cost_usd == 0.0
        assert [agent.agent_name for agent in report.agent_usage] == list(AGENT_NAMES)
        assert all(agent.success for agent in report.agent_usage)
    # Real counts of the same prompts and files: identical runs have identical counts.
    assert [a.prompt_tokens for a in init_report.agent_usage] == [
        a.prompt_tokens for a in update_report.agent_usage
    ]
    assert [a.completion_tokens for a in init_report.agent_usage] == [
        a.completion_tokens for a in update_report.agent_usage
    ]
    assert "Estimated Cost: $0.0000 USD" in first.stdout


def test_offline_needs_no_key_even_for_a_keyed_model(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)

    result = invoke(project, "init", "--offline", "--model", "anthropic/claude-3-haiku-20240307")

    assert result.exit_code == 0, result.stderr
    assert reports(project)[0].model == "offline"


def test_offline_refresh_keeps_history_and_reports(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)
    assert invoke(project, "init", "--offline").exit_code == 0
    before = six_files(project)

    result = invoke(project, "refresh", "--offline", "--quiet")

    assert result.exit_code == 0, result.stderr
    [history] = list((project / "memory-bank" / ".history").iterdir())
    assert {path.name: path.read_text(encoding="utf-8") for path in history.iterdir()} == before
    assert [report.command for report in reports(project)] == ["init", "refresh"]
