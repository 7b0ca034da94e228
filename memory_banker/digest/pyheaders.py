"""The outline of a Python source read from its logical lines, without a parse.

:func:`~memory_banker.digest.pyskim.scan` finds the lines an outline reads: the module
docstring, the headers of top-level functions, classes and methods with the first line of
their bodies, and every import statement. :func:`read_outline` reads the outline from those
lines and returns exactly what :mod:`ast` and :func:`ast.unparse` make of the same lines:
signatures are rebuilt from their tokens with ``ast.unparse``'s spacing and quotes.

It reads only what it can read with certainty and returns None for anything else (a parse of
the skimmed source then gives the outline): a non-ASCII header; in a class header, or a
function header with its body on the same line, an expression other than names, attributes,
subscripts, calls, lists, ``|`` unions, a unary minus, ``...``, ``{}``, decimal integers and
strings without backslashes or both quote kinds, a trailing comma in a subscript or a
positional argument after a keyword one; a body on the header's line that starts with a
string or names ``import``; import statements with ``;`` or ``\\``.

A function whose body starts on a later line keeps its header, and its signature is written
when first read (:func:`function_signature`): from its tokens as above, else from a parse of
the header alone, which gives what the parse of the whole source gives.
"""

from __future__ import annotations

import ast
import keyword
import re
from functools import lru_cache

from memory_banker.digest.facts import Symbol
from memory_banker.digest.pyskim import STRING, Line, Scan
from memory_banker.digest.unparse import unparse

MAX_SIGNATURE = 160
"""Signatures of functions and methods are cut to this many characters."""

_NUMBER = (
    r"(?:0[xXoObB][0-9A-Fa-f_]+|(?:[0-9][0-9_]*)?\.?[0-9][0-9_]*(?:[eE][-+]?[0-9][0-9_]*)?"
    r"|[0-9][0-9_]*\.)(?![0-9A-Za-z_.])"
)
"""An integer or float literal (not imaginary)."""
_RESERVED = frozenset(keyword.kwlist) - {"None", "True", "False"}
"""Words that cannot be a name in an expression (``None``, ``True`` and ``False`` are written
as names are)."""
_DEF = re.compile(r"(async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?=\()")
_CLASS = re.compile(r"class[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?=[(:])")
_STARTS_WITH_STRING = re.compile(r"[ \t]*[A-Za-z]{0,2}['\"]")
_IMPORT_WORD = re.compile(r"\bimport\b")
_PLAIN_LITERAL = re.compile(
    r"""[rRuU]?(?:\"\"\"(?P<a>[^"\\]*(?:"(?!"")[^"\\]*)*)\"\"\"|'''(?P<b>[^'\\]*(?:'(?!'')[^'\\]*)*)'''"""
    r"""|"(?P<c>[^"\\\n]*)"|'(?P<d>[^'\\\n]*)')[ \t]*(?:\#[^\n]*)?\n?"""
)
"""A string literal whose value is its text: no escapes, one literal, nothing after it."""
_LINE_BREAK = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
"""A character other than ``\\n`` that ``str.splitlines`` breaks at."""
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?: ?\. ?[A-Za-z_][A-Za-z0-9_]*)*"
_AS = r"(?: as [A-Za-z_][A-Za-z0-9_]*)?"
_IMPORT = re.compile(rf"import ((?:{_DOTTED}){_AS}(?: ?, ?(?:{_DOTTED}){_AS})*)")
_FROM = re.compile(rf"from ?(?P<dots>[. ]*?) ?(?P<module>{_DOTTED})? ?import ?(?P<names>.*)")
_COMMENT = re.compile(r"#[^\n]*")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PLAIN_IMPORT = re.compile(
    rf"from (\.*)({_NAME}(?:\.{_NAME})*)? import ({_NAME}(?:, {_NAME})*)\n?"
    rf"|import ({_NAME}(?:\.{_NAME})*)\n?"
)
"""The common import statements, on one line without aliases or comments."""
_KEYWORD = re.compile(rf"(?<![A-Za-z0-9_])(?:{'|'.join(keyword.kwlist)})(?![A-Za-z0-9_])")
"""A keyword, which no name of an import statement may be."""
_ALIAS = re.compile(r" ?([A-Za-z_][A-Za-z0-9_]*)(?: as [A-Za-z_][A-Za-z0-9_]*)? ?")


