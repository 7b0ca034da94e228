"""TODO/FIXME/HACK/XXX comments with their text and location.

A marker counts only right after a comment opener (hash, double slash, block-comment start …)
and not inside a string literal on its line. Files are checked with a plain substring test
first, so the pattern runs only on the few files that hold a marker word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from memory_banker.digest.facts import MAX_MARKERS, Marker
from memory_banker.digest.secrets import redact

_WORDS = (b"TODO", b"FIXME", b"HACK", b"XXX")
_MARKER = re.compile(
    rb"(?:#|//|/\*|<!--|--|;|^\s*\*)[ \t]*(TODO|FIXME|HACK|XXX)\b[^\S\n]*(?:\([^)\n]*\))?"
    rb"[:\-]?[^\S\n]*([^\n]*)",
    re.MULTILINE,
)
MAX_TEXT = 160
"""Marker texts are cut to this many characters."""


PerFile = Callable[[bytes, str, Callable[[bytes], Any], type], Any]
"""A cache of per-file results: ``(data, name, compute, valid type) -> compute(data)``, as
:meth:`memory_banker.digest.repomap.OutlineCache.value` keeps them by content hash."""


def find_markers(
    files: Sequence[tuple[str, bytes]], limit: int = MAX_MARKERS, cache: PerFile | None = None
) -> list[Marker]:
    """Return the first ``limit`` markers of ``files`` ((path, content) pairs, in the order to
    search them), each file's in line order. With ``cache``, each file's markers are kept by its
    content hash."""
    found: list[Marker] = []
    for path, data in files:
        if not any(word in data for word in _WORDS):
            continue
        in_file = _in_file(data) if cache is None else cache(data, "markers", _in_file, list)
        if not all(isinstance(item, list | tuple) and len(item) == 3 for item in in_file):
            in_file = _in_file(data)  # a damaged cache entry
        for line, word, text in in_file:
            found.append(Marker(path, line, word, redact(text)))
            if len(found) >= limit:
                return found
    return found


def _in_file(data: bytes) -> list[tuple[int, str, str]]:
    """The markers of one file: (line, word, text cut to ``MAX_TEXT``), in line order."""
    found: list[tuple[int, str, str]] = []
    line, counted = 1, 0  # lines are counted on from the last match, not from the start
    for match in _matches(data):
        start = data.rfind(b"\n", 0, match.start()) + 1
        before = data[start : match.start()]
        if b"\\" in before:
            before = re.sub(rb"\\.", b"", before)
        if before.count(b'"') % 2 or before.count(b"'") % 2:
            continue
        text = match.group(2).decode("utf-8", errors="replace").strip()
        text = re.sub(r"\s*(\*/|-->)\s*$", "", text)
        line += data.count(b"\n", counted, match.start(1))
        counted = match.start(1)
        found.append((line, match.group(1).decode(), text[:MAX_TEXT]))
    return found


_NOT_BLANK = re.compile(rb"[^ \t\n\r\f\v]")


def _matches(data: bytes) -> list[re.Match[bytes]]:
    """What ``_MARKER.finditer(data)`` yields, with the pattern run only near the lines that
    hold a marker word: a match ends its line and holds a word; it starts on that word's line,
    or, through ``^\\s*\\*``, at the first of the blank lines right before it. So a window from
    there to the end of the word's line holds the same match, and no match crosses two
    windows."""
    lines: set[int] = set()
    for word in _WORDS:
        position = data.find(word)
        while position >= 0:
            start = data.rfind(b"\n", 0, position) + 1
            lines.add(start)
            end = data.find(b"\n", position)
            position = data.find(word, end) if end >= 0 else -1
    found: list[re.Match[bytes]] = []
    for start in sorted(lines):
        window = start  # back over the blank lines right before this one
        while window > 0:
            previous = data.rfind(b"\n", 0, window - 1) + 1
            if _NOT_BLANK.search(data, previous, window - 1):
                break
            window = previous
        end = data.find(b"\n", start)
        found.extend(_MARKER.finditer(data, window, len(data) if end < 0 else end))
    return found
