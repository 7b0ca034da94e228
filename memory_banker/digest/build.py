"""The context digest: a deterministic, secret-free summary of a project that every agent reads.

:func:`build_digest` lists the project's files (:mod:`~memory_banker.digest.files`), never reads
the possibly secret ones and redacts key-like strings in everything else
(:mod:`~memory_banker.digest.secrets`), reads every manifest fully
(:mod:`~memory_banker.digest.manifests`) and the build and CI files' commands
(:mod:`~memory_banker.digest.commands`), outlines and ranks the source files
(:mod:`~memory_banker.digest.rank`), reads git (:mod:`~memory_banker.digest.git`), then renders
the result within a token budget (:mod:`~memory_banker.digest.budget`): identity and facts,
manifests and commands, the README head, git with TODO texts and the changelog head, the repo
map, the other files, then the full text of the top-ranked files until the budget is spent.
The bank folder is left out everywhere.

Everything is sorted, and no timestamp or absolute path enters the text, so the same repository
state gives the same digest byte for byte.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memory_banker.digest.budget import Budget, add_full_texts, file_block, fit_text, render_tree
from memory_banker.digest.commands import add_commands
from memory_banker.digest.derive import Inputs, derive_facts
from memory_banker.digest.facts import Digest, ModuleMap
from memory_banker.digest.files import (
    FileInfo,
    Texts,
    git_files,
    is_skipped,
    is_withheld,
    keep_path,
    read_file,
    walk_files,
)
from memory_banker.digest.git import GitReader, git_prefix
from memory_banker.digest.manifests import is_manifest, manifest_facts
from memory_banker.digest.rank import build_map
from memory_banker.digest.readme import is_readme
from memory_banker.digest.render import render_git, render_header, render_manifests, render_repo_map
from memory_banker.digest.repomap import OutlineCache
from memory_banker.errors import UsageError
from memory_banker.tokenizer import count_tokens

MIN_CONTEXT_TOKENS = 500
"""The smallest ``--context-tokens`` accepted: below it not even the header and git facts fit."""

MANIFEST_SHARE = 0.15
README_SHARE = 0.10
GIT_SHARE = 0.15
MAP_SHARE = 0.35
TREE_SHARE = 0.05
"""The most of the budget each section may use; what one leaves unused flows to the next."""


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
    with _collector_paused():
        return _build(project, context_tokens)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for the block, and restore it as it was.

    Parsing source files creates millions of short-lived objects that reference counting frees;
    with the collector on, each parse also triggers full collections that walk every object the
    digest keeps alive, which cost a fifth of a cold digest of a large repository. The digest
    makes no reference cycles worth collecting early.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(project: Path, context_tokens: int) -> Digest:
    """The digest of the resolved folder ``project`` (see :func:`build_digest`)."""
    prefix = git_prefix(project)
    # The git commands run while the files are read and outlined.
    reader = GitReader(project) if prefix is not None else None
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
    manifest_texts = [(path, texts[path]) for path in manifests if path in texts]
    declared = manifest_facts(manifest_texts)
    add_commands(manifest_texts, declared)
    cache = OutlineCache()
    modules = build_map(infos, cache=cache)
    git = reader.facts(prefix) if reader is not None and prefix is not None else None
    facts = derive_facts(Inputs(project, infos, texts, manifests, declared, modules, git, cache))
    cache.save()

    total = context_tokens
    budget = Budget(total)
    budget.add(render_header(facts, len(infos), withheld))
    required_count = len(budget.parts)
    budget.add_capped(render_manifests(facts), int(total * MANIFEST_SHARE))
    excerpted: list[str] = []
    readme = next((path for path in manifests if is_readme(path) and path in texts), None)
    if readme is not None:
        block = file_block(readme, texts[readme], min(budget.left, int(total * README_SHARE)))
        if block is not None and budget.add(block):
            excerpted.append(readme)
    budget.add_capped(render_git(git, facts), int(total * GIT_SHARE))
    budget.add_capped(render_repo_map(modules, min(budget.left, int(total * MAP_SHARE))),
                      budget.left)  # fmt: skip
    shown = {module.path for module in modules}
    budget.add_capped(render_tree(infos, shown, min(budget.left, int(total * TREE_SHARE))),
                      budget.left)  # fmt: skip
    add_full_texts(
        budget, "## Full texts, most important first\n\n", _full_text_order(modules, manifests),
        {info.path: info for info in infos}, texts, {m.path: m for m in modules}, excerpted,
    )  # fmt: skip

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


def _full_text_order(modules: tuple[ModuleMap, ...], manifests: list[str]) -> list[str]:
    """Source files by rank, then the manifests' own text, then the other categories by rank
    (tests last); generated and data-like files never (their outline is in the map)."""
    source = [m.path for m in modules if m.category == "source"]
    others = [m.path for m in modules if m.category not in {"source", "generated"}]
    raw = [path for path in manifests if not is_readme(path)]
    return source + raw + others
