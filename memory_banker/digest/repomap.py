"""The outline of one source file: its docstring's first line, top-level symbols with signatures,
and the import specifiers it names.

Python is read from the logical lines :mod:`~memory_banker.digest.pyskim` finds, by
:mod:`~memory_banker.digest.pyheaders` without a parse, and where those lines hold something it
does not read, parsed with :mod:`ast` from the skimmed source (the same outline either way, a
fraction of the parse of the whole file, which is the last resort); JavaScript, TypeScript, Go,
Rust, Java, Ruby, C, C++ and PHP with tree-sitter and the grammar wheels installed beside it (a
language whose wheel is missing gets no symbols). Imports are read with one pattern per
language. Outlines are cached by content hash under the user cache folder, so an unchanged file
is parsed once.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from memory_banker.digest.facts import Symbol
from memory_banker.digest.paths import file_suffix
from memory_banker.digest.pyheaders import (
    MAX_SIGNATURE,
    docstring_line,
    first_line,
    function_signature,
    node_signature,
    read_outline,
)
from memory_banker.digest.pyskim import scan
from memory_banker.digest.unparse import unparse
from token_tracking.files import write_cache_file
from token_tracking.settings import cache_dir

_encode = msgspec.json.Encoder().encode
"""JSON, several times faster than :func:`json.dumps` for the shards."""
_CACHE_VERSION = "8"
_SHARD_NAME = 1
"""Hex digits of a key that name its shard: 16 shards, so a run reads and writes few files."""


@dataclass(frozen=True)
class Outline:
    """What one file declares and imports."""

    doc: str
    """First line of the module docstring or leading comment."""
    symbols: tuple[Symbol, ...]
    """Top-level symbols (and methods of top-level classes), in file order."""
    imports: tuple[str, ...]
    """Import specifiers as written (``os.path``, ``./utils``, ``crate::value``); a Python
    ``from X import a, b`` is ``X|a,b``."""


# --- grammars ------------------------------------------------------------------------------------

_GRAMMARS: dict[str, tuple[str, str]] = {
    ".js": ("tree_sitter_javascript", "language"), ".mjs": ("tree_sitter_javascript", "language"),
    ".cjs": ("tree_sitter_javascript", "language"), ".jsx": ("tree_sitter_javascript", "language"),
    ".ts": ("tree_sitter_typescript", "language_typescript"),
    ".tsx": ("tree_sitter_typescript", "language_tsx"), ".go": ("tree_sitter_go", "language"),
    ".rs": ("tree_sitter_rust", "language"), ".java": ("tree_sitter_java", "language"),
    ".rb": ("tree_sitter_ruby", "language"), ".c": ("tree_sitter_c", "language"),
    ".h": ("tree_sitter_c", "language"), ".cc": ("tree_sitter_cpp", "language"),
    ".cpp": ("tree_sitter_cpp", "language"), ".cxx": ("tree_sitter_cpp", "language"),
    ".hpp": ("tree_sitter_cpp", "language"), ".php": ("tree_sitter_php", "language_php"),
}  # fmt: skip

_KINDS = {
    "function_declaration": "function", "generator_function_declaration": "function",
    "class_declaration": "class", "abstract_class_declaration": "class",
    "interface_declaration": "interface", "type_alias_declaration": "type",
    "enum_declaration": "enum", "method_definition": "method", "method_declaration": "method",
    "function_item": "function", "struct_item": "struct", "enum_item": "enum",
    "trait_item": "trait", "type_item": "type", "mod_item": "module", "union_item": "struct",
    "macro_definition": "function", "record_declaration": "class",
    "constructor_declaration": "method", "class": "class", "module": "module",
    "method": "function", "singleton_method": "function", "function_definition": "function",
    "class_specifier": "class", "struct_specifier": "struct", "namespace_definition": "module",
    "trait_declaration": "trait", "type_spec": "type", "function_signature": "function",
}  # fmt: skip
"""Tree-sitter node types that declare a symbol, and the symbol kind each one is."""

_CONTAINERS = frozenset(
    {"class_declaration", "abstract_class_declaration", "impl_item", "trait_item", "class",
     "module", "class_specifier", "struct_specifier", "interface_declaration",
     "namespace_definition", "trait_declaration", "record_declaration", "enum_declaration"}
)  # fmt: skip
"""Nodes whose members are listed as ``Container.member``."""

_WRAPPERS = frozenset(
    {"export_statement", "type_declaration", "declaration_list", "template_declaration",
     "linkage_specification", "expression_statement", "body_statement", "class_body",
     "declaration", "field_declaration_list", "enum_body", "interface_body", "lexical_declaration",
     "variable_declaration", "variable_declarator", "program", "php_tag", "compound_statement"}
)  # fmt: skip
"""Nodes looked through for declarations (their children are at the same level)."""

_parsers: dict[str, Any] = {}


def _parser(suffix: str) -> Any:
    """The tree-sitter parser for ``suffix``, or None when its grammar wheel is not installed."""
    if suffix not in _parsers:
        module_name, function = _GRAMMARS[suffix]
        try:
            # Imported on first use: each grammar is a compiled wheel, and most projects need one.
            tree_sitter = importlib.import_module("tree_sitter")
            grammar = importlib.import_module(module_name)
            language = tree_sitter.Language(getattr(grammar, function)())
            _parsers[suffix] = tree_sitter.Parser(language)
        except (ImportError, AttributeError, ValueError, TypeError):
            _parsers[suffix] = None
    return _parsers[suffix]


# --- outlines ------------------------------------------------------------------------------------


def has_outline(path: str) -> bool:
    """Return True when the repo map can outline ``path`` (Python or a tree-sitter language)."""
    suffix = file_suffix(path).lower()
    return suffix in {".py", ".pyi"} or suffix in _GRAMMARS


class OutlineCache:
    """Outlines by content hash, kept in 16 JSON shards under ``folder`` (default: ``repomap``
    under the user cache folder). Shards are read on first use and written by :meth:`save`."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else cache_dir() / "repomap"
        self._shards: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()

    def outline(self, path: str, data: bytes, digest: bytes | None = None) -> Outline:
        """Return the outline of file ``path`` whose content is ``data`` (and whose SHA-256
        digest is ``digest``, when known). Never raises."""
        suffix = file_suffix(path).lower()
        key = _key(suffix, data, digest)
        shard = self._shard(key[:_SHARD_NAME])
        raw = shard.get(key)
        if isinstance(raw, list) and len(raw) == 3:
            try:
                symbols = tuple(symbol_from_item(item) for item in raw[1])
                return Outline(str(raw[0]), symbols, tuple(raw[2]))
            except (TypeError, ValueError):
                pass
        result = _python(data) if suffix in {".py", ".pyi"} else _tree_sitter(suffix, data)
        shard[key] = [result.doc, [symbol_item(s) for s in result.symbols], list(result.imports)]
        self._dirty.add(key[:_SHARD_NAME])
        return result

    def flag(
        self,
        data: bytes,
        name: str,
        compute: Callable[[bytes], bool],
        digest: bytes | None = None,
    ) -> bool:
        """Return ``compute(data)``, cached under ``name`` by ``data``'s content hash (its
        SHA-256 ``digest``, when known)."""
        return bool(self.value(data, name, compute, bool, digest))

    def value(
        self,
        data: bytes,
        name: str,
        compute: Callable[[bytes], Any],
        valid: type | tuple[type, ...] = object,
        digest: bytes | None = None,
    ) -> Any:
        """Return ``compute(data)`` (a JSON value), cached under ``name`` by ``data``'s content
        hash; a cached value that is not a ``valid`` instance is computed again."""
        key = _key(name, data, digest)
        shard = self._shard(key[:_SHARD_NAME])
        if key in shard and isinstance(shard[key], valid):
            return shard[key]
        value = compute(data)
        shard[key] = value
        self._dirty.add(key[:_SHARD_NAME])
        return value

    def _shard(self, name: str) -> dict[str, Any]:
        if name not in self._shards:
            try:
                loaded = json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}
            self._shards[name] = loaded if isinstance(loaded, dict) else {}
        return self._shards[name]

    def save(self) -> None:
        """Write the shards that gained outlines; a cache that cannot be written is skipped."""
        for name in sorted(self._dirty):
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                write_cache_file(self.folder / f"{name}.json", _encode(self._shards[name]))
            except OSError:
                pass  # a cache that cannot be written only costs a parse next time
        self._dirty.clear()


