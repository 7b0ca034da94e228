"""The six offline writers: each memory-bank file written from a project's static facts alone.

Every file has the same required ``##`` sections as the file a model writes, in order, filled
from languages and their share of lines, entry points, dependencies, tests and CI, one line per top
folder, git activity, TODO/FIXME counts and the README summary. Its first line says it was
generated offline. The text depends only on the facts, which depend only on the repository state
(no timestamps, no absolute paths), so the same state gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from memory_banker.digest.facts import ProjectFacts
from memory_banker.offline.phrases import (
    PROJECT_MANIFESTS,
    auxiliary_scripts,
    bullets,
    changed_areas,
    ci_summary,
    code_shares,
    commit_line,
    count_of,
    dependency_lines,
    folder_lines,
    language_summary,
    marker_counts,
    marker_files,
    patterns,
    program_entries,
    readme_or,
    setup_commands,
    test_summary,
)
from memory_banker.specs import AgentSpec

OFFLINE_NOTE = (
    "_Written by memory-banker's offline engine from a static scan of the repository; no language"
    " model was involved. Run without `--offline` for a model-written version._"
)
"""The line under every offline file's title."""


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


def _projectbrief(facts: ProjectFacts) -> dict[str, list[str]]:
    description = facts.description.rstrip(".")
    overview = [f"**{facts.name}**" + (f": {description}." if description else ".")]
    if facts.readme:
        overview += ["", facts.readme]
    overview += [
        "",
        f"{language_summary(facts)} The scan covered "
        f"{count_of(sum(f.files for f in facts.top_folders), 'file')} in "
        f"{count_of(len([f for f in facts.top_folders if f.name != '.']), 'top-level folder')}.",
    ]
    requirements = [f"Provide the entry point {entry}." for entry in program_entries(facts)]
    requirements.append(
        f"Keep the tests passing: {test_summary(facts)}"
        if facts.test_files
        else "Add automated tests: none were found."
    )
    if facts.runtimes:
        requirements.append("Support the declared runtimes: " + ", ".join(facts.runtimes) + ".")
    goals = [
        readme_or(facts, "No goals are stated in the README or the manifests."),
        "",
        "A static scan cannot tell intentions apart from the current state; read the goals above"
        " as what the project describes itself as doing.",
    ]
    scope = ["The code base, one line per top-level folder:", "", *folder_lines(facts)]
    return {
        "Overview": overview,
        "Core Requirements": bullets(requirements, "- Not stated in the repository."),
        "Goals": goals,
        "Scope": scope,
    }


