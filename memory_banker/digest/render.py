"""The digest's sections as text: identity header, manifests and commands, git, and repo map.

Each renderer takes facts and returns markdown; :mod:`~memory_banker.digest.budget` decides what
fits. Nothing here reads files or counts tokens, except the repo map, which stops at a limit.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from memory_banker.digest.facts import GitFacts, ModuleMap, ProjectFacts
from memory_banker.digest.rank import key_symbols
from memory_banker.tokenizer import count_tokens
from token_tracking.display import plural

MAX_COMMIT_PATHS = 8
"""Paths listed per commit; the rest are counted."""

MAX_SIGNATURE = 110
"""Signatures in the repo map are cut to this many characters."""


def render_header(facts: ProjectFacts, file_count: int, withheld: int) -> str:
    """Return the digest's first section: identity, languages, runtimes, entry points, tests."""
    lines = [f"# Project digest: {facts.name}", ""]
    if facts.summary:
        lines.append(f"Description: {facts.summary} (from {facts.summary_source})")
    code = [stat for stat in facts.languages if stat.is_code]
    if code:
        lines.append(
            "Languages (lines): " + ", ".join(f"{stat.name} {stat.lines}" for stat in code)
        )
    docs = [stat for stat in facts.languages if not stat.is_code]
    if docs:
        lines.append(
            "Docs, markup and data (lines, not code): "
            + ", ".join(f"{stat.name} {stat.lines}" for stat in docs)
        )
    if facts.runtimes:
        lines.append("Runtimes: " + ", ".join(facts.runtimes))
    lines.append(f"Files listed: {file_count}")
    if withheld:
        lines.append(f"Files withheld as possibly secret (never read): {withheld}")
    if facts.entry_points:
        lines.append("Entry points:")
        lines.extend(f"- {line}" for line in facts.entry_points)
    if facts.test_frameworks:
        tests = plural(len(facts.test_files), "test file")
        lines.append(f"Tests: {tests}; frameworks: {', '.join(facts.test_frameworks)}")
        lines.extend(f"- {line}" for line in facts.test_evidence)
    elif facts.test_files:
        lines.append(f"Tests: {plural(len(facts.test_files), 'test file')}; no framework found")
    if facts.ci:
        lines.append("CI: " + ", ".join(facts.ci))
    return "\n".join(lines) + "\n\n"


def render_manifests(facts: ProjectFacts) -> str:
    """Return ``## Manifests`` (what each declares, dependencies by manifest and group) and
    ``## Commands`` (each with its source)."""
    if not (facts.manifest_notes or facts.dependencies or facts.commands):
        return ""
    lines = ["## Manifests", ""]
    lines.extend(f"- {note}" for note in facts.manifest_notes)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for dep in facts.dependencies:
        groups[(dep.manifest, dep.group)].append(f"{dep.name}{' ' + dep.spec if dep.spec else ''}")
    if groups:
        lines.extend(["", "Dependencies:"])
        for (manifest, group), names in groups.items():
            lines.append(f"- {manifest} ({group}): {', '.join(names)}")
    if facts.commands:
        lines.extend(["", "## Commands", ""])
        for command in facts.commands:
            lines.append(f"- {command.kind}: `{command.command}` ({command.source})")
    return "\n".join(lines) + "\n\n"