class _Unread(Exception):
    """A line holds something this module does not read with certainty."""


def first_line(text: str | None) -> str:
    """The first non-empty line of ``text``, stripped of comment and rule characters, at most
    200 characters."""
    for line in (text or "").strip().splitlines():
        line = line.strip().strip("/*#!-;").strip()
        if line:
            return line[:200]
    return ""


def docstring_line(value: str) -> str:
    """The first line of the docstring ``value`` as :func:`ast.get_docstring` cleans it: each
    line is stripped anyway, so the indentation need not be removed first, unless the value
    holds a character other than ``\\n`` that ``splitlines`` breaks at."""
    if _LINE_BREAK.search(value):
        module = ast.Module(body=[ast.Expr(ast.Constant(value))], type_ignores=[])
        return first_line(ast.get_docstring(module))
    return first_line(value.expandtabs())


def read_outline(scanned: Scan) -> tuple[str, tuple[Symbol, ...], tuple[str, ...]] | None:
    """Return the (docstring line, symbols, imports) of the scanned source, or None when a line
    holds something not read here."""
    text = scanned.text
    try:
        doc = _docstring(text, scanned.doc) if scanned.doc is not None else ""
        symbols: list[Symbol] = []
        line_number, counted = 1, 0
        class_names: dict[int, str] = {}
        for header, first, owner in scanned.definitions:
            line_number += text.count("\n", counted, header.start)
            counted = header.start
            source = text[header.start + header.indent : header.end]
            if not source.isascii():
                raise _Unread
            if source.startswith("class"):
                name, signature, rest = _class(source)
                class_names[header.start] = name
                kind = "class"
            else:
                kind = "function" if owner is None else "method"
                prefix = "" if owner is None else f"{class_names[owner.start]}."
                if first is not None:
                    # The body starts on a later line: the signature is written when shown.
                    match = _DEF.match(source)
                    if match is None:
                        raise _Unread
                    symbols.append(
                        Symbol.deferred(
                            kind, prefix + match.group(2), source, function_signature,
                            line_number, _body_docstring(text, first, ""),
                        )
                    )  # fmt: skip
                    continue
                name, signature, rest = _function(source)
                name = prefix + name
            symbol_doc = _body_docstring(text, first, rest)
            symbols.append(Symbol(kind, name, signature, line_number, symbol_doc))
        imports: list[str] = []
        for line in scanned.imports:
            imports.extend(_imports(text[line.start + line.indent : line.end]))
    except _Unread:
        return None
    return doc, tuple(symbols), tuple(imports)


# --- docstrings ----------------------------------------------------------------------------------


def _docstring(text: str, line: Line) -> str:
    """The docstring line of the statement ``line`` starts (a string): "" when the statement is
    not a string literal."""
    source = text[line.start + line.indent : line.end]
    plain = _PLAIN_LITERAL.fullmatch(source)
    if plain is not None:
        value = plain.group(plain.lastgroup or "a")
        return docstring_line(value or "")
    try:
        statements = ast.parse(source.strip()).body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise _Unread from None
    if len(statements) != 1:
        raise _Unread  # ``"doc"; import os``: the import is outside the lines read
    statement = statements[0]
    if (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    ):
        return docstring_line(statement.value.value)
    return ""  # an expression other than a string: not a docstring


