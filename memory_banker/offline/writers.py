"""The six offline writers: each memory-bank file written from the project digest's facts alone.

Every file has the same required ``##`` sections as the file a model writes, in order. What fills
them comes from the digest: the project's one-sentence summary and README, the repo map (modules
with their docstring's first line, key classes and functions, and the import graph between them),
the commands read from manifests, Makefiles and CI, the declared dependencies, the conventions
(configuration files, commit subjects), the TODO/FIXME comments with their location and the recent
commits with the files they touched. Every statement names its evidence; an absence says what
was checked. Each figure (a language share, a count of files, tests or commits) is given in one
file only. The first line says the file was generated offline. The text depends only on the
repository state, so the same state gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from memory_banker.digest.facts import ProjectFacts
from memory_banker.offline.conventions import commit_style, tool_lines
from memory_banker.offline.phrases import (
    auxiliary_scripts,
    bullets,
    changed_areas,
    ci_summary,
    code,
    code_shares,
    commit_area,
    commit_line,
    count_of,
    dependency_lines,
    folder_lines,
    language_names,
    layout_patterns,
    library_patterns,
    manifests_checked,
    program_entries,
    script_modules,
    test_summary,
)
from memory_banker.offline.structure import (
    critical_path,
    entry_path,
    importers,
    key_symbols,
    module_map,
    most_depended_on,
    package_relationships,
    path_of_target,
    public_interface,
    source_modules,
    symbol_phrase,
)
from memory_banker.specs import AgentSpec

OFFLINE_NOTE = (
    "_Written by memory-banker's offline engine from a static scan of the repository; no language"
    " model was involved. Run without `--offline` for a model-written version._"
)
"""The line under every offline file's title."""


@dataclass(frozen=True)
class _Scan:
    """What every writer reads: the digest's facts and the list of files it scanned."""

    facts: ProjectFacts
    files: tuple[str, ...]


def render_offline(spec: AgentSpec, facts: ProjectFacts, files: Sequence[str] = ()) -> str:
    """Return the markdown of ``spec``'s file written from ``facts`` and the scanned ``files``.

    The first line is the title and says the file was generated offline; every required section
    of ``spec`` follows, in order. Raises ``KeyError`` for a spec that is not one of the six.
    """
    sections = _WRITERS[spec.name](_Scan(facts, tuple(files)))
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

# --- projectbrief -------------------------------------------------------------------------


def _summary(facts: ProjectFacts) -> str:
    """The one sentence saying what the project is, with its source; or what was checked."""
    summary = facts.summary or facts.description
    if summary:
        source = f" (from `{facts.summary_source}`)" if facts.summary_source else ""
        return f"**{facts.name}**: {summary.rstrip('.')}{source}."
    return (
        f"**{facts.name}**. Neither a manifest description nor a README paragraph says what it"
        f" is ({manifests_checked(facts)}; README: "
        + ("read, no descriptive paragraph" if not facts.readme else "read")
        + ")."
    )


def _projectbrief(scan: _Scan) -> dict[str, list[str]]:
    facts = scan.facts
    overview = [_summary(facts)]
    languages = language_names(facts)
    if languages:
        overview += ["", f"Written in {languages}."]
    requirements = [f"Provide the entry point {entry}." for entry in program_entries(facts)]
    counts = importers(facts)
    central = [m.path for m in source_modules(facts) if counts.get(m.path, 0) > 0][:3]
    if central:
        requirements.append(
            "Keep the interfaces of the most depended-on modules working: "
            + ", ".join(f"`{path}`" for path in central)
            + "."
        )
    if facts.runtimes:
        requirements.append("Support the declared runtimes: " + ", ".join(facts.runtimes) + ".")
    if _readme_adds(facts):
        goals = [f"From the README: {facts.readme}"]
    else:
        goals = ["The README states no goal beyond the summary above (its first paragraph read)."]
    scope = ["The repository, one line per top-level folder:", "", *folder_lines(facts)]
    return {
        "Overview": overview,
        "Core Requirements": bullets(
            requirements,
            "- Nothing to require: no entry point, imported module or declared runtime (entry"
            " points, repo map and manifests checked).",
        ),
        "Goals": goals,
        "Scope": scope,
    }


def _readme_adds(facts: ProjectFacts) -> bool:
    """Whether the README paragraph says more than the one-sentence summary."""
    readme = facts.readme.strip().rstrip(".").casefold()
    return bool(readme) and readme not in facts.summary.casefold()


_ENTRY_CHECKS = (
    "console scripts, package bin and main, main packages and `__main__` modules checked"
)

# --- productContext -----------------------------------------------------------------------


