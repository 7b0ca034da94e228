"""Fitting the digest into its token budget.

The text is at most ``context_tokens`` tokens as counted by :mod:`memory_banker.tokenizer`.
Sections are added in priority order; each may use at most a share of the budget, and whatever
a section leaves unused flows on to the next. The last stage, full texts of files in rank order,
takes everything left: a file that fits is included whole, a file too big for what is left is
included as its outline plus its first part. The joined text is counted once more and its
trailing optional blocks dropped (or the text cut) until it fits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from memory_banker.digest.facts import ModuleMap
from memory_banker.digest.files import FileInfo, Texts
from memory_banker.digest.rank import key_symbols
from memory_banker.digest.secrets import redact
from memory_banker.tokenizer import count_joined, count_tokens, truncate_to_tokens
from token_tracking.display import plural

_MAX_BYTES_PER_TOKEN = 8
"""No text this tokenizer counts has more bytes per token (long whitespace runs aside), so a file
of more bytes than this times the room cannot fit whole."""

MAX_MISSES = 20
"""The full-text stage stops after this many files in a row did not fit."""

MIN_PARTIAL_TOKENS = 300
"""A file is cut to its first part only when at least this many tokens are left for it."""


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

    def add_capped(self, text: str, cap: int) -> None:
        """Append ``text``, cut at a line to at most ``cap`` tokens (and what is left)."""
        room = min(cap, self.left)
        if room <= 0 or not text:
            return
        if count_tokens(text) > room:
            cut = truncate_to_tokens(text, max(room - 12, 0))
            text = (cut.rsplit("\n", 1)[0] if "\n" in cut else cut) + "\n… (cut to fit)\n\n"
        self.add(text)


def _fence(text: str) -> str:
    """Return a code fence longer than any backtick run in ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def file_block(
    path: str, text: str, limit: int, outline: str = "", lines: int | None = None
) -> str | None:
    """Render one file as a fenced block of at most ``limit`` tokens, or None if nothing useful
    fits. A file that does not fit whole is its ``outline`` (when given) and its first part;
    ``lines`` is its length when ``text`` is only its beginning."""
    fence = _fence(text)
    body = text if text.endswith("\n") else text + "\n"
    whole = f"### {path}\n{fence}\n{body}{fence}\n\n"
    if lines is None and count_tokens(whole) <= limit:
        return whole
    total = body.count("\n") if lines is None else lines
    head = f"### {path} (first part; {plural(total, 'line')} in all)\n"
    if outline:
        head += f"Outline:\n{outline}\n"
    head += f"{fence}\n"
    tail = f"… (truncated)\n{fence}\n\n"
    room = limit - count_tokens(head) - count_tokens(tail) - 4
    if room < 40:
        return None
    cut = truncate_to_tokens(body, room)
    cut = cut.rsplit("\n", 1)[0] + "\n" if "\n" in cut else cut + "\n"
    return head + cut + tail


def outline_text(module: ModuleMap | None) -> str:
    """The symbols of ``module`` as signature lines (``""`` when none)."""
    if module is None or not module.symbols:
        return ""
    symbols, _ = key_symbols(module, top=80, methods=12)
    return "\n".join(
        ("    " if symbol.kind == "method" else "  ") + f"{symbol.signature} (line {symbol.line})"
        for symbol in symbols
    )


def add_full_texts(
    budget: Budget,
    heading: str,
    paths: Sequence[str],
    files: dict[str, FileInfo],
    texts: Texts,
    modules: dict[str, ModuleMap],
    excerpted: list[str],
) -> None:
    """Add files in the order given, each whole when it fits, else outline and first part (when
    enough is left for that); the heading is added with the first block. A file is decoded and
    redacted only when it is rendered, and only its first part when that is all that fits."""
    pending = heading
    # A rough token cost of the files after each one (about 4 bytes a token), so a file cut to
    # fit leaves room for the rest and no more.
    sizes = [len(files[p].text or b"") // 3 + 30 if p in files else 0 for p in paths]
    after = [0] * len(sizes)
    for index in range(len(sizes) - 2, -1, -1):
        after[index] = after[index + 1] + sizes[index + 1]
    misses = 0
    for index, path in enumerate(paths):
        if budget.left < 60 or misses >= MAX_MISSES:
            break
        info = files.get(path)
        if info is None or info.text is None or path not in texts:
            continue
        room = budget.left - count_tokens(pending)
        if room <= 0:
            break
        whole = len(info.text) <= room * _MAX_BYTES_PER_TOKEN
        block = file_block(path, texts[path], room) if whole else None
        if block is None or not block.startswith(f"### {path}\n"):
            # Too big for what is left: cut it so the files after it still get room.
            share = max(room - after[index], room // 3, MIN_PARTIAL_TOKENS)
            if share > room:
                misses += 1
                continue
            head = redact(info.text[: share * _MAX_BYTES_PER_TOKEN].decode("utf-8", "replace"))
            lines = info.text.count(b"\n")
            block = file_block(path, head, share, outline_text(modules.get(path)), lines)
        if block is not None and budget.add(pending + block):
            excerpted.append(path)
            pending = ""
            misses = 0
        else:
            misses += 1


def render_tree(infos: Sequence[FileInfo], shown: set[str], limit: int) -> str:
    """Return ``## Other files``: files not in the repo map, one a line, folded past ``limit``."""
    rest = [info for info in infos if info.path not in shown]
    if not rest:
        return ""
    header = f"## Other files ({plural(len(rest), 'file')})\n\n"
    used = count_tokens(header)
    lines: list[str] = []
    for index, info in enumerate(rest):
        line = (
            f"- {info.path} ({plural(info.lines, 'line')})"
            if info.text is not None
            else (f"- {info.path}")
        )
        cost = count_tokens(line + "\n")
        if used + cost > limit - 40:
            folded = Counter(
                item.path.split("/", 1)[0] + "/" if "/" in item.path else "."
                for item in rest[index:]
            )
            names = ", ".join(f"{name} {count}" for name, count in sorted(folded.items()))
            lines.append(f"- … {len(rest) - index} more files: {names}")
            break
        lines.append(line)
        used += cost
    return header + "\n".join(lines) + "\n\n"


def fit_text(
    parts: list[str], required: int, excerpted: list[str], limit: int
) -> tuple[str, list[str]]:
    """Join the parts; drop trailing optional parts (then truncate) until the text fits. The
    joined text is counted from the parts' counts (:func:`count_joined`)."""
    parts = list(parts)
    while count_joined(parts) > limit:
        if len(parts) > required:
            dropped = parts.pop()
            heading = re.search(r"^### (\S+)", dropped, re.MULTILINE)
            if heading is not None:
                excerpted = [path for path in excerpted if path != heading.group(1)]
        else:
            parts = [truncate_to_tokens("".join(parts), limit)]
    return "".join(parts), excerpted
