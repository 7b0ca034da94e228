"""The six agent specs, agent selection and the cache-friendly prompt layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_banker.digest.build import build_digest
from memory_banker.errors import UsageError
from memory_banker.specs import (
    AGENT_NAMES,
    AGENT_SPECS,
    PREAMBLE,
    ROUNDS,
    missing_sections,
    select_agents,
    spec_by_name,
    system_instructions,
    user_message,
)
from tests.support.sample_project import make_sample_project

REQUIRED_SECTIONS = {
    "projectbrief.md": ("Overview", "Core Requirements", "Goals", "Scope"),
    "productContext.md": (
        "Why This Project Exists",
        "Problems It Solves",
        "How It Works",
        "User Experience Goals",
    ),
    "systemPatterns.md": (
        "Architecture",
        "Key Technical Decisions",
        "Design Patterns",
        "Component Relationships",
    ),
    "techContext.md": (
        "Technologies",
        "Development Setup",
        "Dependencies",
        "Technical Constraints",
    ),
    "activeContext.md": ("Current Focus", "Recent Changes", "Next Steps", "Active Decisions"),
    "progress.md": ("What Works", "What's Left to Build", "Current Status", "Known Issues"),
}


def test_each_file_requires_its_four_sections_in_order() -> None:
    assert {spec.file: spec.sections for spec in AGENT_SPECS} == REQUIRED_SECTIONS
    assert AGENT_NAMES == (
        "projectbrief",
        "productContext",
        "systemPatterns",
        "techContext",
        "activeContext",
        "progress",
    )
    assert [[spec.name for spec in round_] for round_ in ROUNDS] == [
        ["projectbrief"],
        ["productContext", "systemPatterns", "techContext"],
        ["activeContext", "progress"],
    ]
    for spec in ROUNDS[1]:
        assert spec.depends_on == ("projectbrief",)
    for spec in ROUNDS[2]:
        assert spec.depends_on == AGENT_NAMES[:4]


def test_select_all_by_default() -> None:
    assert select_agents(None) == AGENT_SPECS
    assert select_agents("") == AGENT_SPECS


def test_select_a_subset_in_canonical_order() -> None:
    chosen = select_agents("progress, techcontext.md,projectbrief,progress")
    assert [spec.name for spec in chosen] == ["projectbrief", "techContext", "progress"]


def test_unknown_agent_lists_valid_names() -> None:
    with pytest.raises(UsageError) as caught:
        select_agents("projectbrief,techContxt")
    assert str(caught.value) == (
        "unknown agent 'techContxt'; valid names: projectbrief, productContext, systemPatterns,"
        " techContext, activeContext, progress (did you mean 'techContext'?)"
    )
    with pytest.raises(UsageError, match="valid names"):
        spec_by_name("nope")


def test_only_commas_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="names no agent"):
        select_agents(" , ")


def test_system_instructions_are_shared_and_never_name_a_section(tmp_path: Path) -> None:
    digest = build_digest(make_sample_project(tmp_path))
    shared = system_instructions(digest)
    assert shared == PREAMBLE + digest.text
    for spec in AGENT_SPECS:
        for section in spec.sections:
            # The digest quotes the project (package.json has "devDependencies"), so only
            # headings are excluded there; the preamble never mentions a section at all.
            assert f"## {section}" not in shared
            assert section.casefold() not in PREAMBLE.casefold()


def test_user_message_names_task_sections_and_inputs() -> None:
    spec = spec_by_name("progress")
    message = user_message(
        spec,
        {"projectbrief": "# Brief\n\n## Overview\nA widget store.\n", "techContext": None},
    )
    assert message.startswith(
        "Write the file `memory-bank/progress.md`.\n\n"
        + spec.task
        + "\n\nTarget length: about 560 words.\n\n"
    )
    assert "## What Works\n## What's Left to Build\n## Current Status\n## Known Issues\n" in message
    assert '<file name="projectbrief.md">\n# Brief\n\n## Overview\nA widget store.\n</file>' in (
        message
    )
    assert "- techContext.md is missing" in message
    assert "- productContext.md is missing" in message


def test_first_round_message_has_no_inputs() -> None:
    spec = spec_by_name("projectbrief")
    message = user_message(spec, {})
    assert message == (
        "Write the file `memory-bank/projectbrief.md`.\n\n"
        f"{spec.task}\n\n"
        "Target length: about 520 words.\n\n"
        "Required sections, as `##` headings in this order:\n"
        "## Overview\n## Core Requirements\n## Goals\n## Scope\n"
    )


def test_missing_sections() -> None:
    spec = spec_by_name("progress")
    markdown = (
        "# Progress\n\n## What works:\nall\n\n## What\u2019s left to build\nmore\n"
        "```\n## Current Status\n```\n"
    )
    assert missing_sections(spec, markdown) == ["Current Status", "Known Issues"]
    complete = markdown + "## Current  Status\nok\n## Known Issues ##\nnone\n"
    assert missing_sections(spec, complete) == []
    assert missing_sections(spec, "") == list(spec.sections)


def test_prompts_ask_for_what_an_assistant_needs_and_nothing_the_digest_lacks() -> None:
    preamble = PREAMBLE.casefold()
    for wanted in ("exact commands", "commit message style", "pitfalls and invariants"):
        assert wanted in preamble
    assert "never claim" in preamble and "test or benchmark results" in preamble
    assert "critical implementation paths" in spec_by_name("systemPatterns").task.casefold()
    assert "learnings" in spec_by_name("activeContext").task
    for spec in AGENT_SPECS:
        assert "failing" not in spec.task
        assert f"Target length: about {spec.target_words} words." in user_message(spec, {})
    assert [spec.target_words for spec in AGENT_SPECS] == [520, 560, 750, 680, 560, 560]