def _body_docstring(text: str, first: Line | None, rest: str) -> str:
    """The docstring line of a definition whose body starts with ``first``, or is ``rest``,
    what follows the header's colon, when ``first`` is None."""
    if first is not None:
        return _docstring(text, first) if first.kind == STRING else ""
    if not rest.strip(" \t\n") or rest.lstrip(" \t").startswith("#"):
        raise _Unread  # a header without a body
    if _STARTS_WITH_STRING.match(rest) or _IMPORT_WORD.search(rest):
        raise _Unread
    return ""


# --- headers -------------------------------------------------------------------------------------


def _tokens(source: str, position: int) -> tuple[list[str], str]:
    """The tokens of ``source`` from ``position`` to the colon that ends the header (not
    included), and what follows that colon."""
    values: list[str] = []
    depth = 0
    for match in _WORDS.finditer(source, position):
        value = match.group(1)
        if not value:
            continue
        if value in "([{":
            depth += 1
        elif value in ")]}":
            depth -= 1
        elif value == ":" and depth == 0:
            return values, source[match.end() :]
        values.append(value)
    raise _Unread


def function_signature(source: str) -> str:
    """The signature of the function whose header is ``source`` (from ``def`` or ``async def``
    to the end of the header's logical line), as :func:`node_signature` writes it: read from
    its tokens, else from a parse of the header alone. A header that does not parse is its
    source with runs of white space made one space (only a file with a syntax error in a
    header has one)."""
    try:
        return _function(source)[1]
    except _Unread:
        pass
    try:
        node = ast.parse(source.rstrip() + "\n pass\n").body[0]
    except (SyntaxError, ValueError, MemoryError, RecursionError, IndexError):
        node = None
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return node_signature(node)
    return " ".join(source.split()).removesuffix(":")[:MAX_SIGNATURE]


