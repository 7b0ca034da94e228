"""``ast.unparse`` for the expressions signatures are made of, several times faster.

The repo map writes a signature for every function and class. :func:`unparse` returns exactly
what :func:`ast.unparse` returns: names, attributes, subscripts, lists, tuples, ``|`` unions and
constants other than floats are written here, every other expression by :func:`ast.unparse`.
"""

from __future__ import annotations

import ast

# ast's precedence levels (``ast._Precedence``): the context an expression is written in.
_TUPLE = 2
_TEST = 4
_BOR = 9
_BXOR = 10


def unparse(node: ast.AST) -> str:
    """Return ``ast.unparse(node)`` for an expression or an ``arguments`` node."""
    if isinstance(node, ast.arguments):
        written = _arguments(node)
    else:
        written = _expression(node, _TEST) if isinstance(node, ast.expr) else None
    return written if written is not None else ast.unparse(node)


def _expression(node: ast.expr, precedence: int) -> str | None:
    """``node`` written as ``ast.unparse`` writes it in a context of ``precedence``, or None for
    a kind of expression not written here."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name | ast.Attribute):
            return None  # ``3 .real`` and parenthesised values
        value = _expression(node.value, _TEST)
        return None if value is None else f"{value}.{node.attr}"
    if isinstance(node, ast.Subscript):
        if not isinstance(node.value, ast.Name | ast.Attribute | ast.Subscript):
            return None
        value = _expression(node.value, _TEST)
        if value is None:
            return None
        piece = node.slice
        inner = (
            _items(piece.elts)
            if isinstance(piece, ast.Tuple) and piece.elts
            else _expression(piece, _TEST)
        )
        return None if inner is None else f"{value}[{inner}]"
    if isinstance(node, ast.Constant):
        return _constant(node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left = _expression(node.left, _BOR)
        right = _expression(node.right, _BXOR)
        if left is None or right is None:
            return None
        written = f"{left} | {right}"
        return f"({written})" if precedence > _BOR else written
    if isinstance(node, ast.List):
        parts = [_expression(element, _TEST) for element in node.elts]
        return None if None in parts else "[" + ", ".join(parts) + "]"  # type: ignore[arg-type]
    if isinstance(node, ast.Tuple):
        inner = _items(node.elts)
        if inner is None:
            return None
        return f"({inner})" if not node.elts or precedence > _TUPLE else inner
    return None


def _items(elements: list[ast.expr]) -> str | None:
    """Elements joined with ``, `` (one element gets a trailing comma)."""
    parts = [_expression(element, _TEST) for element in elements]
    if None in parts:
        return None
    if len(parts) == 1:
        return f"{parts[0]},"
    return ", ".join(parts)  # type: ignore[arg-type]


def _constant(node: ast.Constant) -> str | None:
    value = node.value
    if value is ...:
        return "..."
    if isinstance(value, str):
        return ("u" if node.kind == "u" else "") + repr(value)
    if value is None or isinstance(value, bool | int | bytes):
        return repr(value)
    return None  # floats (infinities are written specially), complex numbers, tuples


def _arguments(node: ast.arguments) -> str | None:
    """The parameters as ``ast.unparse`` writes them (``visit_arguments``)."""
    parts: list[str] = []
    positional = node.posonlyargs + node.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(node.defaults))
    defaults += node.defaults
    for index, (argument, default) in enumerate(zip(positional, defaults, strict=True), 1):
        written = _argument(argument, default)
        if written is None:
            return None
        if index == len(node.posonlyargs):
            written += ", /"
        parts.append(written)
    if node.vararg is not None or node.kwonlyargs:
        star = "*"
        if node.vararg is not None:
            star = _argument(node.vararg, None, "*")  # type: ignore[assignment]
            if star is None:
                return None
        parts.append(star)
    for argument, default in zip(node.kwonlyargs, node.kw_defaults, strict=True):
        written = _argument(argument, default)
        if written is None:
            return None
        parts.append(written)
    if node.kwarg is not None:
        written = _argument(node.kwarg, None, "**")
        if written is None:
            return None
        parts.append(written)
    return ", ".join(parts)


def _argument(argument: ast.arg, default: ast.expr | None, prefix: str = "") -> str | None:
    written = prefix + argument.arg
    if argument.annotation is not None:
        annotation = _expression(argument.annotation, _TEST)
        if annotation is None:
            return None
        written += f": {annotation}"
    if default is not None:
        value = _expression(default, _TEST)
        if value is None:
            return None
        written += f"={value}"
    return written