def render_git(git: GitFacts | None, facts: ProjectFacts) -> str:
    """Return ``## Git`` (branch, authors, recent commits with files, status) and the TODO
    texts, changelog head and docs titles."""
    lines: list[str] = []
    if git is not None:
        lines += ["## Git", "", f"Branch: {git.branch}", f"Commits: {git.total_commits}"]
        if git.recent_authors:
            lines.append(
                f"Authors in the 90 days before {git.head_date}: "
                + ", ".join(f"{name} ({count})" for name, count in git.recent_authors)
            )
        if git.authors:
            lines.append(
                "Authors (all history): "
                + ", ".join(f"{name} ({count})" for name, count in git.authors[:10])
            )
        if git.commits:
            lines.append("Recent commits (files touched):")
            for c in git.commits:
                paths = ", ".join(c.paths[:MAX_COMMIT_PATHS])
                more = len(c.paths) - MAX_COMMIT_PATHS
                paths += f", +{more} more" if more > 0 else ""
                lines.append(
                    f"- {c.sha} {c.date} {c.author}: {c.subject}" + (f" [{paths}]" if paths else "")
                )
        if git.status:
            lines.append("Uncommitted changes:")
            lines.extend(f"- {line}" for line in git.status[:20])
            if len(git.status) > 20:
                lines.append(f"- … and {len(git.status) - 20} more")
        else:
            lines.append("Uncommitted changes: none")
        lines.append("")
    if facts.markers:
        lines += ["## TODO/FIXME comments", ""]
        lines.extend(f"- {m.path}:{m.line} {m.kind}: {m.text}" for m in facts.markers)
        lines.append("")
    if facts.changelog:
        path, _, head = facts.changelog.partition("\n")
        lines += [f"## Changelog head ({path})", "", "```", head.rstrip("\n"), "```", ""]
    if facts.doc_titles:
        lines += ["## Docs", ""]
        lines.extend(f"- {path}: {title}" for path, title in facts.doc_titles)
        lines.append("")
    return "\n".join(lines) + "\n" if lines else ""


def render_repo_map(modules: Sequence[ModuleMap], limit: int) -> str:
    """Return ``## Repo map`` within about ``limit`` tokens: files in rank order with their
    symbols; past the limit, files without symbols, then counts per folder."""
    imported_by: Counter[str] = Counter()
    for module in modules:
        imported_by.update(module.imports)
    header = (
        f"## Repo map ({plural(len(modules), 'file')}; most depended-on first, then scripts, "
        "markup, examples, benchmarks, docs, generated data and tests)\n\n"
    )
    parts = [header]
    used = count_tokens(header)
    bare_from = len(modules)
    for index, module in enumerate(modules):
        block = _map_entry(module, imported_by[module.path], with_symbols=True)
        cost = count_tokens(block)
        if used + cost > limit * 0.85:
            bare_from = index
            break
        parts.append(block)
        used += cost
    folded: Counter[str] = Counter()
    for module in modules[bare_from:]:
        line = _map_entry(module, imported_by[module.path], with_symbols=False)
        cost = count_tokens(line)
        if folded or used + cost > limit - 40:
            folded[module.path.split("/", 1)[0] + "/" if "/" in module.path else "."] += 1
            continue
        parts.append(line)
        used += cost
    if folded:
        rest = ", ".join(f"{name} {count}" for name, count in sorted(folded.items()))
        parts.append(f"- … {sum(folded.values())} more files: {rest}\n")
    return "".join(parts) + "\n"


def _map_entry(module: ModuleMap, importers: int, *, with_symbols: bool) -> str:
    notes = [plural(module.lines, "line")]
    if module.category != "source":
        notes.append(module.category)
    if importers:
        notes.append(f"imported by {importers}")
    line = f"- {module.path} ({', '.join(notes)})" + (f": {module.doc}" if module.doc else "")
    if not with_symbols or not module.symbols:
        return line + "\n"
    out = [line]
    symbols, left_out = key_symbols(module)
    for symbol in symbols:
        indent = "    " if symbol.kind == "method" else "  "
        doc = f" — {symbol.doc[:100]}" if symbol.doc else ""
        out.append(f"{indent}{_short(symbol.signature)}{doc}")
    if left_out:
        out.append(f"  … {plural(left_out, 'private or further symbol')}")
    return "\n".join(out) + "\n"


def _short(signature: str) -> str:
    return signature if len(signature) <= MAX_SIGNATURE else signature[: MAX_SIGNATURE - 1] + "…"