def node_signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The signature of the parsed function ``node``: ``def``, its name, its parameters and
    return annotation as ``ast.unparse`` writes them, cut to :data:`MAX_SIGNATURE`."""
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({unparse(node.args)}){returns}"[:MAX_SIGNATURE]


def _function(source: str) -> tuple[str, str, str]:
    """The name and signature of the function header ``source``, and what follows its colon."""
    match = _DEF.match(source)
    if match is None:
        raise _Unread
    prefix = "async def" if match.group(1) else "def"
    name = match.group(2)
    written, rest = _parameters(source[match.end() :])
    return name, f"{prefix} {name}{written}"[:MAX_SIGNATURE], rest


@lru_cache(maxsize=8192)
def _parameters(tail: str) -> tuple[str, str]:
    """The parameter list and return annotation of the function header whose ``tail`` follows
    its name, and what follows its colon; kept per text, as two in five headers repeat one
    (``(self):``, the arguments of an overridden method)."""
    end = _HEADER_END.search(tail)
    written = None if end is None else _written(_WORDS.findall(tail[: end.start()]))
    if written is not None:
        return written, ""
    values, rest = _tokens(tail, 0)
    written = _written(values)
    if written is None:
        raise _Unread
    return written, rest


_HEADER_END = re.compile(r":[ \t]*(?:\#[^\n]*)?\n?\Z")
"""The colon that ends a header whose body starts on the next line (when it is not inside a
string or comment: :func:`_written` then sees an unknown token or a second colon)."""
_WORDS = re.compile(
    r"[ \t\n]+|\\\n|\#[^\n]*"
    r"|([A-Za-z]{0,2}(?:'[^'\\\n]*'|\"[^\"\\\n]*\")|[A-Za-z_][A-Za-z0-9_]*"
    r"|" + _NUMBER + r"|->|\*\*|\.\.\.|[^ \t\n])"
)
"""Tokens for :func:`_written`: spaces and comments match as empty strings, and any other
character is a token of its own."""
_CALLS = ("c", "b")
"""Contexts whose items are call arguments: a call's, and a class's bases."""
_ATOM_STARTS = frozenset({"open", "sep", "op"})


def _written(tokens: list[str], *, bases: bool = False) -> str | None:
    """The parameter list and return annotation the header ``tokens`` (from the opening
    parenthesis up to the colon) stand for, as ``ast.unparse`` writes them, in one pass over
    the tokens; None for anything not read here.

    ``prev`` says what the last token was: ``open`` and ``sep`` (an item may start), ``op``
    (an operand must follow), ``neg`` (a unary minus), ``param`` (a parameter's name, ``/`` or
    a bare ``*``), ``star`` (``*`` or ``**`` before a parameter's name), ``dot`` and ``atom``.
    Each open bracket is a context: ``p`` the parameter list, ``c`` a call, ``s`` a subscript,
    ``l`` a list, with the state of its current item."""
    out: list[str] = []
    kept: list[str] = []
    """The bases of a class read so far (with ``bases``)."""
    stack: list[str] = []
    items: list[str] = []
    """Per context: ``p``: start, name, star, ann, default; ``c``: start, name (a first token
    that is a name), pos, kw; ``s`` and ``l``: any."""
    keywords: list[bool] = []
    prev = "start"
    last = ""
    count = len(tokens)
    index = 0
    while index < count:
        token = tokens[index]
        index += 1
        if not token:
            continue
        first = token[0]
        top = stack[-1] if stack else ""
        item = items[-1] if items else ""
        if top == "p" and item in ("start", "star"):
            # A parameter: a name, ``*`` or ``**`` before one, ``/`` or a bare ``*``.
            if item == "start" and token in ("*", "**"):
                items[-1], prev = ("star" if token == "*" else "kwstar"), "star"
                out.append(token)
                continue
            if item == "start" and token == "/":
                items[-1], prev = "done", "param"
                out.append(token)
                continue
            if item == "star" and token in (",", ")") and out[-1] == "*":
                items[-1], prev = "done", "param"
            elif (first.isalpha() or first == "_") and token[-1] not in "'\"":
                if token in _RESERVED or token in ("None", "True", "False"):
                    return None
                items[-1] = "name" if item == "start" else "starname"
                prev = "param"
                out.append(token)
                continue
            elif prev not in ("open", "sep"):
                return None
        if top == "p" and item == "kwstar":
            if not (first.isalpha() or first == "_") or token[-1] in "'\"" or token in _RESERVED:
                return None
            items[-1], prev = "starname", "param"
            out.append(token)
            continue
        if (first.isalpha() or first == "_") and token[-1] not in "'\"":
            if prev == "dot":
                if token in keyword.kwlist:
                    return None
            elif prev in _ATOM_STARTS or prev == "neg":
                if token in _RESERVED:
                    return None
            else:
                return None
            out.append(token)
            prev, last = "atom", "name"
            if top in _CALLS and item == "start":
                items[-1] = "name"
            elif top in _CALLS and item == "name":
                items[-1] = "pos"
            continue
        number = first.isdigit() or (first == "." and len(token) > 1 and token != "...")
        if number or (len(token) > 1 and token[-1] in "'\""):
            # A literal: a string (prefixed or not) or a number, which alone may follow a minus.
            if prev not in _ATOM_STARTS and not (number and prev == "neg"):
                return None
            try:
                out.append(_number(token) if number else _string(token))
            except _Unread:
                return None
            prev, last = "atom", "number" if number else "string"
            if top in _CALLS and item in ("start", "name"):
                items[-1] = "pos"
            continue
        if top in _CALLS and item == "name" and token != "=":
            items[-1] = "pos"
        if token == "(":
            if prev == "start":
                stack.append("b" if bases else "p")
                items.append("start")
            elif prev == "atom" and last in ("name", "string", "closer"):
                stack.append("c")
                items.append("start")
            elif prev in _ATOM_STARTS:
                stack.append("t")  # a tuple
                items.append("" if top != "s" else "in subscript")
            else:
                return None
            keywords.append(False)
            out.append("(")
            prev = "open"
        elif token == "[":
            if prev == "atom" and last in ("name", "string", "closer"):
                stack.append("s")
            elif prev in _ATOM_STARTS:
                stack.append("l")
            else:
                return None
            items.append("")
            keywords.append(False)
            out.append("[")
            prev = "open"
        elif token in (")", "]"):
            if top not in (("s", "l") if token == "]" else ("p", "c", "t", "b")):
                return None
            if top == "b":
                if prev not in ("open", "sep") and not _base_ends(out, kept, items, keywords):
                    return None
                del out[-1:]  # the opening parenthesis
                if kept:
                    out.append(f"({', '.join(kept)})")
                stack.pop()
                prev = "end"  # nothing may follow a class's arguments
                continue
            if top == "t" and prev != "open" and (not item or item[0] == "i"):
                # Parentheses around one expression are not a tuple; ast.unparse writes a
                # tuple that is a whole subscript without them.
                return None
            if prev == "sep":
                # A trailing comma: ast.unparse writes a tuple of one as ``(a,)``, in a
                # subscript as ``x[a,]``.
                if top in ("s", "t") and item == ",":
                    out[-1] = ","
                else:
                    out.pop()
            elif prev == "open":
                if top == "s":
                    return None
            elif prev not in ("atom", "param"):
                return None
            if top == "c" and not _argument_ends(items, keywords):
                return None
            stack.pop()
            items.pop()
            keywords.pop()
            out.append(token)
            prev, last = "atom", "closer"
        elif token == ",":
            if not stack or prev not in ("atom", "param"):
                return None
            if top == "b":
                if not _base_ends(out, kept, items, keywords):
                    return None
                items[-1], prev = "start", "sep"
                continue
            if top == "c" and not _argument_ends(items, keywords):
                return None
            items[-1] = "start" if top in ("p", "c") else item + ","
            out.append(", ")
            prev = "sep"
        elif token == ":":
            if top != "p" or item not in ("name", "starname") or prev != "param":
                return None
            items[-1] = "ann"
            out.append(": ")
            prev = "op"
        elif token == "=":
            if top == "p" and item in ("name", "ann") and prev in ("param", "atom"):
                items[-1] = "default"
            elif top in _CALLS and item == "name" and prev == "atom" and last == "name":
                items[-1] = "kw"
            else:
                return None
            out.append("=")
            prev = "op"
        elif token == "|":
            if prev != "atom":
                return None
            out.append(" | ")
            prev = "op"
        elif token == "-":
            if prev not in _ATOM_STARTS:
                return None
            out.append("-")
            prev = "neg"
        elif token == ".":
            if prev != "atom" or last == "number":
                return None
            out.append(".")
            prev = "dot"
        elif token == "...":
            if prev not in _ATOM_STARTS:
                return None
            out.append("...")
            prev, last = "atom", "ellipsis"
        elif token in ("*", "**") and top in _CALLS and item == "start":
            if token == "*" and keywords[-1]:
                return None
            items[-1] = "pos" if token == "*" else "kw"
            out.append(token)
            prev = "op"
        elif token == "->":
            if bases or stack or prev != "atom" or last != "closer" or " -> " in out:
                return None
            out.append(" -> ")
            prev = "op"
        elif token == "{":
            if prev not in _ATOM_STARTS or index >= count or tokens[index] != "}":
                return None
            index += 1
            out.append("{}")
            prev, last = "atom", "closer"
        else:
            return None
    if stack or prev not in ("atom", "end"):
        return None
    return "".join(out)


def _base_ends(out: list[str], kept: list[str], items: list[str], keywords: list[bool]) -> bool:
    """Move the class argument that ends here from ``out`` to ``kept`` unless it is a keyword
    one (a class's bases leave those out); False for a positional argument after a keyword
    one."""
    start = out.index("(") + 1
    if not _argument_ends(items, keywords):
        return False
    if items[-1] != "kw":
        kept.append("".join(out[start:]))
    del out[start:]
    return True


def _argument_ends(items: list[str], keywords: list[bool]) -> bool:
    """Record how the call argument that ends here was given; False for a positional argument
    after a keyword one (``ast.unparse`` would write it first)."""
    if items[-1] == "kw":
        keywords[-1] = True
    elif items[-1] in ("pos", "name") and keywords[-1]:
        return False
    return True


def _class(source: str) -> tuple[str, str, str]:
    """The name and signature of the class header ``source`` (keyword arguments are left out
    of the bases), and what follows its colon."""
    match = _CLASS.match(source)
    if match is None:
        raise _Unread
    values, rest = _tokens(source, match.end())
    name = match.group(1)
    bases = _written(values, bases=True) if values else ""
    if bases is None:
        raise _Unread
    return name, f"class {name}{bases}", rest


def _number(token: str) -> str:
    """The number literal ``token`` as ``ast.unparse`` writes its value."""
    try:
        if token[:2].lower() in ("0x", "0o", "0b") or not any(c in token for c in ".eE"):
            written = repr(int(token, 0))
        else:
            written = repr(float(token))
    except ValueError:
        raise _Unread from None  # ``007`` and the like
    if written in ("inf", "nan"):
        raise _Unread  # written as ``1e309``
    return written


def _string(token: str) -> str:
    """The string literal ``token`` as ``ast.unparse`` writes its value."""
    quote = token.find("'") if token[-1] == "'" else token.find('"')
    prefix, value = token[:quote], token[quote + 1 : -1]
    if prefix not in ("", "r", "R", "u", "U") or not value.isprintable():
        raise _Unread  # bytes, f-strings, tabs and other escaped characters
    kind = "u" if prefix in ("u", "U") else ""  # ast keeps a ``u`` prefix, and writes it
    if "'" not in value:
        return f"{kind}'{value}'"
    if '"' not in value:
        return f'{kind}"{value}"'
    raise _Unread


# --- imports -------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _imports(source: str) -> tuple[str, ...]:
    """The import specifiers of the import statement ``source``, written as the repo map writes
    them (``os.path``; ``from X import a, b`` as ``X|a,b``); kept per text, as most import
    lines repeat across a project's files."""
    plain = _PLAIN_IMPORT.fullmatch(source)
    if plain is not None:
        dots, module, names, imported = plain.groups()
        if imported is not None:
            if not _KEYWORD.search(imported):
                return (imported,)
        elif (dots or module) and not _KEYWORD.search(f"{module or ''} {names}"):
            return (f"{dots}{module or ''}|{names.replace(', ', ',')}",)
    code = _COMMENT.sub("", source)  # an import statement holds no string
    if not code.isascii() or ";" in code or "\\" in code:
        raise _Unread
    words = " ".join(code.split())
    if words.startswith("import"):
        match = _IMPORT.fullmatch(words)
        if match is None:
            raise _Unread
        parts = match.group(1).split(",")
        return tuple(_checked(part.split(" as ")[0].replace(" ", "")) for part in parts)
    match = _FROM.fullmatch(words)
    if match is None:
        raise _Unread
    dots = match.group("dots").replace(" ", "")
    module = _checked((match.group("module") or "").replace(" ", ""))
    names = match.group("names").strip()
    if not dots and not module:
        raise _Unread
    if names == "*":
        return (f"{dots}{module}|",)
    if names.startswith("("):
        if not names.endswith(")"):
            raise _Unread
        names = names[1:-1].strip()
        if names.endswith(","):
            names = names[:-1]
    written: list[str] = []
    for part in names.split(","):
        alias = _ALIAS.fullmatch(part)
        if alias is None:
            raise _Unread
        written.append(_checked(alias.group(1)))
    return (f"{dots}{module}|{','.join(written)}",)


def _checked(dotted: str) -> str:
    """``dotted`` when none of its parts is a keyword."""
    if _KEYWORD.search(dotted):
        raise _Unread
    return dotted