def symbol_item(symbol: Symbol) -> list[Any]:
    """``symbol`` as the caches keep it: ``[kind, name, signature, line, doc]``, or for a
    function whose signature is not written yet ``[kind, name, None, line, doc, header]``."""
    header = symbol.header
    if header is not None:
        return [symbol.kind, symbol.name, None, symbol.line, symbol.doc, header]
    return [symbol.kind, symbol.name, symbol.signature, symbol.line, symbol.doc]


def symbol_from_item(item: list[Any]) -> Symbol:
    """The symbol :func:`symbol_item` made ``item`` of; raises ``TypeError`` or ``ValueError``
    for an item it did not make."""
    kind, name, signature, line, doc, *header = item
    if signature is None and len(header) == 1 and isinstance(header[0], str):
        return Symbol.deferred(
            str(kind), str(name), header[0], function_signature, int(line), str(doc)
        )
    if not isinstance(signature, str) or header:
        raise TypeError(f"not a cached symbol: {item!r}")
    return Symbol(str(kind), str(name), signature, int(line), str(doc))


def _key(name: str, data: bytes, digest: bytes | None) -> str:
    """The cache key of ``name`` for content ``data`` whose SHA-256 digest is ``digest`` (None:
    not computed yet)."""
    content = digest if digest is not None else hashlib.sha256(data).digest()
    return hashlib.sha256(f"{_CACHE_VERSION}\0{name}\0".encode() + content).hexdigest()


