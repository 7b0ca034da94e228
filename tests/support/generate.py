"""Shared helpers of the generation tests: scripted bank replies, saved reports, bank files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from memory_banker.specs import AGENT_SPECS, AgentSpec
from tests.support.fake_provider import FakeProvider, Reply
from token_tracking.reports.file import TokenUsageReport

AGENT_NAMES = tuple(spec.name for spec in AGENT_SPECS)
ROUNDS = (AGENT_NAMES[:1], AGENT_NAMES[1:4], AGENT_NAMES[4:])
"""The agent names of the three rounds of a full run."""
FIRST_FOUR = AGENT_NAMES[:4]
"""The agents of the first two rounds: the inputs of the last round."""
LAST_ROUND = AGENT_NAMES[4:]

# gpt-4o-mini in litellm 1.83.0's bundled table: $0.15 per 1M input tokens, $0.60 per 1M output.
GPT_4O_MINI_INPUT = 0.15 / 1_000_000
GPT_4O_MINI_OUTPUT = 0.60 / 1_000_000

TEST_KEY = "sk-test-PIPELINEKEY0042"
"""The API key the tests pass: it must never appear in a request body or a report."""


def spec(name: str) -> AgentSpec:
    """Return the spec named ``name``."""
    return next(s for s in AGENT_SPECS if s.name == name)


def bank_markdown(agent: AgentSpec, marker: str = "v1") -> str:
    """Return a valid file for ``agent``: a title and every required section, tagged ``marker``."""
    parts = [f"# {agent.file} ({marker})", ""]
    for section in agent.sections:
        parts += [f"## {section}", "", f"{agent.name} {section} {marker}.", ""]
    return "\n".join(parts)


def match_for(agent: AgentSpec) -> str:
    """Return the substring that only ``agent``'s request body contains (its user message)."""
    return f"Write the file `memory-bank/{agent.file}`"


def usage_of(index: int) -> tuple[int, int]:
    """Return the scripted (prompt, completion) tokens of the agent at ``index``."""
    return (1000 + 37 * index, 200 + 11 * index)


def script_bank(
    fake: FakeProvider,
    *,
    marker: str = "v1",
    names: Sequence[str] = AGENT_NAMES,
    overrides: Mapping[str, Reply] | None = None,
    delay: float = 0.0,
) -> None:
    """Queue one reply per agent of ``names``: valid markdown with ``usage_of`` tokens.

    ``overrides`` replaces an agent's reply (an HTTP 500, a delayed answer, a bad output).
    """
    for index, name in enumerate(AGENT_NAMES):
        if name not in names:
            continue
        agent = spec(name)
        prompt, completion = usage_of(index)
        reply = Reply(
            text=bank_markdown(agent, marker),
            prompt_tokens=prompt,
            completion_tokens=completion,
            delay=delay,
        )
        if overrides and name in overrides:
            reply = overrides[name]
        fake.add(reply, match=match_for(agent))


def reports(project: Path) -> list[TokenUsageReport]:
    """Return every report saved for ``project``, oldest first (by end time)."""
    folder = project / "memory-bank" / "token-reports"
    if not folder.is_dir():
        return []
    found = [
        TokenUsageReport.model_validate_json(path.read_text(encoding="utf-8"))
        for path in folder.glob("token_usage_*.json")
    ]
    return sorted(found, key=lambda report: report.end_time)


def bank_snapshot(project: Path) -> dict[str, bytes]:
    """Return every file under ``memory-bank/`` (relative path → bytes)."""
    folder = project / "memory-bank"
    if not folder.is_dir():
        return {}
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def six_files(project: Path) -> dict[str, str]:
    """Return the bank files that exist (file name → text)."""
    folder = project / "memory-bank"
    return {
        agent.file: (folder / agent.file).read_text(encoding="utf-8")
        for agent in AGENT_SPECS
        if (folder / agent.file).is_file()
    }
