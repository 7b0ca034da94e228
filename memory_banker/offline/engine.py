"""The offline engine: an in-process Agents SDK ``Model`` that writes the memory bank from the
digest's facts, with no network and no key (``--offline``, DESIGN §6).

It plugs into the same pipeline as a real model: ``Agent(..., model=offline_model(digest))`` and
``Runner.run`` call :meth:`OfflineModel.get_response` (or ``stream_response``), and the
``token_tracking`` hooks see an ordinary ``ModelResponse``.

- **Which file**: one model instance serves all six agents. It reads the agent's file from the
  first line of the user message (``Write the file `memory-bank/<file>`.``, see
  :func:`memory_banker.specs.spec_for_message`), so a prompt that names no bank file is an error.
- **What it writes**: :func:`render_offline` — the same required ``##`` sections as the LLM
  agents, from static facts only (languages and their share of lines, entry points, dependencies,
  tests and CI, one line per top folder, git activity, TODO/FIXME counts, README summary). The
  first line says the file was generated offline.
- **Deterministic**: the text depends only on the digest facts, which depend only on the
  repository state (no timestamps, no absolute paths), so the same state gives the same bytes.
- **Real usage**: ``input_tokens`` is the tokenizer count of the prompt it was given (each
  message's text plus ``MESSAGE_OVERHEAD``: for one system and one user message exactly
  :func:`memory_banker.tokenizer.count_prompt_tokens`), ``output_tokens`` the count of the file
  it wrote, one request, no cached or reasoning tokens.

This module imports ``agents`` at the top (≈ 1.6 s). That is acceptable only because the pipeline
imports this module lazily, on the ``--offline`` path, after the key check; nothing on the
``tokens``/``pricing`` paths may import it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.model_settings import ModelSettings
from agents.models.interface import Model, ModelTracing
from agents.tool import Tool
from agents.usage import Usage
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseUsage,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from memory_banker.digest.build import Digest, ProjectFacts
from memory_banker.errors import MemoryBankerError
from memory_banker.specs import AgentSpec, spec_for_message
from memory_banker.tokenizer import MESSAGE_OVERHEAD, count_tokens

OFFLINE_MODEL_NAME = "offline"
"""The model name the offline engine reports; its reports say source and model ``offline``."""

OFFLINE_NOTE = (
    "_Written by memory-banker's offline engine from a static scan of the repository; no language"
    " model was involved. Run without `--offline` for a model-written version._"
)

_MAX_LISTED = 40


class OfflineRequestError(MemoryBankerError):
    """The offline engine was asked for something other than a memory-bank file."""


# --- the Model ---------------------------------------------------------------------------------


class OfflineModel(Model):
    """An Agents SDK model that answers each memory-bank agent with :func:`render_offline`."""

    def __init__(self, digest: Digest) -> None:
        self.digest = digest

    def _answer(
        self, system_instructions: str | None, input: str | list[TResponseInputItem]
    ) -> tuple[AgentSpec, str, int]:
        messages = _user_texts(input)
        spec = next((s for s in map(spec_for_message, messages) if s is not None), None)
        if spec is None:
            raise OfflineRequestError(
                "the offline engine writes memory-bank files only, and this prompt names none"
            )
        text = render_offline(spec, self.digest.facts)
        prompt_tokens = sum(count_tokens(message) + MESSAGE_OVERHEAD for message in messages)
        if system_instructions is not None:
            prompt_tokens += count_tokens(system_instructions) + MESSAGE_OVERHEAD
        return spec, text, prompt_tokens

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        """Return the agent's file as one assistant message, with its real token usage.

        Raises ``OfflineRequestError`` when the prompt names no memory-bank file.
        """
        spec, text, prompt_tokens = self._answer(system_instructions, input)
        completion_tokens = count_tokens(text)
        return ModelResponse(
            output=[_message(spec, text)],
            usage=Usage(
                requests=1,
                input_tokens=prompt_tokens,
                output_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
            response_id=_response_id(spec),
        )

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        """Yield the file as created, one text delta and completed events (usage on the last).

        Raises ``OfflineRequestError`` when the prompt names no memory-bank file.
        """
        spec, text, prompt_tokens = self._answer(system_instructions, input)
        completion_tokens = count_tokens(text)
        message = _message(spec, text)
        usage = ResponseUsage(
            input_tokens=prompt_tokens,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens=completion_tokens,
            output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
            total_tokens=prompt_tokens + completion_tokens,
        )
        yield ResponseCreatedEvent(
            type="response.created",
            response=_response(spec, [], None, "in_progress"),
            sequence_number=0,
        )
        yield ResponseTextDeltaEvent(
            type="response.output_text.delta",
            item_id=message.id,
            output_index=0,
            content_index=0,
            delta=text,
            logprobs=[],
            sequence_number=1,
        )
        yield ResponseCompletedEvent(
            type="response.completed",
            response=_response(spec, [message], usage, "completed"),
            sequence_number=2,
        )


def offline_model(digest: Digest) -> OfflineModel:
    """Return the offline model for a run over ``digest`` (one instance serves all six agents)."""
    return OfflineModel(digest)


def _user_texts(input: str | list[TResponseInputItem]) -> list[str]:
    """The text of each input message (a plain string is one user message)."""
    if isinstance(input, str):
        return [input]
    texts: list[str] = []
    for item in input:
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            parts = [part.get("text", "") for part in content if isinstance(part, dict)]
            texts.append("".join(str(part) for part in parts))
    return texts


def _response_id(spec: AgentSpec) -> str:
    return f"offline-{spec.name}"


def _message(spec: AgentSpec, text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=f"msg-offline-{spec.name}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


def _response(
    spec: AgentSpec, output: list[Any], usage: ResponseUsage | None, status: Any
) -> Response:
    return Response(
        id=_response_id(spec),
        object="response",
        created_at=0,
        model=OFFLINE_MODEL_NAME,
        output=output,
        parallel_tool_calls=False,
        tool_choice="none",
        tools=[],
        usage=usage,
        status=status,
    )


# --- the writer ----------------------------------------------------------------------------------


def render_offline(spec: AgentSpec, facts: ProjectFacts) -> str:
    """Return the markdown of ``spec``'s file written from ``facts`` alone.

    The first line is the title and says the file was generated offline; every required section
    of ``spec`` follows, in order. Raises ``KeyError`` for a spec that is not one of the six.
    """
    sections = _WRITERS[spec.name](facts)
    lines = [f"# {_TITLES[spec.name]}: {facts.name} (generated offline)", "", OFFLINE_NOTE]
    for section in spec.sections:
        lines += ["", f"## {section}", "", *sections[section]]
    return "\n".join(lines).rstrip("\n") + "\n"


_TITLES = {
    "projectbrief": "Project Brief",
    "productContext": "Product Context",
    "systemPatterns": "System Patterns",
    "techContext": "Technical Context",
    "activeContext": "Active Context",
    "progress": "Progress",
}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _code_shares(facts: ProjectFacts) -> list[tuple[str, int, int]]:
    """(language, lines, percent of code lines) for code languages, most lines first."""
    code = [stat for stat in facts.languages if stat.is_code]
    total = sum(stat.lines for stat in code)
    if total == 0:
        return []
    return [(stat.name, stat.lines, round(100 * stat.lines / total)) for stat in code]


def _language_summary(facts: ProjectFacts) -> str:
    shares = _code_shares(facts)
    if not shares:
        return "No source code in a recognised language was found."
    parts = [f"{name} ({percent}% of {lines:,} code lines)" for name, lines, percent in shares[:1]]
    parts += [f"{name} {percent}%" for name, _, percent in shares[1:4]]
    return "Written mainly in " + ", ".join(parts) + "."


def _folder_lines(facts: ProjectFacts) -> list[str]:
    lines = []
    for folder in facts.top_folders:
        label = "project root" if folder.name == "." else f"`{folder.name}/`"
        languages = f"; {', '.join(folder.languages)}" if folder.languages else ""
        lines.append(
            f"- {label}: {_plural(folder.files, 'file')}, {_plural(folder.lines, 'line')}"
            f"{languages}{_folder_role(folder.name, facts)}"
        )
    return lines or ["- No files were found."]


def _folder_role(name: str, facts: ProjectFacts) -> str:
    lowered = name.lower()
    if any(path.startswith(f"{name}/") for path in facts.test_files) and lowered in {
        "tests",
        "test",
        "spec",
        "__tests__",
    }:
        return " (tests)"
    roles = {
        ".github": " (CI and repository settings)",
        "docs": " (documentation)",
        "doc": " (documentation)",
        "scripts": " (scripts)",
        "examples": " (examples)",
        "benchmarks": " (benchmarks)",
        ".ci": " (CI scripts)",
    }
    return roles.get(lowered, "")


def _bullets(items: Sequence[str], empty: str, limit: int = _MAX_LISTED) -> list[str]:
    if not items:
        return [empty]
    # An item already shaped as a nested bullet ("  - …") is kept as it is.
    lines = [item if item.lstrip().startswith("- ") else f"- {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"- … and {len(items) - limit} more")
    return lines


def _dependency_lines(facts: ProjectFacts) -> list[str]:
    return [
        f"`{d.name}` {d.spec} ({d.manifest}, {d.group})"
        if d.spec
        else f"`{d.name}` ({d.manifest}, {d.group})"
        for d in facts.dependencies
    ]


def _test_summary(facts: ProjectFacts) -> str:
    if not facts.test_files:
        return "No test files were found."
    frameworks = f" using {', '.join(facts.test_frameworks)}" if facts.test_frameworks else ""
    return f"{_plural(len(facts.test_files), 'test file')}{frameworks}."


def _ci_summary(facts: ProjectFacts) -> str:
    if not facts.ci:
        return "No CI configuration was found."
    quoted = []
    for item in facts.ci:
        path, _, name = item.partition(" (")
        quoted.append(f"`{path}` ({name}" if name else f"`{path}`")
    return "CI is configured in " + ", ".join(quoted) + "."


def _readme_or(facts: ProjectFacts, fallback: str) -> str:
    if facts.readme:
        return f"From the README: {facts.readme}"
    if facts.description:
        return f"From the package description: {facts.description.rstrip('.')}."
    return fallback


def _markers(facts: ProjectFacts) -> str:
    return (
        f"{_plural(facts.todo_count, 'TODO marker')} and "
        f"{_plural(facts.fixme_count, 'FIXME marker')} in the scanned files."
    )


def _marker_files(facts: ProjectFacts) -> list[str]:
    """Nested bullets: the files with the most markers, TODO and FIXME counted together."""
    return [
        f"  - `{path}`: {_plural(count, 'TODO/FIXME marker')}" for path, count in facts.todo_files
    ]


# Top folders whose runnable files are tools around the project, not ways into the program.
_AUXILIARY_FOLDERS = frozenset(
    {"benchmarks", "bench", "examples", "example", "docs", "doc", "scripts", "tools"}
)


def _entry_folder(entry: str) -> str | None:
    """The top folder of a file entry point (one that starts with a quoted path); else None."""
    match = re.match(r"`([^`/]+)/", entry)
    return match.group(1) if match else None


def _program_entries(facts: ProjectFacts) -> list[str]:
    """Entry points into the program itself: auxiliary scripts (benchmarks, examples…) left out."""
    return [e for e in facts.entry_points if _entry_folder(e) not in _AUXILIARY_FOLDERS]


def _auxiliary_scripts(facts: ProjectFacts) -> list[str]:
    """One line per auxiliary folder with runnable scripts, e.g. benchmarks."""
    folders = Counter(
        folder
        for folder in map(_entry_folder, facts.entry_points)
        if folder is not None and folder in _AUXILIARY_FOLDERS
    )
    return [
        f"{_plural(count, 'script')} in `{folder}/` "
        + ("runs on its own." if count == 1 else "run on their own.")
        for folder, count in sorted(folders.items())
    ]


def _changed_areas(facts: ProjectFacts) -> list[tuple[str, int]]:
    if facts.git is None:
        return []
    areas: Counter[str] = Counter()
    for commit in facts.git.commits:
        touched = {
            path.split("/", 1)[0] + "/" if "/" in path else "project root" for path in commit.paths
        }
        areas.update(touched)
    return sorted(areas.items(), key=lambda item: (-item[1], item[0]))


def _commit_line(commit: Any) -> str:
    files = f" ({_plural(len(commit.paths), 'file')})" if commit.paths else ""
    return f"`{commit.sha}` {commit.date} {commit.author}: {commit.subject}{files}"


def _setup_commands(facts: ProjectFacts) -> list[str]:
    names = {path.rsplit("/", 1)[-1] for path in facts.manifests}
    groups = {d.group for d in facts.dependencies if d.manifest.endswith("pyproject.toml")}
    commands = []
    if "pyproject.toml" in names or "setup.cfg" in names or "setup.py" in names:
        extra = next((g for g in ("test", "tests", "dev") if g in groups), None)
        commands.append(f'`pip install -e ".[{extra}]"`' if extra else "`pip install -e .`")
    if any(path.rsplit("/", 1)[-1].startswith("requirements") for path in facts.manifests):
        commands.append("`pip install -r requirements.txt` (see the requirements files)")
    if "package.json" in names:
        commands.append("`npm install`")
    if "Cargo.toml" in names:
        commands.append("`cargo build`")
    if "go.mod" in names:
        commands.append("`go build ./...`")
    if "Gemfile" in names:
        commands.append("`bundle install`")
    if "pom.xml" in names:
        commands.append("`mvn package`")
    test_commands = {
        "pytest": "`pytest`",
        "unittest": "`python -m unittest`",
        "jest": "`npm test` (jest)",
        "vitest": "`npx vitest`",
        "mocha": "`npm test` (mocha)",
        "go test": "`go test ./...`",
        "cargo test": "`cargo test`",
        "rspec": "`bundle exec rspec`",
        "junit": "`mvn test`",
    }
    commands += [test_commands[name] for name in facts.test_frameworks if name in test_commands]
    return commands


_PATTERN_HINTS = {
    "click": "command-line interface built with click",
    "typer": "command-line interface built with typer",
    "argparse": "command-line interface built with argparse",
    "fastapi": "HTTP API with FastAPI",
    "flask": "web application with Flask",
    "django": "web application with Django",
    "express": "HTTP server with Express",
    "react": "component-based UI with React",
    "vue": "component-based UI with Vue",
    "pydantic": "validated data models with pydantic",
    "sqlalchemy": "database access through SQLAlchemy",
    "httpx": "HTTP client calls with httpx",
    "requests": "HTTP client calls with requests",
    "openai-agents": "LLM agents with the OpenAI Agents SDK",
    "litellm": "LLM calls through LiteLLM",
    "rich": "terminal rendering with Rich",
    "tokio": "async runtime with tokio",
    "serde": "serialisation with serde",
    "gin": "HTTP server with gin",
}


def _patterns(facts: ProjectFacts) -> list[str]:
    found = []
    seen: set[str] = set()
    for dep in facts.dependencies:
        key = dep.name.split("[", 1)[0].lower().rsplit("/", 1)[-1]
        hint = _PATTERN_HINTS.get(key)
        if hint is not None and hint not in seen:
            seen.add(hint)
            found.append(f"{hint[0].upper()}{hint[1:]} (`{dep.name}` in {dep.manifest}).")
    folders = {folder.name for folder in facts.top_folders}
    if "src" in folders:
        found.append("A `src/` layout keeps importable code apart from the project root.")
    roots = [path for path in facts.manifests if path.rsplit("/", 1)[-1] in _PROJECT_MANIFESTS]
    if len(roots) > 1:
        found.append(
            "Several project manifests (" + ", ".join(f"`{p}`" for p in roots) + ") suggest"
            " more than one deliverable in one repository."
        )
    if facts.test_files:
        found.append(f"Automated tests: {_test_summary(facts)}")
    return found


_PROJECT_MANIFESTS = {
    "pyproject.toml",
    "package.json",
    "Cargo.toml",
    "go.mod",
    "pom.xml",
    "Gemfile",
}


def _projectbrief(facts: ProjectFacts) -> dict[str, list[str]]:
    description = facts.description.rstrip(".")
    overview = [f"**{facts.name}**" + (f": {description}." if description else ".")]
    if facts.readme:
        overview += ["", facts.readme]
    overview += [
        "",
        f"{_language_summary(facts)} The scan covered "
        f"{_plural(sum(f.files for f in facts.top_folders), 'file')} in "
        f"{_plural(len([f for f in facts.top_folders if f.name != '.']), 'top-level folder')}.",
    ]
    requirements = [f"Provide the entry point {entry}." for entry in _program_entries(facts)]
    requirements.append(
        f"Keep the tests passing: {_test_summary(facts)}"
        if facts.test_files
        else "Add automated tests: none were found."
    )
    if facts.runtimes:
        requirements.append("Support the declared runtimes: " + ", ".join(facts.runtimes) + ".")
    goals = [
        _readme_or(facts, "No goals are stated in the README or the manifests."),
        "",
        "A static scan cannot tell intentions apart from the current state; read the goals above"
        " as what the project describes itself as doing.",
    ]
    scope = ["The code base, one line per top-level folder:", "", *_folder_lines(facts)]
    return {
        "Overview": overview,
        "Core Requirements": _bullets(requirements, "- Not stated in the repository."),
        "Goals": goals,
        "Scope": scope,
    }


def _productcontext(facts: ProjectFacts) -> dict[str, list[str]]:
    why = [_readme_or(facts, "The repository does not say why it exists (no README summary).")]
    problems = (
        [f"The package describes itself as: {facts.description.rstrip('.')}."]
        if facts.description
        else []
    )
    problems.append(
        ("\nBeyond that description, the problems" if problems else "The problems")
        + " it solves are not visible to a static scan; the README and the entry points below"
        " are the best evidence."
    )
    program = _program_entries(facts)
    how = [
        _language_summary(facts),
        "",
        "Ways in:",
        *_bullets(program, "- No entry point was detected."),
    ]
    auxiliary = _auxiliary_scripts(facts)
    if auxiliary:
        how += ["", "Besides the program:", *_bullets(auxiliary, "")]
    ux = ["Users meet the project through:"]
    ux += _bullets(
        [entry for entry in program if entry.startswith(("console script", "package bin"))]
        or program,
        "- No user-facing interface was detected (it may be a library).",
    )
    return {
        "Why This Project Exists": why,
        "Problems It Solves": problems,
        "How It Works": how,
        "User Experience Goals": ux,
    }


def _systempatterns(facts: ProjectFacts) -> dict[str, list[str]]:
    architecture = ["One line per top-level folder:", "", *_folder_lines(facts)]
    decisions = [_language_summary(facts)]
    project_manifests = [p for p in facts.manifests if p.rsplit("/", 1)[-1] in _PROJECT_MANIFESTS]
    if project_manifests:
        decisions.append(
            "Built and packaged through " + ", ".join(f"`{p}`" for p in project_manifests) + "."
        )
    runtime = [d for d in facts.dependencies if d.group == "runtime"]
    if runtime:
        names = ", ".join(f"`{d.name}`" for d in runtime[:12])
        decisions.append(f"Runtime dependencies: {names}.")
    decisions.append(_ci_summary(facts))
    relationships = [f"{entry} starts the program." for entry in _program_entries(facts)]
    relationships += _auxiliary_scripts(facts)
    if facts.test_files:
        test_folders = sorted(
            {p.split("/", 1)[0] + "/" if "/" in p else p for p in facts.test_files}
        )
        relationships.append(
            "Tests in " + ", ".join(f"`{f}`" for f in test_folders) + " exercise the code."
        )
    return {
        "Architecture": architecture,
        "Key Technical Decisions": _bullets(decisions, "- None detected."),
        "Design Patterns": _bullets(
            _patterns(facts), "- No pattern is detectable by a static scan."
        ),
        "Component Relationships": _bullets(
            relationships, "- No entry points or tests were found to relate."
        ),
    }


def _techcontext(facts: ProjectFacts) -> dict[str, list[str]]:
    technologies = [
        f"{name}: {percent}% of code lines ({lines:,})"
        for name, lines, percent in _code_shares(facts)
    ]
    other = [stat for stat in facts.languages if not stat.is_code]
    if other:
        technologies.append(
            "Other formats: " + ", ".join(f"{s.name} ({_plural(s.files, 'file')})" for s in other)
        )
    if facts.test_frameworks:
        technologies.append("Test tools: " + ", ".join(facts.test_frameworks))
    setup = [
        "Commands implied by the manifests:",
        "",
        *_bullets(_setup_commands(facts), "- None: no build manifest was found."),
    ]
    setup += ["", _ci_summary(facts)]
    constraints = []
    if facts.runtimes:
        constraints += [f"Runtime: {runtime}" for runtime in facts.runtimes]
    pinned = [d for d in facts.dependencies if d.spec.startswith("==")]
    if pinned:
        constraints.append("Exact pins: " + ", ".join(f"`{d.name}{d.spec}`" for d in pinned))
    constraints.append(
        "Secrets: files that look like keys or credentials are never read by the scan; keep"
        " keys in the environment, not in the repository."
    )
    return {
        "Technologies": _bullets(technologies, "- No recognised language was found."),
        "Development Setup": setup,
        "Dependencies": _bullets(
            _dependency_lines(facts), "- No dependencies are declared in a manifest."
        ),
        "Technical Constraints": _bullets(constraints, "- None declared."),
    }


def _activecontext(facts: ProjectFacts) -> dict[str, list[str]]:
    git = facts.git
    if git is None:
        no_git = ["The project is not a git work tree, so recent activity is unknown."]
        return {
            "Current Focus": no_git,
            "Recent Changes": no_git,
            "Next Steps": _next_steps(facts),
            "Active Decisions": ["No decision record is visible to a static scan."],
        }
    areas = _changed_areas(facts)
    focus = []
    if areas:
        focus.append(
            f"The last {_plural(len(git.commits), 'commit')} touched: "
            + ", ".join(f"{area} ({_plural(count, 'commit')})" for area, count in areas)
            + "."
        )
    if git.commits:
        focus.append(f"Latest commit: {_commit_line(git.commits[0])}.")
    if git.status:
        focus.append(
            f"Uncommitted work on branch `{git.branch}`: {_plural(len(git.status), 'path')}"
            " changed or untracked."
        )
    else:
        focus.append(f"Branch `{git.branch}`; the working tree is clean.")
    recent = [
        "Last commits:",
        "",
        *_bullets([_commit_line(c) for c in git.commits], "- No commits yet."),
    ]
    recent += [
        "",
        "Commits by author: "
        + (", ".join(f"{name} ({count})" for name, count in git.authors) or "none")
        + ".",
    ]
    # The README is read with the manifests, but editing it is no build, dependency or CI change.
    build_files = {p for p in facts.manifests if not p.upper().startswith("README")}
    manifest_commits = [
        f"`{commit.sha}` changed " + ", ".join(f"`{p}`" for p in commit.paths if p in build_files)
        for commit in git.commits
        if any(p in build_files for p in commit.paths)
    ]
    decisions = (
        [
            "Build, dependency or CI changes in the recent commits:",
            "",
            *_bullets(manifest_commits, ""),
        ]
        if manifest_commits
        else ["No build, dependency or CI change in the recent commits."]
    )
    decisions += [
        "",
        "Decisions themselves are not visible to a static scan; see the commits above.",
    ]
    return {
        "Current Focus": _bullets(focus, "- Nothing to report."),
        "Recent Changes": recent,
        "Next Steps": _next_steps(facts),
        "Active Decisions": decisions,
    }


def _next_steps(facts: ProjectFacts) -> list[str]:
    steps = []
    if facts.git is not None and facts.git.status:
        steps.append(
            "Commit or discard the uncommitted changes: "
            + ", ".join(f"`{line}`" for line in facts.git.status[:10])
            + ("" if len(facts.git.status) <= 10 else ", …")
        )
    if facts.todo_count or facts.fixme_count:
        steps.append("Work through the markers: " + _markers(facts))
        steps += _marker_files(facts)
    if not facts.test_files:
        steps.append("Add automated tests: none were found.")
    if not facts.ci:
        steps.append("Add a CI workflow: none was found.")
    return _bullets(steps, "- Nothing pending is visible to a static scan.", limit=30)


def _progress(facts: ProjectFacts) -> dict[str, list[str]]:
    works = [f"{entry} is in place." for entry in _program_entries(facts)]
    works += _auxiliary_scripts(facts)
    if facts.test_files:  # their absence is a known issue, not something that works
        works.append(f"Tests: {_test_summary(facts)}")
    if facts.ci:
        works.append(_ci_summary(facts))
    markers = facts.todo_count or facts.fixme_count
    left = [_markers(facts), *_marker_files(facts)] if markers else []
    status = [_language_summary(facts)]
    if facts.git is not None:
        git = facts.git
        status.append(
            f"Branch `{git.branch}` with {_plural(git.total_commits, 'commit')} by "
            f"{_plural(len(git.authors), 'author')}"
            + (f"; last commit {git.commits[0].date}." if git.commits else ".")
        )
        status.append(
            "Working tree: clean."
            if not git.status
            else f"Working tree: {_plural(len(git.status), 'path')} changed or untracked."
        )
    else:
        status.append("Not a git work tree: history is unknown.")
    issues = []
    if facts.fixme_count:
        flag = "flags a known problem" if facts.fixme_count == 1 else "flag known problems"
        issues.append(
            f"{_plural(facts.fixme_count, 'FIXME marker')} {flag}; the files with the most"
            " TODO/FIXME markers:"
        )
        issues += _marker_files(facts)
    if not facts.test_files:
        issues.append("No automated tests were found.")
    if not facts.ci:
        issues.append("No CI configuration was found.")
    return {
        "What Works": _bullets(works, "- Nothing detectable."),
        "What's Left to Build": _bullets(
            left, "- No TODO or FIXME marker found; what is left is not visible to a static scan."
        ),
        "Current Status": _bullets(status, "- Unknown."),
        "Known Issues": _bullets(issues, "- None visible to a static scan."),
    }


_WRITERS: dict[str, Callable[[ProjectFacts], dict[str, list[str]]]] = {
    "projectbrief": _projectbrief,
    "productContext": _productcontext,
    "systemPatterns": _systempatterns,
    "techContext": _techcontext,
    "activeContext": _activecontext,
    "progress": _progress,
}
