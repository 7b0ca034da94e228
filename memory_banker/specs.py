"""The six memory-bank agents as data, and the prompts they are given.

Prompt layout for provider prompt caching: every agent gets the *same* system instructions — a
common preamble followed by the context digest — so requests 2-6 of a run share a long identical
prefix. What differs (the agent's file, task, required ``##`` sections and its input files) comes
after it, in the user message. A section name is never written in the shared prefix.

The user message starts with the line ``Write the file `memory-bank/<file>`.``: anyone reading a
captured request tells the agents apart by it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from memory_banker.errors import UsageError

BANK_DIR = "memory-bank"
"""The folder, relative to the project, that holds the six files (and the token reports)."""


@dataclass(frozen=True)
class AgentSpec:
    """One agent: which file it writes, what it is asked, and what the file must contain."""

    name: str
    """The agent's name, as given to ``--agents`` (e.g. ``projectbrief``)."""
    file: str
    """The file it writes inside ``memory-bank/`` (e.g. ``projectbrief.md``)."""
    task: str
    """What the agent is asked to write, in the user message."""
    sections: tuple[str, ...]
    """The ``##`` sections the file must contain, in order."""
    depends_on: tuple[str, ...]
    """Names of the agents whose files it reads as inputs (second round)."""
    expected_output_tokens: int
    """Typical length of the written file in tokens, used by ``estimate`` without history."""


_FIRST_FOUR = ("projectbrief", "productContext", "systemPatterns", "techContext")

AGENT_SPECS: tuple[AgentSpec, ...] = (
    AgentSpec(
        name="projectbrief",
        file="projectbrief.md",
        task=(
            "Write the project brief: the foundation document the other memory-bank files build"
            " on. Say what the project is, what it must do, what it aims at and where its"
            " boundaries lie, in plain statements a new contributor can trust."
        ),
        sections=("Overview", "Core Requirements", "Goals", "Scope"),
        depends_on=(),
        expected_output_tokens=700,
    ),
    AgentSpec(
        name="productContext",
        file="productContext.md",
        task=(
            "Write the product context: why the project exists, the problems it solves for its"
            " users, how it works from a user's point of view, and the experience it aims for."
        ),
        sections=(
            "Why This Project Exists",
            "Problems It Solves",
            "How It Works",
            "User Experience Goals",
        ),
        depends_on=(),
        expected_output_tokens=750,
    ),
    AgentSpec(
        name="systemPatterns",
        file="systemPatterns.md",
        task=(
            "Write the system patterns: how the code is organised, the key technical decisions"
            " visible in it, the design patterns it uses and how its components relate. Name"
            " real modules and folders from the digest."
        ),
        sections=(
            "Architecture",
            "Key Technical Decisions",
            "Design Patterns",
            "Component Relationships",
        ),
        depends_on=(),
        expected_output_tokens=900,
    ),
    AgentSpec(
        name="techContext",
        file="techContext.md",
        task=(
            "Write the technical context: languages, frameworks and tools in use, how to set up"
            " a development environment and run the tests, the declared dependencies, and the"
            " technical constraints a contributor must respect."
        ),
        sections=(
            "Technologies",
            "Development Setup",
            "Dependencies",
            "Technical Constraints",
        ),
        depends_on=(),
        expected_output_tokens=850,
    ),
    AgentSpec(
        name="activeContext",
        file="activeContext.md",
        task=(
            "Write the active context: what the project is working on now, judged from the recent"
            " commits, the working-tree status and open TODO/FIXME markers; what changed"
            " recently, what should come next and which decisions are in play."
        ),
        sections=("Current Focus", "Recent Changes", "Next Steps", "Active Decisions"),
        depends_on=_FIRST_FOUR,
        expected_output_tokens=750,
    ),
    AgentSpec(
        name="progress",
        file="progress.md",
        task=(
            "Write the progress file: what already works, what is left to build, the overall"
            " status, and the known issues (failing or missing tests, TODO/FIXME markers,"
            " gaps between the README and the code)."
        ),
        sections=("What Works", "What's Left to Build", "Current Status", "Known Issues"),
        depends_on=_FIRST_FOUR,
        expected_output_tokens=750,
    ),
)
"""The six agents in their canonical order (the order of files in reports and listings)."""

AGENT_NAMES: tuple[str, ...] = tuple(spec.name for spec in AGENT_SPECS)
"""The valid ``--agents`` names, in canonical order."""

FIRST_ROUND: tuple[AgentSpec, ...] = tuple(spec for spec in AGENT_SPECS if not spec.depends_on)
"""Agents that need no other file: they run concurrently first."""

SECOND_ROUND: tuple[AgentSpec, ...] = tuple(spec for spec in AGENT_SPECS if spec.depends_on)
"""Agents that read the first round's files: they run once those are written."""

_BY_NAME = {spec.name: spec for spec in AGENT_SPECS}

