"""The offline engine as the pipeline drives it: sections, determinism, real usage, no network."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from memory_banker.digest.build import build_digest
from memory_banker.digest.facts import Digest
from memory_banker.offline.engine import OfflineRunner
from memory_banker.offline.writers import render_offline
from memory_banker.specs import (
    AGENT_SPECS,
    missing_sections,
    system_instructions,
    user_message,
)
from memory_banker.tokenizer import count_prompt_tokens, count_tokens
from tests.support.sample_project import SECRET_STRINGS, make_sample_project
from token_tracking import OFFLINE_MODEL, TokenTracker, TokenUsageReport


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any attempt to open a network connection."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the offline engine opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def digest(tmp_path: Path) -> Digest:
    return build_digest(make_sample_project(tmp_path))


async def _run_all(digest: Digest) -> tuple[dict[str, str], TokenUsageReport]:
    """Run the six agents like the pipeline does (round by round, each given its inputs' files),
    each started and ended in a tracker; return files and report."""
    tracker = TokenTracker(command="init", model=OFFLINE_MODEL, source="offline", persist=False)
    engine = OfflineRunner(digest, tracker)
    shared = system_instructions(digest)
    outputs: dict[str, str] = {}
    for spec in AGENT_SPECS:
        inputs: dict[str, str | None] = {name: outputs[name] for name in spec.depends_on}
        tracker.start_agent(spec.name, model=OFFLINE_MODEL)
        outputs[spec.name] = await engine.run_agent(spec, shared, user_message(spec, inputs))
        tracker.end_agent(spec.name, success=True)
    return outputs, tracker.finish()


async def test_offline_run_writes_every_required_section(digest: Digest, no_network: None) -> None:
    outputs, _ = await _run_all(digest)
    for spec in AGENT_SPECS:
        text = outputs[spec.name]
        assert missing_sections(spec, text) == []
        assert text.splitlines()[0].endswith("(generated offline)")
        assert text == render_offline(spec, digest.facts, digest.files)
        for secret in SECRET_STRINGS:
            assert secret not in text


async def test_offline_usage_is_the_tokenizer_count_of_prompt_and_file(digest: Digest) -> None:
    outputs, report = await _run_all(digest)
    shared = system_instructions(digest)
    assert [agent.agent_name for agent in report.agent_usage] == [s.name for s in AGENT_SPECS]
    for spec, usage in zip(AGENT_SPECS, report.agent_usage, strict=True):
        text = outputs[spec.name]
        inputs: dict[str, str | None] = {name: outputs[name] for name in spec.depends_on}
        assert usage.requests == 1
        assert usage.prompt_tokens == count_prompt_tokens(shared, user_message(spec, inputs))
        assert usage.completion_tokens == count_tokens(text)
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        assert (usage.cached_tokens, usage.cache_write_tokens, usage.reasoning_tokens) == (0, 0, 0)
        assert (usage.model, usage.cost_usd, usage.success) == (OFFLINE_MODEL, 0.0, True)
    assert report.status == "success"
    assert report.total_cost_usd == 0.0
    assert report.total_requests == 6


async def test_offline_output_is_byte_identical_for_the_same_repository_state(
    tmp_path: Path,
) -> None:
    project = make_sample_project(tmp_path / "a")
    first, _ = await _run_all(build_digest(project))
    second, _ = await _run_all(build_digest(project))
    clone, _ = await _run_all(build_digest(make_sample_project(tmp_path / "b")))
    for spec in AGENT_SPECS:
        assert first[spec.name].encode() == second[spec.name].encode()
        assert first[spec.name].encode() == clone[spec.name].encode()


def test_auxiliary_scripts_are_not_ways_into_the_program(digest: Digest) -> None:
    scripts = tuple(f"`benchmarks/bench_{n}.py` (runs as a script)" for n in ("a", "b"))
    facts = replace(digest.facts, entry_points=(*digest.facts.entry_points, *scripts))

    files = {spec.name: render_offline(spec, facts, digest.files) for spec in AGENT_SPECS}

    for text in files.values():
        assert "bench_a.py" not in text
    assert "- 2 scripts in `benchmarks/` run on their own.\n" in files["progress"]
    assert (
        "Besides the program:\n- 2 scripts in `benchmarks/` run on their own.\n"
        in (files["productContext"])
    )


def test_a_bare_folder_gets_plain_sentences(tmp_path: Path) -> None:
    digest = build_digest(tmp_path)

    files = {spec.name: render_offline(spec, digest.facts, digest.files) for spec in AGENT_SPECS}

    works = files["progress"].split("## What Works\n\n", 1)[1].split("\n\n", 1)[0]
    assert works == "- Nothing detectable: no entry point, repo-map module or test was found."
    assert (
        "- No dependencies are declared (no manifest was found (looked for"
        in (files["techContext"])
    )
    for text in files.values():
        assert ": No " not in text