def outline(path: str, data: bytes, cache: Path | None = None) -> Outline:
    """Return the outline of file ``path`` whose content is ``data``, through the cache in
    ``cache`` (default: ``repomap`` under the user cache folder). Never raises for bad input."""
    store = OutlineCache(cache)
    result = store.outline(path, data)
    store.save()
    return result


# --- Python --------------------------------------------------------------------------------------


def _python(data: bytes) -> Outline:
    """The outline of a Python source: read from its logical lines (:mod:`pyheaders`) when they
    hold only what is read there, else parsed from its skimmed form (:mod:`pyskim`) when it has
    one that parses, else parsed whole; a source that does not parse gets its imports by
    pattern."""
    text = data.decode("utf-8", errors="replace")
    scanned = scan(text)
    if scanned is not None:
        read = read_outline(scanned)
        if read is not None:
            return Outline(*read)
        try:
            return _python_tree(ast.parse(scanned.render()), None, skimmed=True)
        except (SyntaxError, ValueError, RecursionError):
            pass
    return _python_whole(text)


def _python_whole(text: str) -> Outline:
    """The outline of a Python source parsed whole."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return Outline("", (), tuple(_regex_imports(".py", text)))
    return _python_tree(tree, _import_lines(text))


def _python_tree(
    tree: ast.Module, import_lines: list[int] | None, *, skimmed: bool = False
) -> Outline:
    """The outline read from ``tree``; ``import_lines`` as :func:`_statements` takes them. A
    ``skimmed`` tree (:mod:`pyskim`) holds statements only in the module, its functions and
    classes and their methods: its imports are read from those bodies."""
    symbols: list[Symbol] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            symbols.append(_py_function(node, ""))
        elif isinstance(node, ast.ClassDef):
            bases = ", ".join(unparse(base) for base in node.bases)
            signature = f"class {node.name}({bases})" if bases else f"class {node.name}"
            doc = _doc_line(node)
            symbols.append(Symbol("class", node.name, signature, node.lineno, doc))
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    symbols.append(_py_function(member, node.name))
    imports: list[str] = []
    found_in = _skimmed_statements(tree) if skimmed else _statements(tree.body, import_lines)
    for found in found_in:
        if isinstance(found, ast.Import):
            imports.extend(alias.name for alias in found.names)
        elif isinstance(found, ast.ImportFrom):
            base = "." * found.level + (found.module or "")
            names = ",".join(alias.name for alias in found.names if alias.name != "*")
            imports.append(f"{base}|{names}")
    return Outline(_doc_line(tree), tuple(symbols), tuple(imports))


def _doc_line(node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The first line of ``node``'s docstring, cleaned as :func:`ast.get_docstring` cleans it."""
    first = node.body[0] if node.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return ""
    return docstring_line(first.value.value)


_IMPORT_NODES = (ast.Import, ast.ImportFrom)
_BLOCK_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _skimmed_statements(tree: ast.Module) -> list[ast.stmt]:
    """The import statements among those :func:`_statements` returns for a skimmed tree, in
    the same order; there only functions and classes hold statements (a class its methods, a
    function none)."""
    found: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, _BLOCK_NODES):
            for member in node.body:
                if isinstance(member, _BLOCK_NODES):
                    found.extend(item for item in member.body if isinstance(item, _IMPORT_NODES))
                elif isinstance(member, _IMPORT_NODES):
                    found.append(member)
        elif isinstance(node, _IMPORT_NODES):
            found.append(node)
    found.sort(key=lambda node: (node.lineno, node.col_offset))
    return found