PREAMBLE = """\
You are one of six writers of a memory bank: a set of markdown files that lets a developer, or \
an AI assistant with no memory of earlier sessions, pick up work on a software project quickly. \
Each writer produces one file; your file, its purpose and its required headings are given in the \
user message.

Rules:
- Use only facts found in the project digest below and in the input files you are given. Where \
the digest does not say, write that it is not known rather than guessing.
- Be specific: name real files, folders, commands, packages and commits from the digest.
- Start the file with a single `# ` title line. Use every required `##` heading exactly as \
written, in the given order, each followed by at least one line of content. You may add `###` \
subheadings.
- Answer with the markdown of the file only: no introduction, no closing remarks, and no code \
fence around the whole file.
- Never reproduce anything that looks like a secret (keys, tokens, passwords), even if it \
appears redacted in the digest.

The project digest follows. It was built from the repository by a deterministic scan; secrets \
were withheld or redacted, and long files are excerpted.

"""
"""The common start of every agent's system instructions (no section name appears in it)."""


def spec_by_name(name: str) -> AgentSpec:
    """Return the spec named ``name``; raises ``UsageError`` listing the valid names."""
    spec = _BY_NAME.get(name)
    if spec is None:
        raise UsageError(_unknown_agent_message(name))
    return spec


def _unknown_agent_message(name: str) -> str:
    message = f"unknown agent {name!r}; valid names: {', '.join(AGENT_NAMES)}"
    close = difflib.get_close_matches(name, AGENT_NAMES, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return message


def select_agents(names: str | None) -> tuple[AgentSpec, ...]:
    """Return the specs named in a comma-separated ``--agents`` value, in canonical order.

    ``None`` or an empty value selects all six. Names match case-insensitively and may carry the
    ``.md`` suffix (``techContext.md``). Raises ``UsageError`` naming the unknown agent and listing
    the valid names.
    """
    if names is None or not names.strip():
        return AGENT_SPECS
    folded = {spec.name.lower(): spec.name for spec in AGENT_SPECS}
    chosen: set[str] = set()
    for raw in names.split(","):
        name = raw.strip()
        if not name:
            continue
        key = name.lower().removesuffix(".md")
        if key not in folded:
            raise UsageError(_unknown_agent_message(name))
        chosen.add(folded[key])
    if not chosen:
        raise UsageError(f"--agents names no agent; valid names: {', '.join(AGENT_NAMES)}")
    return tuple(spec for spec in AGENT_SPECS if spec.name in chosen)


class RenderedDigest(Protocol):
    """What the prompts need of a project digest: its rendered text."""

    @property
    def text(self) -> str:
        """The rendered digest (markdown)."""
        ...


def system_instructions(digest: RenderedDigest) -> str:
    """Return the system instructions shared by all six agents: the preamble, then the digest."""
    return PREAMBLE + digest.text


def user_message(spec: AgentSpec, inputs: Mapping[str, str | None]) -> str:
    """Return the user message of ``spec``: its task, required sections and input files.

    ``inputs`` maps agent names of ``spec.depends_on`` to that file's text, or to ``None`` (or no
    entry) when the file is missing; a missing input is said in a sentence instead.
    """
    lines = [
        f"Write the file `{BANK_DIR}/{spec.file}`.",
        "",
        spec.task,
        "",
        "Required sections, as `##` headings in this order:",
        *(f"## {section}" for section in spec.sections),
    ]
    if spec.depends_on:
        lines += ["", "Input files (other memory-bank files this one builds on):"]
        for name in spec.depends_on:
            dependency = _BY_NAME[name]
            text = inputs.get(name)
            if text is None:
                lines.append(
                    f"- {dependency.file} is missing: it was not generated and no earlier version"
                    " exists. Work from the digest alone for what it would have said."
                )
            else:
                lines += ["", f'<file name="{dependency.file}">', text.rstrip("\n"), "</file>"]
    return "\n".join(lines) + "\n"


def _normalise(heading: str) -> str:
    return " ".join(heading.replace("\u2019", "'").strip().rstrip(":").split()).casefold()


def missing_sections(spec: AgentSpec, markdown: str) -> list[str]:
    """Return the required sections of ``spec`` that ``markdown`` lacks as ``##`` headings.

    Headings match case-insensitively, ignoring extra spaces, a trailing colon and typographic
    apostrophes; headings inside fenced code blocks do not count. Empty list: all present.
    """
    found: set[str] = set()
    fence: str | None = None
    for line in markdown.splitlines():
        stripped = line.strip()
        marker = re.match(r"(`{3,}|~{3,})", stripped)
        if marker is not None:
            if fence is None:
                fence = marker.group(1)
            elif stripped.startswith(fence):
                fence = None
            continue
        if fence is None and stripped.startswith("## "):
            found.add(_normalise(stripped[3:].strip().rstrip("#")))
    return [section for section in spec.sections if _normalise(section) not in found]
