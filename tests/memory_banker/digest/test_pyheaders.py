"""The outline read from logical lines is the outline a parse of the skimmed source gives."""

from __future__ import annotations

import ast
import sysconfig
import textwrap
from pathlib import Path

import pytest

from memory_banker.digest.pyheaders import read_outline
from memory_banker.digest.pyskim import scan
from memory_banker.digest.repomap import Outline, _python, _python_tree, _python_whole

ROOT = Path(__file__).resolve().parents[3]


def parsed(text: str) -> Outline | None:
    """The outline of ``text`` from a parse of its skimmed source (None: it does not parse)."""
    scanned = scan(text)
    assert scanned is not None
    try:
        return _python_tree(ast.parse(scanned.render()), None, skimmed=True)
    except SyntaxError:
        return None


def read(text: str) -> Outline | None:
    """The outline of ``text`` read from its lines, or None when they are not read there."""
    scanned = scan(text)
    assert scanned is not None
    found = read_outline(scanned)
    return None if found is None else Outline(*found)


READ = {
    "everyday headers": '''
        """Module doc."""
        from __future__ import annotations
        import os, sys as system
        from . import sibling
        from ..pkg.sub import (  # a comment \u2013 with a dash
            a as b,
            c,
        )
        from x import *

        def plain(self, a, b=None, *args, c: int = 1, **kw) -> Optional[Dict[str, Any]]:
            """Plain."""

        async def floats(timeout: float = 60.0, small=1e-3, half=.5, big=1_000, hexa=0x1F,
                         neg=-2.50):
            pass

        def black_style(
            self,
            content: Optional[
                Union[
                    str,
                    List[int],
                ]
            ] = None,  # a comment: with a colon
            mode: Literal["a", 'b', "it's"] = "auto",
            one: Union[
                Coroutine[Any, Any, int],
            ] = u"x",
        ) -> Tuple[int, ...]:
            r"""Raw doc."""

        def calls(a=field(1, *rest, default=1), b=Path("x").name, c=[], d={}, e=[1, 2,]
                  ) -> None: ...

        def tuples(a=(), b=(1,), c=(1, 2,), d=[(1, 2)], e: tuple[()] | None = None) -> (int, str):
            pass

        class Widget(Base, Generic[T], metaclass=Meta, **extra):
            """Widget.

            More.
            """
            def method(self, /, x, *, y): return x

            @property
            def prop(self) -> "Widget":
                \'\'\'Quoted doc.\'\'\'
                import json

        class Empty: pass
        class Bare(): ...
        ''',
    "docstrings": '''
        def escaped():
            """First\\tline with an escape."""

        def joined():
            "joined " "strings"

        def not_a_docstring():
            "x".join(y)

        def f_string():
            f"value {x}"

        def rule():
            """
            ---
            Title after a rule.
            """

        def form_feed():
            """a\\x0cb"""

        def semicolon():
            """Read; then\\n escaped."""
        ''',
}

NOT_READ = {
    "a statement after the docstring": 'def f():\n    "doc"; x = 1\n',
    "a docstring on the header's line": 'def f(): "doc"\n',
    "an import on the header's line": "def f(): import os\n",
    "a lambda on the header's line": "def f(a=lambda: 0): pass\n",
    "a non-ASCII name": "def café():\n    pass\n",
    "a backslash in an import": "import os, \\\n    sys\n",
    "two imports on a line": "import os; import sys\n",
    "type parameters": "def f[T](x: T) -> T:\n    pass\n",
    "a header without a body": "def f():\n",
}
"""Lines :func:`read_outline` leaves to the parse of the whole skimmed source."""

SIGNATURES_PARSED = {
    "a lambda default": "def f(a=lambda: 0):\n    pass\n",
    "a grouping parenthesis": "def f(a=(x)):\n    pass\n",
    "a slice": "def f(a: x[1:2]):\n    pass\n",
    "a starred annotation": "def f(*args: *Ts):\n    pass\n",
    "a positional argument after a keyword one": "def f(a=g(b=1, *c)):\n    pass\n",
    "a tuple in a subscript": "def f(a: x[(1, 2)]):\n    pass\n",
    "bytes": "class A:\n    def f(self, a=b'x'):\n        pass\n",
    "an infinite float": "async def f(a=1e400):\n    pass\n",
}
"""Function headers whose signature is not written from their tokens: their outline is read,
and the signature is written from a parse of the header alone when it is first read."""