_IMPORT_WORD = re.compile(r"\b(?:import|from)\b")


def _import_lines(text: str) -> list[int] | None:
    """The numbers of the lines holding the word ``import`` or ``from``, ascending: an import
    statement starts on one of them. None when the text has a lone carriage return, which the
    parser counts as a line break too."""
    if "\r" in text:
        return None
    lines: list[int] = []
    line, position = 1, 0
    for match in _IMPORT_WORD.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def _statements(body: list[ast.stmt], import_lines: list[int] | None = None) -> list[ast.stmt]:
    """Every statement in ``body`` and in the blocks nested in it (imports are statements, so
    expressions need not be walked). With ``import_lines`` (from :func:`_import_lines`), a
    statement spanning none of those lines is left out with everything nested in it: it can
    neither be nor hold an import."""
    found: list[ast.stmt] = []
    pending = list(body)
    while pending:
        node = pending.pop()
        if import_lines is not None:
            index = bisect.bisect_left(import_lines, node.lineno)
            end = node.end_lineno if node.end_lineno is not None else node.lineno
            if index == len(import_lines) or import_lines[index] > end:
                continue
        found.append(node)
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                for item in block:
                    if isinstance(item, ast.stmt):
                        pending.append(item)
                    elif isinstance(item, ast.ExceptHandler | ast.match_case):
                        pending.extend(item.body)
    found.sort(key=lambda node: (node.lineno, node.col_offset))
    return found


def _py_function(node: ast.FunctionDef | ast.AsyncFunctionDef, owner: str) -> Symbol:
    name = f"{owner}.{node.name}" if owner else node.name
    kind = "method" if owner else "function"
    return Symbol(kind, name, node_signature(node), node.lineno, _doc_line(node))


# --- tree-sitter languages -----------------------------------------------------------------------


def _tree_sitter(suffix: str, data: bytes) -> Outline:
    text = data.decode("utf-8", errors="replace")
    imports = tuple(_regex_imports(suffix, text))
    parser = _parser(suffix)
    if parser is None:
        return Outline(_leading_comment(text), (), imports)
    root = parser.parse(data).root_node
    symbols: list[Symbol] = []
    _collect(root, "", symbols, depth=0)
    return Outline(_leading_comment(text), tuple(symbols), imports)


def _collect(node: Any, owner: str, symbols: list[Symbol], depth: int) -> None:
    if depth > 6:
        return
    for child in node.named_children:
        kind = _KINDS.get(child.type)
        name_node = child.child_by_field_name("name")
        if child.type in {"variable_declarator"} and _is_function_value(child):
            kind = "function"
        elif child.type == "type_spec":
            shape = child.child_by_field_name("type")
            kind = {"struct_type": "struct", "interface_type": "interface"}.get(
                shape.type if shape is not None else "", "type"
            )
        if kind is not None and name_node is not None:
            name = _text(name_node)
            qualified = f"{owner}.{name}" if owner else name
            member_kind = "method" if owner and kind == "function" else kind
            symbols.append(
                Symbol(member_kind, qualified, _signature(child), child.start_point[0] + 1,
                       _comment_before(child))
            )  # fmt: skip
            if child.type in _CONTAINERS:
                body = child.child_by_field_name("body")
                if body is None:  # Ruby and PHP bodies are unnamed children
                    bodies = {"body_statement", "declaration_list"}
                    body = next((c for c in child.named_children if c.type in bodies), None)
                if body is not None:
                    _collect(body, qualified, symbols, depth + 1)
        elif child.type == "impl_item" and not owner:
            target = child.child_by_field_name("type")
            body = child.child_by_field_name("body")
            if target is not None and body is not None:
                _collect(body, _text(target), symbols, depth + 1)
        elif child.type in _WRAPPERS or (child.type == "type_spec" and name_node is None):
            _collect(child, owner, symbols, depth + 1)


def _is_function_value(node: Any) -> bool:
    value = node.child_by_field_name("value")
    return value is not None and value.type in {"arrow_function", "function_expression",
                                                 "function"}  # fmt: skip


def _text(node: Any) -> str:
    return bytes(node.text or b"").decode("utf-8", errors="replace")


