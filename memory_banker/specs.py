"""The six memory-bank agents as data, and the prompts they are given.

Prompt layout for provider prompt caching: every agent gets the *same* system instructions — a
common preamble followed by the context digest — so requests 2-6 of a run share a long identical
prefix. What differs (the agent's file, task, required ``##`` sections and its input files) comes
after it, in the user message. A section name is never written in the shared prefix.

The user message starts with the line ``Write the file `memory-bank/<file>`.``: anyone reading a
captured request tells the agents apart by it.

The agents run in three rounds (:data:`ROUNDS`, from each spec's ``depends_on``): projectbrief,
the foundation; then productContext, systemPatterns and techContext, each given projectbrief;
then activeContext and progress, given those four.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
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
    """Names of the agents whose files it reads as inputs: it runs in a later round."""
    expected_output_tokens: int
    """Typical length of the written file in tokens: the target length its prompt asks for, and
    what ``estimate`` assumes without history."""

    @property
    def target_words(self) -> int:
        """The target length in words given in the prompt: about 3/4 of a token each, rounded
        to tens."""
        return 10 * round(self.expected_output_tokens * 0.075)


_ROUND_TWO = ("productContext", "systemPatterns", "techContext")

AGENT_SPECS: tuple[AgentSpec, ...] = (
    AgentSpec(
        name="projectbrief",
        file="projectbrief.md",
        task=(
            "Write the project brief: the foundation document every other memory-bank file builds"
            " on. Say in one sentence what the project is (from its manifests or README), what it"
            " must do (its public commands, entry points or library interface, as the digest shows"
            " them), what it aims at, and where its boundaries lie: which top-level folders hold"
            " the product and which hold tests, examples, docs or tooling."
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
            " users, how it works from a user's point of view (the commands, the API calls or the"
            " configuration a user writes, as the README and the entry points show them), and the"
            " experience it aims for. Build on the project brief without repeating it."
        ),
        sections=(
            "Why This Project Exists",
            "Problems It Solves",
            "How It Works",
            "User Experience Goals",
        ),
        depends_on=("projectbrief",),
        expected_output_tokens=750,
    ),
    AgentSpec(
        name="systemPatterns",
        file="systemPatterns.md",
        task=(
            "Write the system patterns: how the code is organised (the main modules and what each"
            " is responsible for, from the repo map), the key technical decisions visible in the"
            " code, the design patterns it uses, and how its components relate (which modules"
            " import which). Include a `### Critical implementation paths` subsection that follows"
            " one or two central operations through the named modules and functions, and say"
            " where a new command or feature would be added. Build on the project brief."
        ),
        sections=(
            "Architecture",
            "Key Technical Decisions",
            "Design Patterns",
            "Component Relationships",
        ),
        depends_on=("projectbrief",),
        expected_output_tokens=1000,
    ),
    AgentSpec(
        name="techContext",
        file="techContext.md",
        task=(
            "Write the technical context: languages, frameworks and tools in use; how to set up a"
            " development environment, with the exact commands to install, test, lint, format,"
            " build and run as the manifests, Makefile, task runner or CI files give them; the"
            " declared dependencies (runtime apart from development and optional ones, with the"
            " manifest that declares them); and the constraints a contributor must respect:"
            " supported language versions, formatter and linter settings, and the commit message"
            " style seen in the git log. Build on the project brief."
        ),
        sections=(
            "Technologies",
            "Development Setup",
            "Dependencies",
            "Technical Constraints",
        ),
        depends_on=("projectbrief",),
        expected_output_tokens=900,
    ),
    AgentSpec(
        name="activeContext",
        file="activeContext.md",
        task=(
            "Write the active context: what the project is working on now, judged from the recent"
            " commits and the files they touched, the uncommitted changes and the TODO/FIXME"
            " comments the digest quotes with their location; the recent changes grouped by area;"
            " what should come next; and the decisions in play, with the learnings and project"
            " insights (preferences and patterns) a newcomer should follow. Build on the four"
            " input files and do not repeat them."
        ),
        sections=("Current Focus", "Recent Changes", "Next Steps", "Active Decisions"),
        depends_on=("projectbrief", *_ROUND_TWO),
        expected_output_tokens=750,
    ),
    AgentSpec(
        name="progress",
        file="progress.md",
        task=(
            "Write the progress file: what already works (features present in the code), what is"
            " left to build (TODO/FIXME comments with their location, README promises the code"
            " does not keep yet), the current status (version, changelog head, recent activity),"
            " and the known issues (FIXME/HACK/XXX comments with their location, gaps between the"
            " README and the code). Build on the four input files and do not repeat them."
        ),
        sections=("What Works", "What's Left to Build", "Current Status", "Known Issues"),
        depends_on=("projectbrief", *_ROUND_TWO),
        expected_output_tokens=750,
    ),
)
"""The six agents in their canonical order (the order of files in reports and listings)."""

AGENT_NAMES: tuple[str, ...] = tuple(spec.name for spec in AGENT_SPECS)
"""The valid ``--agents`` names, in canonical order."""

_BY_NAME = {spec.name: spec for spec in AGENT_SPECS}


def plan_rounds(specs: Sequence[AgentSpec]) -> tuple[tuple[AgentSpec, ...], ...]:
    """Group ``specs`` into rounds: an agent runs after the selected agents it depends on.

    Agents whose inputs are not selected read them from the bank instead, so they run as early as
    their selected inputs allow. Raises ``UsageError`` on a dependency cycle (none among the six).
    """
    remaining = list(specs)
    done: set[str] = set()
    selected = {spec.name for spec in specs}
    rounds: list[tuple[AgentSpec, ...]] = []
    while remaining:
        ready = tuple(
            spec
            for spec in remaining
            if all(dep in done or dep not in selected for dep in spec.depends_on)
        )
        if not ready:
            names = ", ".join(spec.name for spec in remaining)
            raise UsageError(f"the agents {names} depend on each other in a cycle")
        rounds.append(ready)
        done.update(spec.name for spec in ready)
        remaining = [spec for spec in remaining if spec.name not in done]
    return tuple(rounds)


ROUNDS: tuple[tuple[AgentSpec, ...], ...] = plan_rounds(AGENT_SPECS)
"""The three rounds of a full run: projectbrief; then productContext, systemPatterns and
techContext, each given projectbrief; then activeContext and progress, given the four."""

PREAMBLE = """\
You are one of six writers of a memory bank: a set of markdown files that an AI coding assistant \
reads at the start of every session, with no memory of earlier ones, to pick up work on a \
software project. Each writer produces one file; your file, its purpose, its required headings \
and its target length are given in the user message.

Write what that assistant needs to make a correct change: where the code for a feature lives and \
where a new command or feature would go; the exact commands to install, test, lint, format, \
build and run, copied from the manifests, Makefile, task runner or CI files in the digest; the \
conventions to follow (formatter and linter settings, naming, the commit message style seen in \
the git log); and the pitfalls and invariants visible in the code.

Rules:
- Use only facts found in the project digest below and in the input files you are given. Name a \
file, symbol, dependency or command only if the digest shows it. Where the digest does not say, \
write what was looked at and that it does not say, rather than guessing.
- The digest holds no test or benchmark results, coverage, issue tracker or usage figures: never \
claim any of them.
- Be specific: name real files, folders, classes, functions, commands, packages and commits.
- Say each thing once. State a figure (a count, a share, a version) only where it helps, and do \
not repeat what an input file already says: refer to that file instead.
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
        f"Target length: about {spec.target_words} words.",
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
