"""Project-relative POSIX paths as the digest handles them: a file's name and its extension."""

from __future__ import annotations


def file_name(path: str) -> str:
    """Return the last component of the project-relative POSIX ``path``."""
    return path.rsplit("/", 1)[-1]


def file_suffix(name: str) -> str:
    """Return the extension of ``name`` with its dot (``.py``), ``""`` for none or a dotfile."""
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""
