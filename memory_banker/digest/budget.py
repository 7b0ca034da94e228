"""Rendering the digest within its token budget.

The text is at most ``context_tokens`` tokens as counted by :mod:`memory_banker.tokenizer`: the
header and git facts first, then the file tree (up to 30 % of the budget, the rest folded into
counts per folder), the manifests and README, then source excerpts (entry points first, then
code by depth and path, tests last) until the budget is spent.
Each file is a fenced block, truncated at a line when it does not fit whole. The joined text is
counted once more and its trailing optional blocks dropped (or the text cut) until it fits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from memory_banker.digest.facts import GitFacts, ProjectFacts
from memory_banker.digest.files import FileInfo, Texts
from memory_banker.tokenizer import count_tokens, truncate_to_tokens
from token_tracking.display import plural


class Budget:
    """The rendered parts so far and the tokens they use out of ``total``."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self.parts: list[str] = []

    @property
    def left(self) -> int:
        """Tokens not yet used."""
        return self.total - self.used

    def add(self, text: str, tokens: int | None = None) -> bool:
        """Append ``text`` if its ``tokens`` (counted when None) fit; return whether it did."""
        cost = count_tokens(text) if tokens is None else tokens
        if cost > self.left:
            return False
        self.parts.append(text)
        self.used += cost
        return True


def _fence(text: str) -> str:
    """Return a code fence longer than any backtick run in ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _file_block(path: str, text: str, limit: int) -> str | None:
    """Render one file as a fenced block of at most ``limit`` tokens, or None if nothing fits."""
    fence = _fence(text)
    head = f"### {path}\n{fence}\n"
    tail = f"{fence}\n\n"
    room = limit - count_tokens(head) - count_tokens(tail) - 8
    if room <= 20:
        return None
    body = text if text.endswith("\n") else text + "\n"
    if count_tokens(body) > room:
        cut = truncate_to_tokens(body, room - 8)
        body = cut.rsplit("\n", 1)[0] + "\n… (truncated)\n" if "\n" in cut else cut + "\n"
    return head + body + tail


def _tree_lines(infos: Sequence[FileInfo]) -> list[str]:
    return [
        f"- {info.path} ({plural(info.lines, 'line')})"
        if info.text is not None
        else f"- {info.path}"
        for info in infos
    ]


def render_header(facts: ProjectFacts, file_count: int, withheld: int) -> str:
    """Return the digest's first section: name, languages, runtimes, counts, entry points."""
    lines = [f"# Project digest: {facts.name}", ""]
    if facts.description:
        lines.append(f"Description: {facts.description}")
    code = [stat for stat in facts.languages if stat.is_code]
    if code:
        lines.append(
            "Languages (lines): " + ", ".join(f"{stat.name} {stat.lines}" for stat in code)
        )
    if facts.runtimes:
        lines.append("Runtimes: " + ", ".join(facts.runtimes))
    lines.append(f"Files listed: {file_count}")
    if withheld:
        lines.append(f"Files withheld as possibly secret (never read): {withheld}")
    if facts.entry_points:
        lines.append("Entry points: " + "; ".join(facts.entry_points))
    if facts.test_frameworks:
        tests = plural(len(facts.test_files), "file")
        lines.append(f"Tests: {tests} ({', '.join(facts.test_frameworks)})")
    if facts.ci:
        lines.append("CI: " + ", ".join(facts.ci))
    lines.append(f"TODO markers: {facts.todo_count}, FIXME markers: {facts.fixme_count}")
    return "\n".join(lines) + "\n\n"


def render_git(git: GitFacts) -> str:
    """Return the ``## Git`` section: branch, counts, authors, recent commits, status."""
    lines = ["## Git", "", f"Branch: {git.branch}", f"Commits: {git.total_commits}"]
    if git.authors:
        lines.append("Authors: " + ", ".join(f"{name} ({count})" for name, count in git.authors))
    if git.commits:
        lines.append("Recent commits:")
        lines.extend(f"- {c.sha} {c.date} {c.author}: {c.subject}" for c in git.commits)
    if git.status:
        lines.append("Working tree status:")
        lines.extend(f"- {line}" for line in git.status[:20])
        if len(git.status) > 20:
            lines.append(f"- … and {len(git.status) - 20} more")
    else:
        lines.append("Working tree status: clean")
    return "\n".join(lines) + "\n\n"


def add_tree(budget: Budget, infos: Sequence[FileInfo]) -> None:
    """Add the file tree, one file per line, within 30 % of the budget; fold the rest."""
    header = f"## File tree ({len(infos)} files)\n\n"
    room = int(budget.total * 0.3)
    lines = _tree_lines(infos)
    kept: list[str] = []
    used = count_tokens(header)
    for line in lines:
        cost = count_tokens(line + "\n")
        if used + cost > room - 60:
            break
        kept.append(line)
        used += cost
    text = header + "\n".join(kept) + ("\n" if kept else "")
    if len(kept) < len(lines):
        rest = Counter(
            info.path.split("/", 1)[0] + "/" if "/" in info.path else "."
            for info in infos[len(kept) :]
        )
        folded = ", ".join(f"{name} {count}" for name, count in sorted(rest.items()))
        text += truncate_to_tokens(
            f"- … {len(lines) - len(kept)} more files: {folded}\n", max(room - used, 20)
        )
    budget.add(text + "\n")


def add_files(
    budget: Budget,
    heading: str,
    paths: Sequence[str],
    texts: Texts,
    excerpted: list[str],
    *,
    per_file: int,
    reserve: int,
) -> None:
    """Add fenced file blocks under ``heading`` (which is only added with its first block)."""
    pending = heading
    for path in paths:
        if budget.left < reserve:
            break
        if path not in texts:
            continue
        room = budget.left - count_tokens(pending)
        block = _file_block(path, texts[path], min(room, per_file))
        if block is not None and budget.add(pending + block):
            excerpted.append(path)
            pending = ""


def fit_text(
    parts: list[str], required: int, excerpted: list[str], limit: int
) -> tuple[str, list[str]]:
    """Join the parts; drop trailing optional parts (then truncate) until the text fits."""
    parts = list(parts)
    text = "".join(parts)
    while count_tokens(text) > limit:
        if len(parts) > required:
            dropped = parts.pop()
            heading = re.search(r"^### (.+)$", dropped, re.MULTILINE)
            if heading is not None:
                excerpted = [path for path in excerpted if path != heading.group(1)]
            text = "".join(parts)
        else:
            text = truncate_to_tokens(text, limit)
    return text, excerpted