def _productcontext(scan: _Scan) -> dict[str, list[str]]:
    facts = scan.facts
    description = facts.description.rstrip(".")
    said = (facts.summary + " " + (facts.readme if _readme_adds(facts) else "")).casefold()
    why = []
    if description and description.casefold() not in said:
        why.append(f"The package describes itself as: {description}.")
    why.append(
        ("\n" if why else "")
        + "The project's own statement of purpose is the summary and README paragraph quoted in"
        " projectbrief.md; no other document in the digest says why it exists"
        f" ({manifests_checked(facts)}, README)."
    )
    problems = _problems(facts)
    program = program_entries(facts)
    how = ["Entry points:", "", *bullets(program, f"- None declared ({_ENTRY_CHECKS}).")]
    runs = [c for c in facts.commands if c.kind == "run"]
    if runs:
        how += ["", "Run commands:", ""]
        how += bullets([f"{code(c.command)} (from `{c.source}`)" for c in runs], "")
    scripts = script_modules(facts)
    if scripts:
        how += ["", "Modules that also run on their own (a `__main__` block):", ""]
        how += bullets([entry.removesuffix(" (runs as a script)") for entry in scripts], "")
    auxiliary = auxiliary_scripts(facts)
    if auxiliary:
        how += ["", "Besides the program:", *bullets(auxiliary, "")]
    interfaces = [entry for entry in program if entry.startswith(("console script", "package bin"))]
    if interfaces:
        ux = ["Users meet the project through:", "", *bullets(interfaces, "")]
    elif program:
        ux = [
            "No console script or package bin is declared: users reach it through the entry"
            " points above."
        ]
    else:
        ux = [
            f"No command-line entry point is declared ({_ENTRY_CHECKS}), so it is used as a"
            " library; its modules are listed in systemPatterns.md."
        ]
    return {
        "Why This Project Exists": why,
        "Problems It Solves": problems,
        "How It Works": how,
        "User Experience Goals": ux,
    }


def _problems(facts: ProjectFacts) -> list[str]:
    if facts.doc_titles:
        topics = [f"{title} (`{path}`)" for path, title in facts.doc_titles[:10]]
        return [
            "The documentation's titles name what users come for:",
            "",
            *bullets(topics, ""),
        ]
    return [
        "The problems it solves are stated only in the summary and README paragraph of"
        " projectbrief.md; the repository has no documentation titles that add to them (docs"
        " folder checked)."
    ]


# --- systemPatterns -----------------------------------------------------------------------


def _systempatterns(scan: _Scan) -> dict[str, list[str]]:
    facts = scan.facts
    modules = module_map(facts)
    if modules:
        architecture = [
            "The source modules, most depended-on first (ranked by the import graph), each with"
            " its docstring's first line and key definitions:",
            "",
            *bullets(modules, ""),
        ]
    else:
        architecture = [
            "The repo map holds no source module in a language the scan parses (tests, examples"
            " and docs are left out), so the architecture is not visible here.",
        ]
    decisions = [*facts.manifest_notes, *layout_patterns(facts), ci_summary(facts)]
    patterns = library_patterns(facts) + _central_types(facts)
    relationships = package_relationships(facts)
    hubs = most_depended_on(facts)
    if hubs:
        relationships.append(
            "Most imported (their importers are counted in the module map above): "
            + ", ".join(f"`{path}`" for path, _ in hubs)
            + "."
        )
    if not relationships:
        relationships.append(
            "No module of the repo map imports a module of another folder"
            " (imports between project files checked)."
        )
    connections = [*bullets(relationships, ""), "", "### Critical implementation paths", ""]
    connections += bullets(_paths(facts), "")
    return {
        "Architecture": architecture,
        "Key Technical Decisions": bullets(decisions, ""),
        "Design Patterns": bullets(
            patterns,
            "- No recognised library, layout or central type (checked the declared runtime"
            " dependencies, the top-level folders and the classes of the ranked modules).",
        ),
        "Component Relationships": connections,
    }


def _central_types(facts: ProjectFacts) -> list[str]:
    """Public classes of the three most depended-on modules: the types the rest builds on."""
    lines = []
    for module in source_modules(facts)[:3]:
        classes = [s for s in key_symbols(module) if s.kind != "function"]
        if classes:
            lines.append(
                f"Central types in `{module.path}`: "
                + ", ".join(symbol_phrase(s) for s in classes)
                + "."
            )
    return lines


