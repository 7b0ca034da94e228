"""The skimmed Python source gives the outline of the whole source, faster."""

from __future__ import annotations

import ast
import textwrap

import pytest

from memory_banker.digest.pyheaders import first_line
from memory_banker.digest.pyskim import skim
from memory_banker.digest.repomap import _doc_line, _python, _python_whole
from memory_banker.digest.unparse import unparse

SOURCES = {
    "plain": '''
        """Module doc.

        More."""
        import os
        from . import sibling
        from .pkg import (
            a,
            b,
        )

        CONSTANT = {"import": 1, "x": [1, 2, (3, 4)]}


        def top(a: int, *args: str, key: dict[str, int] | None = None, **kw) -> list[int]:
            """Top doc."""
            import json
            for item in a:
                if item:
                    from collections import OrderedDict
            return []


        @decorator(arg=1)
        class Widget(Base, metaclass=Meta):
            """Widget doc."""

            size = 3

            def method(self, /, x=-1, *, y=1.5) -> None:
                try:
                    import numpy
                except ImportError:
                    numpy = None

            @property
            async def prop(self):
                pass

            class Inner:
                def hidden(self):
                    import inner_only

        if TYPE_CHECKING:
            from typing import Any

            def not_a_symbol():
                import nested_deep
        ''',
    "strings with code at column 0": '''
        def test_sample():
            source = """
        def fake():
            import fake_module
        class Fake:
            pass
        """
            other = \'\'\'
        import also_fake
        \'\'\'
            return source + other


        def after():
            "single-line doc"
        ''',
    "continuations and brackets": """
        x = [
        1,
        ]
        y = 1 + \\
            2
        def f(a=(1,
        2), b='#not a comment', c="it's") -> dict[
            str, int
        ]:
            pass
        class Empty: pass
        def one_liner(): return 1
        """,
    "docstring with tabs": (
        'def tabbed():\n    """\tIndented\twith tabs.\n\n    More.\t"""\n\nclass C:\n    x = 1\n'
    ),
    "import word in a string": """
        def g():
            text = "import this"  # import in a comment
            return text
        """,
    "nested functions and methods": """
        class A:
            def outer(self):
                def inner():
                    import deep
                class Local:
                    def m(self):
                        from x import y
                return inner
        """,
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_the_skimmed_source_gives_the_outline_of_the_whole_one(name: str) -> None:
    text = textwrap.dedent(SOURCES[name]).lstrip("\n")
    assert skim(text) is not None
    assert _python(text.encode()) == _python_whole(text)


def test_the_skimmed_source_keeps_line_numbers_and_drops_bodies() -> None:
    text = textwrap.dedent(SOURCES["plain"]).lstrip("\n")
    skimmed = skim(text)
    assert skimmed is not None
    assert skimmed.count("\n") == text.count("\n")
    assert "CONSTANT" not in skimmed
    assert "return []" not in skimmed
    assert "import json" in skimmed


@pytest.mark.parametrize(
    "text",
    [
        "if x: import y\n",
        "def f():\n    try: import y\n    except ImportError: pass\n",
        "x = 'unterminated\n",
        "def f():\n\treturn 1\n",
        "a = 1\r\nb = 2\r\n",
        "x = (\n",
    ],
)
def test_a_source_it_cannot_skim_with_certainty_is_parsed_whole(text: str) -> None:
    assert skim(text) is None
    assert _python(text.encode()) == _python_whole(text)


def test_a_source_that_does_not_parse_gets_its_imports_by_pattern() -> None:
    text = "import os\nx = (\n"
    assert _python(text.encode()).imports == ("os",)


SIGNATURES = [
    "def f(a, b=1, *args, c: int = 2, d, **kw) -> None: pass",
    "def f(a, /, b, *, c=None): pass",
    "def f(a: 'quoted', b: Optional[Dict[str, Any]] = None) -> Tuple[int, ...]: pass",
    "def f(a: int | None = None, b: (int | str) | None = None) -> list[int] | dict: pass",
    "def f(a=-1, b=1.5, c=1e400, d=b'x', e=u'y', f=(1,), g=(), h=[1, 2]) -> x.y.z: pass",
    "def f(a=lambda: 0, b=call(x, y=1), c={1: 2}, d={1}, e=x if y else z) -> 'Q': pass",
    "def f(a: Callable[[int], str], b: tuple[int,], c: Literal['a', \"b\"]) -> None: pass",
    "def f(*args: *Ts) -> None: pass",
    "def f(a=3 .real, b=(1).real, c=not x, d=a < b) -> None: pass",
]


@pytest.mark.parametrize("source", SIGNATURES)
def test_signatures_are_written_as_ast_unparse_writes_them(source: str) -> None:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    assert unparse(node.args) == ast.unparse(node.args)
    if node.returns is not None:
        assert unparse(node.returns) == ast.unparse(node.returns)


@pytest.mark.parametrize(
    "doc",
    [
        '"""\n\n    First line.\n    Second."""',
        '"""\tTabbed\tline."""',
        '"""a\\x0cb"""',
        '"""--\n*x*"""',
    ],
)
def test_the_first_docstring_line_is_the_cleaned_docstrings(doc: str) -> None:
    node = ast.parse(f"def f():\n    {doc}\n").body[0]
    assert isinstance(node, ast.FunctionDef)
    assert _doc_line(node) == first_line(ast.get_docstring(node))