def _signature(node: Any) -> str:
    if node.type == "type_spec":  # Go: ``type Name struct`` without the field list
        shape = node.child_by_field_name("type")
        name = _text(node.child_by_field_name("name"))
        if shape is not None and shape.type in {"struct_type", "interface_type"}:
            return f"type {name} {shape.type.split('_')[0]}"
        return ("type " + " ".join(_text(node).split()))[:MAX_SIGNATURE]
    value = node.child_by_field_name("value") if node.type == "variable_declarator" else None
    body = (value if value is not None else node).child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    raw = bytes(node.text or b"")[: end - node.start_byte].decode("utf-8", errors="replace")
    line = " ".join(raw.split())
    return line.rstrip("{ =").strip()[:MAX_SIGNATURE]


def _comment_before(node: Any) -> str:
    previous = node.prev_named_sibling
    if previous is None or "comment" not in previous.type:
        return ""
    if previous.end_point[0] + 1 < node.start_point[0]:
        return ""
    lines = _text(previous).splitlines()
    start = previous.start_point[0]
    while True:  # the first line of a run of line comments
        earlier = previous.prev_named_sibling
        if earlier is None or "comment" not in earlier.type or earlier.end_point[0] + 1 < start:
            break
        previous, start = earlier, earlier.start_point[0]
        lines = _text(earlier).splitlines()
    return first_line(lines[0] if lines else "")


def _leading_comment(text: str) -> str:
    """The first line of the file's leading comment (licence headers skipped)."""
    block: list[str] = []
    for line in text.splitlines()[:60]:
        stripped = line.strip()
        if stripped.startswith(("//", "/*", "*", "#")) and not stripped.startswith("#!"):
            cleaned = first_line(stripped)
            if cleaned.lower().startswith(
                (
                    "copyright",
                    "license",
                    "spdx",
                    "use of this",
                    "@",
                    "todo",
                    "fixme",
                    "hack",
                    "xxx",
                    "eslint",
                    "jshint",
                )
            ):
                continue
            if cleaned and not cleaned.startswith(("#include", "#pragma", "#define")):
                block.append(cleaned)
                break
        elif stripped and not stripped.startswith(("package ", "<?php", "'use strict'",
                                                   '"use strict"')):  # fmt: skip
            break
    return block[0] if block else ""


# --- imports -------------------------------------------------------------------------------------

_JS_IMPORTS = re.compile(
    r"""require\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]"""
    r"""|^\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)""",
    re.MULTILINE,
)
_IMPORT_PATTERNS: dict[str, re.Pattern[str]] = {
    ".go": re.compile(r"""^\s*(?:import\s+)?(?:[\w.]+\s+)?"([^"\s]+)"\s*$""", re.MULTILINE),
    ".rs": re.compile(
        r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:mod\s+(\w+)\s*;|use\s+((?:crate|super|self)::[\w:]+))",
        re.MULTILINE,
    ),
    ".rb": re.compile(r"""^\s*require(?:_relative)?\s*\(?\s*['"]([^'"]+)['"]""", re.MULTILINE),
    ".java": re.compile(r"^\s*import\s+(?:static\s+)?([\w.]+)", re.MULTILINE),
    ".c": re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE),
    ".php": re.compile(
        r"""^\s*use\s+([\w\\]+)|(?:require|include)(?:_once)?\s*\(?\s*['"]([^'"]+)['"]""",
        re.MULTILINE,
    ),
    ".py": re.compile(r"^\s*(?:from\s+([.\w]+)\s+import|import\s+([\w.]+))", re.MULTILINE),
}
_SAME_IMPORTS = {".mjs": ".js", ".cjs": ".js", ".jsx": ".js", ".ts": ".js", ".tsx": ".js",
                 ".h": ".c", ".cc": ".c", ".cpp": ".c", ".cxx": ".c", ".hpp": ".c"}  # fmt: skip


def _regex_imports(suffix: str, text: str) -> list[str]:
    kind = _SAME_IMPORTS.get(suffix, suffix)
    pattern = _JS_IMPORTS if kind == ".js" else _IMPORT_PATTERNS.get(kind)
    if pattern is None:
        return []
    found: list[str] = []
    for match in pattern.finditer(text):
        value = next((group for group in match.groups() if group), "")
        if value:
            found.append(f"mod {value}" if kind == ".rs" and match.group(1) else value)
    return found