@pytest.mark.parametrize("name", sorted(READ))
def test_lines_it_reads_give_the_parsed_outline(name: str) -> None:
    text = textwrap.dedent(READ[name]).lstrip("\n")
    outline = read(text)
    assert outline is not None
    assert outline == parsed(text) == _python_whole(text)
    assert _python(text.encode()) == outline


def test_the_everyday_outline_is_what_the_parse_writes() -> None:
    outline = read(textwrap.dedent(READ["everyday headers"]).lstrip("\n"))
    assert outline is not None
    signatures = {symbol.name: symbol.signature for symbol in outline.symbols}
    assert signatures["floats"] == (
        "async def floats(timeout: float=60.0, small=0.001, half=0.5, big=1000, hexa=31, neg=-2.5)"
    )
    assert signatures["Widget"] == "class Widget(Base, Generic[T])"
    assert signatures["black_style"].startswith(
        "def black_style(self, content: Optional[Union[str, List[int]]]=None,"
        " mode: Literal['a', 'b', \"it's\"]='auto', one: Union[Coroutine[Any, Any, int],]=u'x')"
    )
    assert outline.imports == (
        "__future__|annotations", "os", "sys", ".|sibling", "..pkg.sub|a,c", "x|", "json"
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(NOT_READ))
def test_lines_it_does_not_read_are_left_to_the_parse(name: str) -> None:
    text = NOT_READ[name]
    scanned = scan(text)
    if scanned is not None:
        assert read_outline(scanned) is None
    assert _python(text.encode()) == _python_whole(text) or parsed(text) is not None


@pytest.mark.parametrize("name", sorted(SIGNATURES_PARSED))
def test_a_signature_not_read_from_its_tokens_is_parsed_when_shown(name: str) -> None:
    text = SIGNATURES_PARSED[name]
    outline = read(text)
    assert outline is not None
    function = outline.symbols[-1]
    assert function.header is not None  # not written yet
    assert outline == parsed(text) == _python_whole(text)
    assert function.header is None
    assert function.signature == parsed_signature(text)


def parsed_signature(text: str) -> str:
    """The signature ``ast.unparse`` gives the last function defined in ``text``."""
    node = [
        n
        for n in ast.walk(ast.parse(text))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ][-1]
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"


def test_signatures_are_written_only_when_read() -> None:
    text = "def first(a: int = 1) -> str:\n    pass\n\ndef second(b):\n    return b\n"
    outline = read(text)
    assert outline is not None
    first, second = outline.symbols
    assert (first.header, second.header) == (
        "def first(a: int = 1) -> str:\n",
        "def second(b):\n",
    )
    assert first.signature == "def first(a: int=1) -> str"
    assert (first.header, second.header) == (None, "def second(b):\n")
    assert repr(second) == (
        "Symbol(kind='function', name='second', signature='def second(b)', line=4, doc='')"
    )


def test_a_header_with_a_syntax_error_is_shown_as_written() -> None:
    outline = read("def broken(a b):\n    pass\n\ndef fine(c):\n    pass\n")
    assert outline is not None
    assert [s.signature for s in outline.symbols] == ["def broken(a b)", "def fine(c)"]


def corpus() -> list[Path]:
    """Python sources found on every machine: this repository's and a fixed share of the
    standard library's (every fourth file by name, so the run stays short)."""
    own = sorted(
        path
        for folder in ("memory_banker", "token_tracking", "pricing", "tests", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
    )
    stdlib = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    return own + stdlib[::4]


def test_on_real_sources_the_lines_read_give_the_parsed_outline() -> None:
    files = corpus()
    read_count = compared = 0
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        scanned = scan(text)
        if scanned is None:
            continue
        compared += 1
        found = read_outline(scanned)
        if found is None:
            continue
        read_count += 1
        assert Outline(*found) == parsed(text), path
    assert compared > 300
    # The reader must keep reading nearly everything, or the digest slows down unnoticed.
    assert read_count >= 0.9 * compared
