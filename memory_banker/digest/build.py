"""The context digest: a deterministic, secret-free summary of a project that every agent reads.

:func:`build_digest` lists the project's files (:mod:`~memory_banker.digest.files`), never reads
the possibly secret ones and redacts key-like strings in everything else
(:mod:`~memory_banker.digest.secrets`), reads manifests (:mod:`~memory_banker.digest.manifests`)
and git (:mod:`~memory_banker.digest.git`), then renders the result within a token budget
(:mod:`~memory_banker.digest.budget`). The bank folder is left out everywhere.

Everything is sorted, and no timestamp or absolute path enters the text, so the same repository
state gives the same digest byte for byte.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from memory_banker.digest.budget import (
    Budget,
    add_files,
    add_tree,
    fit_text,
    render_git,
    render_header,
)
from memory_banker.digest.facts import Digest, FolderStat, GitFacts, LanguageStat, ProjectFacts
from memory_banker.digest.files import (
    FileInfo,
    Texts,
    git_files,
    is_skipped,
    is_test,
    is_withheld,
    keep_path,
    language_of,
    read_file,
    walk_files,
)
from memory_banker.digest.git import git_facts, git_prefix
from memory_banker.digest.manifests import (
    ManifestFacts,
    is_ci,
    is_manifest,
    manifest_facts,
    readme_summary,
    workflow_name,
)
from memory_banker.digest.paths import file_name
from memory_banker.digest.secrets import redact
from memory_banker.errors import UsageError
from memory_banker.tokenizer import count_tokens

MIN_CONTEXT_TOKENS = 500
"""The smallest ``--context-tokens`` accepted: below it not even the header and git facts fit."""

_ENTRY_NAMES = frozenset(
    {
        "__main__.py", "main.py", "manage.py", "app.py", "wsgi.py", "asgi.py", "main.go",
        "main.rs", "index.js", "index.ts", "server.js", "server.ts", "main.js", "main.ts",
        "Program.cs", "main.c", "main.cpp", "Main.java",
    }
)  # fmt: skip


def build_digest(project: Path, *, context_tokens: int = 30000) -> Digest:
    """Build the context digest of ``project`` within ``context_tokens`` tokens.

    Returns a :class:`Digest` whose ``text`` counts at most ``context_tokens`` tokens.
    Raises ``UsageError`` when ``project`` is not a folder or ``context_tokens`` is below
    ``MIN_CONTEXT_TOKENS``.
    """
    if context_tokens < MIN_CONTEXT_TOKENS:
        raise UsageError(
            f"--context-tokens must be at least {MIN_CONTEXT_TOKENS} (got {context_tokens})"
        )
    project = project.resolve()
    if not project.is_dir():
        raise UsageError(f"project folder not found: {project}")

    prefix = git_prefix(project)
    listed = git_files(project) if prefix is not None else None
    candidates = listed if listed is not None else walk_files(project)
    withheld = sum(1 for path in set(candidates) if is_withheld(path) and not is_skipped(path))
    infos: list[FileInfo] = []
    for path in sorted(set(candidates)):
        if not keep_path(path) or is_skipped(path):
            continue
        info = read_file(project, path)
        if info is not None:
            infos.append(info)

    texts = Texts(infos)
    manifests = [info.path for info in infos if is_manifest(info.path)]
    mfacts = manifest_facts([(path, texts[path]) for path in manifests if path in texts])
    git = git_facts(project, prefix) if prefix is not None else None
    facts = _facts(project, infos, texts, manifests, mfacts, git)

    budget = Budget(context_tokens)
    budget.add(render_header(facts, len(infos), withheld))
    if git is not None:
        budget.add(render_git(git))
    add_tree(budget, infos)
    required_count = len(budget.parts)
    excerpted: list[str] = []
    ordered_manifests = sorted(
        manifests,
        key=lambda path: (
            not ("/" not in path and path.upper().startswith("README")),
            is_ci(path),
            path,
        ),
    )
    add_files(budget, "## Manifests and docs\n\n", ordered_manifests, texts, excerpted,
              per_file=max(context_tokens // 8, 400), reserve=0)  # fmt: skip
    sources = _excerpt_order(infos, facts, set(manifests))
    add_files(budget, "## Source excerpts\n\n", sources, texts, excerpted,
              per_file=max(context_tokens // 30, 250), reserve=100)  # fmt: skip

    text, excerpted = fit_text(budget.parts, required_count, excerpted, context_tokens)
    return Digest(
        text=text,
        tokens=count_tokens(text),
        budget=context_tokens,
        files=tuple(info.path for info in infos),
        excerpted=tuple(sorted(excerpted)),
        withheld=withheld,
        facts=facts,
    )


def _facts(
    project: Path,
    infos: Sequence[FileInfo],
    texts: Texts,
    manifests: Sequence[str],
    mfacts: ManifestFacts,
    git: GitFacts | None,
) -> ProjectFacts:
    languages: dict[str, list[int]] = {}
    code_flags: dict[str, bool] = {}
    folders: dict[str, list[int]] = {}
    folder_languages: dict[str, Counter[str]] = {}
    for info in infos:
        top = info.path.split("/", 1)[0] if "/" in info.path else "."
        folder = folders.setdefault(top, [0, 0])
        folder[0] += 1
        folder[1] += info.lines
        language = language_of(info.path)
        if language is not None and info.text is not None:
            stat = languages.setdefault(language[0], [0, 0])
            stat[0] += 1
            stat[1] += info.lines
            code_flags[language[0]] = language[1]
            if language[1]:
                folder_languages.setdefault(top, Counter())[language[0]] += info.lines
    language_stats = tuple(
        sorted(
            (
                LanguageStat(name, files, lines, code_flags[name])
                for name, (files, lines) in languages.items()
            ),
            key=lambda stat: (-stat.lines, stat.name),
        )
    )
    folder_stats = tuple(
        FolderStat(
            name,
            files,
            lines,
            tuple(
                lang
                for lang, _ in sorted(
                    folder_languages.get(name, Counter()).items(), key=lambda i: (-i[1], i[0])
                )
            ),
        )
        for name, (files, lines) in sorted(
            folders.items(), key=lambda item: (item[0] != ".", item[0])
        )
    )
    tests = {info.path for info in infos if is_test(info.path)}
    entry_points = list(mfacts.entry_points)
    quoted = {q for line in entry_points for q in re.findall(r"`([^`]+)`", line)}
    for info in infos:
        name = file_name(info.path)
        if info.path in tests or info.path in quoted:
            continue
        if name in _ENTRY_NAMES:
            entry_points.append(f"`{info.path}`")
        elif info.main_guard:
            entry_points.append(f"`{info.path}` (runs as a script)")
    test_files = tuple(info.path for info in infos if info.path in tests)
    frameworks = set(mfacts.frameworks)
    names = {file_name(info.path) for info in infos}
    if "conftest.py" in names or "pytest.ini" in names:
        frameworks.add("pytest")
    if any(dep.name.split("[")[0].lower() == "pytest" for dep in mfacts.dependencies):
        frameworks.add("pytest")
    if any(path.endswith("_test.go") for path in test_files):
        frameworks.add("go test")
    if any(path.endswith(".py") for path in test_files) and not frameworks & {"pytest"}:
        frameworks.add("unittest")
    ci: list[str] = []
    for info in infos:
        if is_ci(info.path):
            workflow = workflow_name(texts.get(info.path, ""))
            ci.append(f"{info.path} ({workflow})" if workflow else info.path)
    marker_counts = sorted(
        ((info.path, info.todo + info.fixme) for info in infos if info.todo + info.fixme),
        key=lambda item: (-item[1], item[0]),
    )
    readme_paths = [p for p in manifests if "/" not in p and p.upper().startswith("README")]
    name = mfacts.name or project.name
    # A README that is a link, a pipe or too large is listed but has no text: no summary then.
    readme = readme_summary(texts.get(readme_paths[0], ""), name) if readme_paths else ""
    return ProjectFacts(
        name=redact(name),
        description=redact(mfacts.description),
        languages=language_stats,
        top_folders=folder_stats,
        entry_points=tuple(redact(line) for line in entry_points),
        dependencies=tuple(mfacts.dependencies),
        manifests=tuple(manifests),
        test_files=test_files,
        test_frameworks=tuple(sorted(frameworks)),
        runtimes=tuple(mfacts.runtimes),
        ci=tuple(ci),
        todo_count=sum(info.todo for info in infos),
        fixme_count=sum(info.fixme for info in infos),
        todo_files=tuple(marker_counts[:5]),
        readme=readme,
        git=git,
    )


def _excerpt_order(
    infos: Sequence[FileInfo], facts: ProjectFacts, manifests: set[str]
) -> list[str]:
    """Source files worth excerpting: entry points, then code by depth and path, tests last."""
    entry_paths: set[str] = set()
    for line in facts.entry_points:
        for quoted in re.findall(r"`([^`]+)`", line):
            entry_paths.add(quoted)
            if ":" in quoted:  # a console-script target such as ``pkg.cli:main``
                module = quoted.split(":", 1)[0].replace(".", "/")
                entry_paths.update({f"{module}.py", f"src/{module}.py", f"{module}/__main__.py"})
    tests = set(facts.test_files)
    candidates = []
    for info in infos:
        language = language_of(info.path)
        if info.text is None or info.path in manifests or language is None or not language[1]:
            continue
        if info.lines == 0:
            continue
        rank = 0 if info.path in entry_paths else (2 if info.path in tests else 1)
        candidates.append((rank, info.path.count("/"), info.path))
    return [path for _, _, path in sorted(candidates)]
