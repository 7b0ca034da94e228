"""The part of a Python source the repo map reads, so that :mod:`ast` parses a fraction of it.

The outline of a Python file needs its module docstring, its top-level functions and classes
(header and docstring), the methods of those classes (header and docstring) and every import
statement, however deeply nested. :func:`skim` returns the source with every other line
emptied: function bodies and other statements become blank lines, an import nested in a
statement that is emptied is kept and moved to the indentation of the block it is kept in, and
a body left with nothing gets ``pass``. Line numbers stay as they were, so the outline read from
the skimmed source is the outline of the whole one. :func:`scan` returns the kept lines
themselves (:class:`Scan`), from which :mod:`~memory_banker.digest.pyheaders` reads the outline
without a parse.

Logical lines are found with patterns that follow Python's tokenizer (strings, comments,
brackets and backslash continuations) and blocks by indentation, which needs no parse: a run of
lines that neither start a definition or an import nor hold the word ``import`` in their code is
skipped in one pattern match. :func:`skim` returns None for a source it does not split with
certainty (tabs or form feeds in indentation, carriage returns, null bytes, an unterminated
string, brackets nested deeper than the patterns follow, a statement other than an import that
holds the word ``import`` in its code): the caller then parses the whole source.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_UNSUPPORTED_CHARACTERS = ("\r", "\f", "\0", "\ufeff")
_TAB_INDENT = re.compile(r"^ *\t", re.MULTILINE)

_STRING = (
    r"'''(?:[^'\\]++|\\.|'(?!''))*+'''"
    r'|"""(?:[^"\\]++|\\.|"(?!""))*+"""'
    r"|'(?:[^'\\\n]++|\\.)*+'"
    r'|"(?:[^"\\\n]++|\\.)*+"'
)
_COMMENT = r"#[^\n]*+"
_MAX_DEPTH = 8
# Code outside strings, comments and brackets, without the word ``import`` (``\bimport\b``).
_PLAIN = r"""(?:[^\n()\[\]{}'"#\\i]++|\Bi|i(?!mport\b))++"""


def _brackets(depth: int) -> str:
    """A pattern for a bracketed group nested at most ``depth`` deep (newlines, strings and
    comments inside; no word ``import`` in its code)."""
    inner = _PLAIN.replace(r"\n", "") + "|" + _STRING + "|" + _COMMENT + r"|\\."
    if depth > 1:
        inner += "|" + _brackets(depth - 1)
    return r"[(\[{](?:" + inner + r")*+[)\]}]"


_CODE = (
    r"(?:" + _PLAIN + "|" + _STRING + "|" + _brackets(_MAX_DEPTH) + r"|\\\n)*+"
    r"(?:" + _COMMENT + r")?\n"
)
"""The rest of a logical line without the word ``import`` in its code: code (strings and
brackets may run over several lines), an optional comment and the newline."""
_BLANK = r"[ ]*+(?:" + _COMMENT + r")?\n"
_BLANKS = re.compile(r"(?:" + _BLANK + r")*+")
"""Blank and comment-only lines."""
_STARTS = r"(?!(?:(?:async[ \t]+)?def|class|import|from)\b)"
_LOGICAL = re.compile(
    r"( *+)"
    r"(?:((?:async[ \t]+)?def\b)|(class\b)|((?:import|from)\b)|(?=[rRbBuUfF]{0,2}(['\"])))?",
)
"""The start of a logical line: its indentation and its kind (def, class, import, a string
first)."""
_ANY_CODE = re.compile(
    r"""(?:[^\n()\[\]{}'"#\\]++|"""
    + _STRING
    + "|"
    + _brackets(_MAX_DEPTH).replace(_PLAIN.replace(r"\n", ""), r"""[^()\[\]{}'"#\\]++""")
    + r"|\\\n)*+(?:"
    + _COMMENT
    + r")?\n",
    re.DOTALL,
)
"""The rest of any logical line (with or without the word ``import``)."""
_runs: dict[int, re.Pattern[str]] = {}
_bodies: dict[int, re.Pattern[str]] = {}

OTHER, DEF, CLASS, IMPORT, STRING = 0, 1, 2, 3, 4
_KINDS = {1: OTHER, 2: DEF, 3: CLASS, 4: IMPORT, 5: STRING}
"""The kind of a logical line by the last group of ``_LOGICAL`` that matched."""


def _run(indent: int) -> re.Pattern[str]:
    """The pattern of a run of blank lines and logical lines indented deeper than ``indent``
    that neither start a definition or an import nor hold the word ``import`` in their code
    (``indent`` -1: any indentation)."""
    if indent not in _runs:
        spaces = r"[ ]{" + str(indent + 1) + r",}+" if indent >= 0 else r"[ ]*+"
        _runs[indent] = re.compile(
            r"(?:" + _BLANK + "|" + spaces + _STARTS + r"(?=[^ \n#])" + _CODE + r")*+", re.DOTALL
        )
    return _runs[indent]


def _body(indent: int) -> re.Pattern[str]:
    """The pattern of the lines nested deeper than ``indent`` (blank lines among them)."""
    if indent not in _bodies:
        _bodies[indent] = re.compile(
            r"(?:" + _BLANK + r"|[ ]{" + str(indent + 1) + r",}+" + _ANY_CODE.pattern + r")*+",
            re.DOTALL,
        )
    return _bodies[indent]


def _past(pattern: re.Pattern[str], text: str, position: int, end: int | None = None) -> int:
    """Where a match of ``pattern`` (which matches the empty string too) at ``position`` ends."""
    match = pattern.match(text, position, len(text) if end is None else end)
    assert match is not None  # every part of these patterns may repeat zero times
    return match.end()


class _Unsupported(Exception):
    """The source cannot be skimmed with certainty."""


def skim(text: str) -> str | None:
    """Return ``text`` with only what an outline reads left in place (see the module docstring),
    or None when the whole source must be parsed."""
    scanned = scan(text)
    return None if scanned is None else scanned.render()


def scan(text: str) -> Scan | None:
    """Return the logical lines of ``text`` an outline reads, or None when the whole source must
    be parsed."""
    if any(character in text for character in _UNSUPPORTED_CHARACTERS) or (
        "\t" in text and _TAB_INDENT.search(text)
    ):
        return None
    skimmer = Scan(text + "\n")
    try:
        skimmer.run()
    except _Unsupported:
        return None
    return skimmer


class Line:
    """One logical line: where it starts and ends in the text, its indentation and kind."""

    __slots__ = ("end", "indent", "kind", "start")

    def __init__(self, text: str, position: int) -> None:
        start = _LOGICAL.match(text, position)
        assert start is not None  # every part of the pattern is optional
        rest = _ANY_CODE.match(text, start.end(1))
        if rest is None:
            raise _Unsupported  # nesting too deep, an unterminated string: not for the patterns
        self.start = position
        self.end = rest.end()
        self.indent = start.end(1) - position
        last = start.lastindex
        self.kind = _KINDS[last] if last is not None else OTHER


class Definition(NamedTuple):
    """A function, class or method header the outline lists."""

    header: Line
    first: Line | None
    """The first logical line of its body; None when the body is on the header's line."""
    owner: Line | None
    """The header of the class a method is defined in; None for a top-level definition."""


class Scan:
    """The logical lines of a source an outline reads, found in one pass (:meth:`run`), and
    the skimmed source made of them (:meth:`render`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        """The source with a newline appended."""
        self.size = len(text)
        self.kept: list[tuple[int, int, int | None, bool]] = []
        """(start, end, new indentation or None, replaced by ``pass``) of each kept line."""
        self.doc: Line | None = None
        """The module's first logical line when it starts with a string."""
        self.definitions: list[Definition] = []
        """Top-level functions and classes, each class followed by its methods."""
        self.imports: list[Line] = []
        """Every import statement, however deeply nested."""

    def run(self) -> None:
        text = self.text
        position = _past(_BLANKS, text, 0)
        if position < self.size:
            first = Line(text, position)
            if first.kind == STRING:
                self.kept.append((first.start, first.end, None, False))
                self.doc = first
                position = first.end
        skip = _run(-1)
        while True:
            position = _past(skip, text, position)
            if position >= self.size:
                return
            line = Line(text, position)
            if line.indent == 0 and line.kind == DEF:
                position = self._function(line, None)
            elif line.indent == 0 and line.kind == CLASS:
                position = self._class(line)
            else:
                position = self._nested(line, 0)

    def _nested(self, line: Line, indent: int) -> int:
        """Keep ``line`` at ``indent`` when it is an import; step over a definition that is not
        kept (its body is skipped as any other lines); return where to go on."""
        if line.kind == IMPORT:
            self.kept.append((line.start, line.end, indent, False))
            self.imports.append(line)
        elif line.kind not in (DEF, CLASS):
            raise _Unsupported  # ``if x: import y`` and the like
        return line.end

    def _first_in_body(self, header: Line) -> Line | None:
        """The first logical line of ``header``'s body, None when the body is on its line."""
        position = _past(_BLANKS, self.text, header.end)
        if position >= self.size:
            return None
        line = Line(self.text, position)
        return line if line.indent > header.indent else None

    def _function(self, header: Line, owner: Line | None) -> int:
        self.kept.append((header.start, header.end, None, False))
        first = self._first_in_body(header)
        self.definitions.append(Definition(header, first, owner))
        if first is None:
            return header.end
        end = _past(_body(header.indent), self.text, first.end)
        if first.kind == STRING:
            self.kept.append((first.start, first.end, None, False))
            self._flatten(first.end, end, first.indent)
        elif not self._flatten(first.start, end, first.indent):
            self.kept.append((first.start, first.end, first.indent, True))
        return end

    def _class(self, header: Line) -> int:
        self.kept.append((header.start, header.end, None, False))
        first = self._first_in_body(header)
        self.definitions.append(Definition(header, first, None))
        if first is None:
            return header.end
        text = self.text
        indent = first.indent
        kept = len(self.kept)
        position = first.start
        if first.kind == STRING:
            self.kept.append((first.start, first.end, None, False))
            position = first.end
        skip = _run(header.indent)
        while True:
            position = _past(skip, text, position)
            if position >= self.size:
                break
            line = Line(text, position)
            if line.indent <= header.indent:
                break
            if line.indent == indent and line.kind == DEF:
                position = self._function(line, header)
            elif line.indent < indent:
                raise _Unsupported  # an unindent to no block
            else:
                position = self._nested(line, indent)
        if len(self.kept) == kept:
            self.kept.append((first.start, first.end, indent, True))
        return position

    def _flatten(self, start: int, end: int, indent: int) -> bool:
        """Keep the import statements of ``text[start:end]`` at ``indent``; return whether one
        was kept. Raises ``_Unsupported`` when another statement there holds an import."""
        text = self.text
        if text.find("import", start, end) < 0:
            return False
        kept = False
        skip = _run(-1)
        position = start
        while True:
            position = _past(skip, text, position, end)
            if position >= end:
                return kept
            line = Line(text, position)
            position = self._nested(line, indent)
            kept = kept or line.kind == IMPORT

    def render(self) -> str:
        """The skimmed source (see :func:`skim`)."""
        text = self.text
        out: list[str] = []
        position = 0
        for start, end, indent, replace in sorted(self.kept):
            out.append("\n" * text.count("\n", position, start))
            if replace:
                out.append(" " * (indent or 0) + "pass" + "\n" * text.count("\n", start, end))
            elif indent is None:
                out.append(text[start:end])
            else:
                out.append(" " * indent + text[start:end].lstrip(" "))
            position = end
        out.append("\n" * text.count("\n", position, len(text)))
        return "".join(out)[:-1]