def _paths(facts: ProjectFacts) -> list[str]:
    """Import chains from each program entry point (or, for a library, from its front module)
    through the modules it depends on most."""
    lines = []
    front = public_interface(facts)
    if front is not None:
        steps = " → ".join(f"`{path}`" for path in critical_path(facts, front))
        lines.append(f"From the public interface `{front}`: {steps}.")
        lines.append(f"A new public function or class is exported from `{front}`.")
    for entry in program_entries(facts)[:3]:
        start = entry_path(entry)
        if start is None and "->" in entry:
            start = path_of_target(entry.split("->", 1)[1].split("(", 1)[0].strip(), facts)
        if start is None or start == front:
            continue
        chain = critical_path(facts, start)
        steps = " → ".join(f"`{path}`" for path in chain)
        lines.append(f"From {entry}: {steps}.")
        lines.append(f"A new command or feature reachable from it starts in `{chain[0]}`.")
    if not lines:
        lines.append(
            "No entry point or package front module resolves to a module of the repo map, so"
            " no path is traced (entry points and repo map checked)."
        )
    return lines


# --- techContext --------------------------------------------------------------------------


def _techcontext(scan: _Scan) -> dict[str, list[str]]:
    facts = scan.facts
    technologies = [
        f"{name}: {percent or '<1'}% of code lines ({lines:,})"
        for name, lines, percent in code_shares(facts)
    ]
    other = [stat for stat in facts.languages if not stat.is_code]
    if other:
        technologies.append(
            "Other formats: " + ", ".join(f"{s.name} ({count_of(s.files, 'file')})" for s in other)
        )
    if facts.test_frameworks:
        evidence = f" ({'; '.join(facts.test_evidence)})" if facts.test_evidence else ""
        technologies.append("Test tools: " + ", ".join(facts.test_frameworks) + evidence)
    setup = ["Commands found in the manifests, Makefile, task runner and CI files:", ""]
    setup += bullets(
        [f"{code(c.command)} ({c.kind}, from `{c.source}`)" for c in facts.commands],
        f"- None: no test, lint, build or run command is declared ({manifests_checked(facts)},"
        " Makefile, justfile and CI files).",
    )
    setup += ["", ci_summary(facts)]
    constraints = [f"Runtime: {runtime}" for runtime in facts.runtimes]
    pinned = [d for d in facts.dependencies if d.spec.startswith("==") and d.group == "runtime"]
    if pinned:
        constraints.append(
            "Exact runtime pins: " + ", ".join(f"`{d.name}{d.spec}`" for d in pinned) + "."
        )
    constraints += tool_lines(facts, scan.files)
    if facts.git is not None:
        style = commit_style(facts.git.commits)
        if style is not None:
            constraints.append(style)
    dependencies = bullets(
        dependency_lines(facts), f"- No dependencies are declared ({manifests_checked(facts)})."
    )
    return {
        "Technologies": bullets(
            technologies, "- No recognised language: no listed file has a known extension."
        ),
        "Development Setup": setup,
        "Dependencies": dependencies,
        "Technical Constraints": bullets(
            constraints,
            "- No runtime version, pin, formatter or linter configuration is declared"
            f" ({manifests_checked(facts)}, configuration files).",
        ),
    }


# --- activeContext ------------------------------------------------------------------------


def _activecontext(scan: _Scan) -> dict[str, list[str]]:
    facts = scan.facts
    git = facts.git
    if git is None:
        no_git = ["The project is not a git work tree, so recent activity is unknown."]
        return {
            "Current Focus": no_git,
            "Recent Changes": no_git,
            "Next Steps": _next_steps(facts),
            "Active Decisions": _decision_records(scan),
        }
    areas = changed_areas(facts)
    focus = []
    if areas:
        focus.append(
            "The recent commits are mostly in: "
            + ", ".join(f"{area} ({count_of(count, 'commit')})" for area, count in areas[:5])
            + "."
        )
    if git.commits:
        focus.append(f"Latest commit: {commit_line(git.commits[0])}.")
    if git.status:
        focus.append(f"Uncommitted work on branch `{git.branch}`.")
    else:
        focus.append(f"Branch `{git.branch}`; the working tree is clean.")
    recent: list[str] = []
    for area, _ in areas:
        recent += ["", f"### {area}", ""]
        in_area = [c for c in git.commits if commit_area(c) == area]
        recent += bullets([commit_line(c, author=False) for c in in_area], "")
    if not recent:
        recent = ["No commits yet."]
    build_files = {p for p in facts.manifests if not p.upper().startswith("README")}
    build_files.update(item.partition(" (")[0] for item in facts.ci)
    manifest_commits = [
        f"`{commit.sha}` changed " + ", ".join(f"`{p}`" for p in commit.paths if p in build_files)
        for commit in git.commits
        if any(p in build_files for p in commit.paths)
    ]
    decisions = (
        [
            "Build, dependency or CI changes in the recent commits:",
            "",
            *bullets(manifest_commits, ""),
        ]
        if manifest_commits
        else ["No recent commit changed a manifest or CI file."]
    )
    decisions += ["", *_decision_records(scan)]
    return {
        "Current Focus": bullets(focus, "- Nothing to report."),
        "Recent Changes": recent[1:] if recent[0] == "" else recent,
        "Next Steps": _next_steps(facts),
        "Active Decisions": decisions,
    }


