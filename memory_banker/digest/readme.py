"""The project's description from its README (Markdown, reStructuredText or HTML).

Only prose counts: titles (``#`` headings, RST titles with their underlines, ``<h1>``), badges,
images, HTML without text, lists, tables, quotes, directives and code (fenced, indented or after
an RST ``::``) are skipped.
"""

from __future__ import annotations

import html
import re

from memory_banker.digest.paths import file_name

_FENCE_OPENER = re.compile(r"^(`{3,}|~{3,})")
_UNDERLINE = re.compile(r"^([=\-~^*#+`:'\"._])\1{2,}\s*$")
_NOT_PROSE = ("#", "![", "[![", "=", "-" * 3, "|", ">", "- ", "* ", "+ ", ".. ", ":", "[!")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s*\S+")
_TAG = re.compile(r"<[^>]*>")
_HEADING_TAG = re.compile(r"^\s*<h[1-6]\b", re.IGNORECASE)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def readme_summary(text: str, name: str = "") -> str:
    """Return the README's summary paragraph: prose only, the first one that starts with the
    project's ``name`` when there is one (the usual "X is a …" opening), else the first. Longer
    than 600 characters, it is cut at the last sentence end that fits, or at a word."""
    paragraphs = prose_paragraphs(text)
    key = _name_key(name)
    named = [p for p in paragraphs if key and _name_key(p[: len(name) + 4]).startswith(key)]
    summary = (named or paragraphs or [""])[0]
    if len(summary) > 600:
        head = summary[:600]
        end = head.rfind(". ")
        summary = head[: end + 1] if end >= 200 else head.rsplit(" ", 1)[0] + " …"
    return summary


def description_sentence(text: str) -> str:
    """Return the first sentence of the README's first descriptive paragraph (one of at least
    four words), inline markup removed; ``""`` when there is none."""
    for paragraph in prose_paragraphs(text):
        plain = plain_text(paragraph)
        if len(plain.split()) >= 4 and not plain.endswith(":"):
            return first_sentence(plain)
    return ""


def plain_text(text: str) -> str:
    """Return ``text`` without Markdown/RST inline markup and HTML tags."""
    text = _LINK.sub(r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)  # reference-style links
    text = re.sub(r"`([^`<]+?)\s*<[^>]+>`_+", r"\1", text)  # RST `text <url>`_
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`]+)`_*", r"\1", text)
    text = re.sub(r"(\*\*|__|\*)(\S(?:.*?\S)?)\1", r"\2", text)
    text = html.unescape(_TAG.sub("", text))
    text = text.replace("\\", "")
    return " ".join(text.split())


def first_sentence(text: str) -> str:
    """Return ``text`` up to its first sentence end after 20 characters, at most 300 characters."""
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z(\"'])", text[20:])
    sentence = text[: 20 + match.start()] if match else text
    if len(sentence) > 300:
        sentence = sentence[:300].rsplit(" ", 1)[0] + " …"
    return sentence


def is_readme(path: str) -> bool:
    """Return True for a README at the project root."""
    return "/" not in path and file_name(path).upper().startswith("README")


def _name_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def prose_paragraphs(text: str) -> list[str]:
    """The README's prose paragraphs, joined to one line each."""
    paragraphs: list[str] = []
    current: list[str] = []
    fence = ""
    literal = False  # inside an RST literal block (after a paragraph ending in ``::``)
    in_comment = False
    for line in text.splitlines():
        stripped = line.strip()
        if in_comment:
            in_comment = "-->" not in stripped
            continue
        if fence:
            fence = "" if stripped.startswith(fence) else fence
            continue
        if literal:
            if stripped and not line.startswith((" ", "\t")):
                literal = False
            else:
                continue
        if stripped.startswith("<!--"):
            in_comment = "-->" not in stripped
            _flush(current, paragraphs)
            continue
        if _UNDERLINE.match(stripped):
            if len(current) == 1:  # the line above was an RST title
                current.clear()
            _flush(current, paragraphs)
            continue
        opener = _FENCE_OPENER.match(stripped)
        if opener is not None:
            fence = opener.group(1)
            _flush(current, paragraphs)
            continue
        if stripped.startswith("<"):
            words = plain_text(stripped)
            if _HEADING_TAG.match(stripped) or not words or stripped.startswith("<img"):
                _flush(current, paragraphs)
                continue
            current.append(words)
            continue
        prose = (
            stripped != ""
            and not stripped.startswith(_NOT_PROSE)
            and not re.match(r"\d+[.)] ", stripped)
            and not (line.startswith(("    ", "\t")) and not current)
            and not _only_links(stripped)
            and not _LINK_DEFINITION.match(stripped)
        )
        if prose:
            current.append(stripped)
            if stripped.endswith("::"):
                literal = True
                _flush(current, paragraphs)
        else:
            _flush(current, paragraphs)
    _flush(current, paragraphs)
    return paragraphs


def _only_links(line: str) -> bool:
    """A line of badges or links only (Markdown or RST substitutions)."""
    rest = re.sub(r"\[[^\]]*\]\[[^\]]*\]", "", _LINK.sub("", line))
    rest = re.sub(r"\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)|\|[^|]+\|_?", "", rest)
    return rest.strip() == "" and line.strip() != ""


def _flush(current: list[str], paragraphs: list[str]) -> None:
    if current:
        paragraphs.append(" ".join(current))
        current.clear()
