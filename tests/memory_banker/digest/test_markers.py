"""The marker pattern, run only near the lines holding a marker word, finds what it finds run
over the whole file."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_banker.digest.markers import _MARKER, _in_file, _matches

ROOT = Path(__file__).resolve().parents[3]

TEXTS = [
    b"# TODO: first line\nx = 1\n",
    b"x = 1  # FIXME(alice): on a code line, no newline at the end",
    b"/*\n *\n\n   \t\n * TODO after blank lines and a star\n */\n",
    b"\n\n\n* HACK at the start of a line after blank lines at the top\n",
    b"s = '# TODO inside a string'  # XXX but this one counts\n",
    b"// TODO one // FIXME two on one line\n-- XXX sql\n; HACK lisp\n<!-- TODO html -->\n",
    b"TODO without an opener\n#TODO\n#  TODOS are not a word\n",
    b"a\r\n# TODO with CRLF\r\n\r\n * FIXME star after a CRLF blank\r\n",
    b"x\n \n\t\n*TODO star after blank lines holding spaces\n",
    b"\\\\ # TODO after backslashes\n'\\'' # FIXME after an escaped quote\n",
    b"# XXX" * 50 + b"\n" + b"y = 1\n" * 100 + b"  * TODO far below\n",
]


@pytest.mark.parametrize("text", TEXTS)
def test_near_the_words_it_finds_what_the_whole_file_scan_finds(text: bytes) -> None:
    expected = [(match.span(), match.groups()) for match in _MARKER.finditer(text)]
    assert [(match.span(), match.groups()) for match in _matches(text)] == expected


def test_on_this_repository_it_finds_what_the_whole_file_scan_finds() -> None:
    compared = 0
    for path in sorted(ROOT.glob("**/*.py")):
        data = path.read_bytes()
        if b"TODO" not in data and b"FIXME" not in data and b"XXX" not in data:
            continue
        compared += 1
        expected = [(match.span(), match.groups()) for match in _MARKER.finditer(data)]
        assert [(match.span(), match.groups()) for match in _matches(data)] == expected, path
    assert compared > 10


def test_markers_carry_their_line_numbers() -> None:
    text = b"a\n\n# TODO: one\nb\n/*\n\n * FIXME two\n */\n"
    assert _in_file(text) == [(3, "TODO", "one"), (7, "FIXME", "two")]