def _productcontext(facts: ProjectFacts) -> dict[str, list[str]]:
    why = [readme_or(facts, "The repository does not say why it exists (no README summary).")]
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
    program = program_entries(facts)
    how = [
        language_summary(facts),
        "",
        "Ways in:",
        *bullets(program, "- No entry point was detected."),
    ]
    auxiliary = auxiliary_scripts(facts)
    if auxiliary:
        how += ["", "Besides the program:", *bullets(auxiliary, "")]
    ux = ["Users meet the project through:"]
    ux += bullets(
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
    architecture = ["One line per top-level folder:", "", *folder_lines(facts)]
    decisions = [language_summary(facts)]
    project_manifests = [p for p in facts.manifests if p.rsplit("/", 1)[-1] in PROJECT_MANIFESTS]
    if project_manifests:
        decisions.append(
            "Built and packaged through " + ", ".join(f"`{p}`" for p in project_manifests) + "."
        )
    runtime = [d for d in facts.dependencies if d.group == "runtime"]
    if runtime:
        names = ", ".join(f"`{d.name}`" for d in runtime[:12])
        decisions.append(f"Runtime dependencies: {names}.")
    decisions.append(ci_summary(facts))
    relationships = [f"{entry} starts the program." for entry in program_entries(facts)]
    relationships += auxiliary_scripts(facts)
    if facts.test_files:
        test_folders = sorted(
            {p.split("/", 1)[0] + "/" if "/" in p else p for p in facts.test_files}
        )
        relationships.append(
            "Tests in " + ", ".join(f"`{f}`" for f in test_folders) + " exercise the code."
        )
    return {
        "Architecture": architecture,
        "Key Technical Decisions": bullets(decisions, "- None detected."),
        "Design Patterns": bullets(patterns(facts), "- No pattern is detectable by a static scan."),
        "Component Relationships": bullets(
            relationships, "- No entry points or tests were found to relate."
        ),
    }


def _techcontext(facts: ProjectFacts) -> dict[str, list[str]]:
    technologies = [
        f"{name}: {percent}% of code lines ({lines:,})"
        for name, lines, percent in code_shares(facts)
    ]
    other = [stat for stat in facts.languages if not stat.is_code]
    if other:
        technologies.append(
            "Other formats: " + ", ".join(f"{s.name} ({count_of(s.files, 'file')})" for s in other)
        )
    if facts.test_frameworks:
        technologies.append("Test tools: " + ", ".join(facts.test_frameworks))
    setup = [
        "Commands implied by the manifests:",
        "",
        *bullets(setup_commands(facts), "- None: no build manifest was found."),
    ]
    setup += ["", ci_summary(facts)]
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
        "Technologies": bullets(technologies, "- No recognised language was found."),
        "Development Setup": setup,
        "Dependencies": bullets(
            dependency_lines(facts), "- No dependencies are declared in a manifest."
        ),
        "Technical Constraints": bullets(constraints, "- None declared."),
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
    areas = changed_areas(facts)
    focus = []
    if areas:
        focus.append(
            f"The last {count_of(len(git.commits), 'commit')} touched: "
            + ", ".join(f"{area} ({count_of(count, 'commit')})" for area, count in areas)
            + "."
        )
    if git.commits:
        focus.append(f"Latest commit: {commit_line(git.commits[0])}.")
    if git.status:
        focus.append(
            f"Uncommitted work on branch `{git.branch}`: {count_of(len(git.status), 'path')}"
            " changed or untracked."
        )
    else:
        focus.append(f"Branch `{git.branch}`; the working tree is clean.")
    recent = [
        "Last commits:",
        "",
        *bullets([commit_line(c) for c in git.commits], "- No commits yet."),
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
            *bullets(manifest_commits, ""),
        ]
        if manifest_commits
        else ["No build, dependency or CI change in the recent commits."]
    )
    decisions += [
        "",
        "Decisions themselves are not visible to a static scan; see the commits above.",
    ]
    return {
        "Current Focus": bullets(focus, "- Nothing to report."),
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
        steps.append("Work through the markers: " + marker_counts(facts))
        steps += marker_files(facts)
    if not facts.test_files:
        steps.append("Add automated tests: none were found.")
    if not facts.ci:
        steps.append("Add a CI workflow: none was found.")
    return bullets(steps, "- Nothing pending is visible to a static scan.", limit=30)


def _progress(facts: ProjectFacts) -> dict[str, list[str]]:
    works = [f"{entry} is in place." for entry in program_entries(facts)]
    works += auxiliary_scripts(facts)
    if facts.test_files:  # their absence is a known issue, not something that works
        works.append(f"Tests: {test_summary(facts)}")
    if facts.ci:
        works.append(ci_summary(facts))
    markers = facts.todo_count or facts.fixme_count
    left = [marker_counts(facts), *marker_files(facts)] if markers else []
    status = [language_summary(facts)]
    if facts.git is not None:
        git = facts.git
        status.append(
            f"Branch `{git.branch}` with {count_of(git.total_commits, 'commit')} by "
            f"{count_of(len(git.authors), 'author')}"
            + (f"; last commit {git.commits[0].date}." if git.commits else ".")
        )
        status.append(
            "Working tree: clean."
            if not git.status
            else f"Working tree: {count_of(len(git.status), 'path')} changed or untracked."
        )
    else:
        status.append("Not a git work tree: history is unknown.")
    issues = []
    if facts.fixme_count:
        flag = "flags a known problem" if facts.fixme_count == 1 else "flag known problems"
        issues.append(
            f"{count_of(facts.fixme_count, 'FIXME marker')} {flag}; the files with the most"
            " TODO/FIXME markers:"
        )
        issues += marker_files(facts)
    if not facts.test_files:
        issues.append("No automated tests were found.")
    if not facts.ci:
        issues.append("No CI configuration was found.")
    return {
        "What Works": bullets(works, "- Nothing detectable."),
        "What's Left to Build": bullets(
            left, "- No TODO or FIXME marker found; what is left is not visible to a static scan."
        ),
        "Current Status": bullets(status, "- Unknown."),
        "Known Issues": bullets(issues, "- None visible to a static scan."),
    }


_WRITERS: dict[str, Callable[[ProjectFacts], dict[str, list[str]]]] = {
    "projectbrief": _projectbrief,
    "productContext": _productcontext,
    "systemPatterns": _systempatterns,
    "techContext": _techcontext,
    "activeContext": _activecontext,
    "progress": _progress,
}
