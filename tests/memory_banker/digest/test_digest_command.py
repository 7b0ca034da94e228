"""``memory-banker digest``: exactly what a run sends, then what was withheld and redacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.memory_banker.digest.planted import PlantedProject, commit, make_planted_project
from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import AGENT_NAMES, TEST_KEY, match_for, script_bank, spec

RESPONSES = ("--api", "responses", "--max-retries", "0")


@pytest.fixture
def planted(tmp_path: Path) -> PlantedProject:
    project = make_planted_project(tmp_path)
    (project.root / ".env").write_text("TOKEN=never-read-0xdeadbeef\n", encoding="utf-8")
    commit(project.root, "Add .env")
    return project


def _user_text(body: dict[str, object]) -> str:
    items = body["input"]
    assert isinstance(items, list)
    content = items[0]["content"]
    return content if isinstance(content, str) else "".join(part["text"] for part in content)


def test_digest_json_is_exactly_what_init_sends(
    planted: PlantedProject, fake_provider: FakeProvider
) -> None:
    shown = invoke(planted.root, "digest", "--json")
    assert shown.exit_code == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert list(document) == ["system", "agents", "tokens", "withheld_files", "redactions"]
    assert list(document["agents"]) == list(AGENT_NAMES)
    assert document["withheld_files"] == [".env"]
    assert sum(document["redactions"].values()) >= 40
    assert not [s.kind for s in planted.secrets if s.leaks_into(shown.stdout)]

    script_bank(fake_provider)
    env = {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake_provider.openai_base_url}
    assert invoke(planted.root, "init", *RESPONSES, env=env).exit_code == 0

    first = next(r for r in fake_provider.requests if match_for(spec("projectbrief")) in r.raw)
    assert first.body["instructions"] == document["system"]
    assert _user_text(first.body) == document["agents"]["projectbrief"]
    assert all(r.body["instructions"] == document["system"] for r in fake_provider.requests)


def test_digest_text_prints_the_texts_on_stdout_and_what_was_withheld_on_stderr(
    planted: PlantedProject,
) -> None:
    result = invoke(planted.root, "digest", "--agent", "progress")

    assert result.exit_code == 0
    assert result.stdout.startswith("===== system instructions (shared by every agent) =====\n")
    assert "===== user message: progress =====" in result.stdout
    assert "===== user message: projectbrief =====" not in result.stdout
    assert "Withheld: 1 file never opened\n  .env\n" in result.stderr
    assert "Redacted: " in result.stderr
    assert "never-read-0xdeadbeef" not in result.stdout + result.stderr
    assert "Digest: " in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--agent", "nope"), "Error: unknown agent 'nope'"),
        (("--agents", "progress", "--agent", "techContext"), "Error: --agent techContext is not"),
        (("--context-tokens", "5"), "Error: --context-tokens must be at least"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    planted: PlantedProject, args: tuple[str, ...], message: str
) -> None:
    result = invoke(planted.root, "digest", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_help_has_an_example_and_dry_run_names_the_command(planted: PlantedProject) -> None:
    assert "memory-banker digest --agent progress" in invoke(None, "digest", "--help").stdout
    dry = invoke(planted.root, "update", "--offline", "--dry-run")
    assert dry.exit_code == 0
    assert "memory-banker digest" in dry.stdout