def _decision_records(scan: _Scan) -> list[str]:
    records = [
        path
        for path in scan.files
        if "/adr/" in f"/{path.lower()}" or path.rsplit("/", 1)[-1].upper().startswith("DECISION")
    ]
    if records:
        return ["Decision records:", "", *bullets([f"`{p}`" for p in records], "", 15)]
    return [
        "No decision record is in the repository (looked for adr folders and DECISIONS"
        " files); the commits above are the record."
    ]


def _next_steps(facts: ProjectFacts) -> list[str]:
    steps = []
    if facts.git is not None and facts.git.status:
        shown = ", ".join(code(line.strip()) for line in facts.git.status[:10])
        more = "" if len(facts.git.status) <= 10 else ", …"
        steps.append(f"Commit or discard the uncommitted changes: {shown}{more}")
    todos = [m for m in facts.markers if m.kind == "TODO"]
    if todos:
        first = todos[0]
        steps.append(
            f"Work through the TODO comments listed in progress.md, starting with `{first.path}`:"
            f" {first.text}"
        )
    issues = [m for m in facts.markers if m.kind != "TODO"]
    if issues:
        steps.append("Fix the FIXME/HACK/XXX comments listed under Known Issues in progress.md.")
    if not facts.test_files:
        steps.append(
            "Add automated tests: none exist yet (looked for test folders and test_/_test/.spec"
            " names)."
        )
    return bullets(
        steps,
        "- No uncommitted change or TODO/FIXME comment points at a next step"
        " (working tree and listed text files checked).",
        limit=30,
    )


# --- progress -----------------------------------------------------------------------------


def _progress(scan: _Scan) -> dict[str, list[str]]:
    facts = scan.facts
    works = []
    if program_entries(facts):
        works.append("The entry points listed in productContext.md are in place.")
    modules = source_modules(facts)
    if modules:
        works.append(f"{count_of(len(modules), 'source module')} in the repo map.")
    works += auxiliary_scripts(facts)
    if facts.test_files:  # their absence is a known issue, not something that works
        works.append(f"Tests: {test_summary(facts)}")
    if facts.ci:
        works.append("CI is configured (its files are named in techContext.md).")
    todos = [f"`{m.path}:{m.line}` {m.text}" for m in facts.markers if m.kind == "TODO"]
    if not facts.markers and (facts.todo_count or facts.fixme_count):
        todos.append(
            f"{count_of(facts.todo_count, 'TODO marker')} and"
            f" {count_of(facts.fixme_count, 'FIXME marker')} in the listed text files"
            " (their texts are not in the digest)."
        )
    status = []
    if facts.changelog:
        head = [line for line in facts.changelog.splitlines() if line.strip()][:6]
        path, *rest = head
        status += [f"Head of the changelog `{path}`:", "", "```", *rest, "```", ""]
    if facts.git is not None:
        git = facts.git
        status.append(
            f"Branch `{git.branch}` with {count_of(git.total_commits, 'commit')}"
            + (f"; last commit {git.head_date or git.commits[0].date}." if git.commits else ".")
        )
        window = git.recent_authors or git.authors
        if window:
            label = "in the 90 days before it" if git.recent_authors else "over the history"
            status.append(
                f"Authors {label}: " + ", ".join(f"{name} ({n})" for name, n in window[:8]) + "."
            )
        if git.status:
            status.append(
                f"Working tree: {count_of(len(git.status), 'path')} changed or untracked."
            )
    else:
        status.append("Not a git work tree: history is unknown.")
    issues = [f"`{m.path}:{m.line}` {m.kind}: {m.text}" for m in facts.markers if m.kind != "TODO"]
    if not facts.markers and facts.fixme_count:
        issues.append(
            f"{count_of(facts.fixme_count, 'FIXME marker')} in the listed text files (their"
            " texts are not in the digest)."
        )
    if not facts.test_files:
        issues.append(test_summary(facts))
    return {
        "What Works": bullets(
            works, "- Nothing detectable: no entry point, repo-map module or test was found."
        ),
        "What's Left to Build": bullets(
            todos,
            "- No TODO comment in the listed text files; what is left is not written down in"
            " the repository.",
        ),
        "Current Status": status,
        "Known Issues": bullets(
            issues, "- No FIXME, HACK or XXX comment in the listed text files."
        ),
    }


_WRITERS: dict[str, Callable[[_Scan], dict[str, list[str]]]] = {
    "projectbrief": _projectbrief,
    "productContext": _productcontext,
    "systemPatterns": _systempatterns,
    "techContext": _techcontext,
    "activeContext": _activecontext,
    "progress": _progress,
}
