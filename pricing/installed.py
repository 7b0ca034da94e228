"""The version of an installed distribution, read from its ``.dist-info`` folder.

``importlib.metadata`` costs about as much to import as this whole package, on every command that
writes a report; a wheel's ``<name>-<version>.dist-info/METADATA`` gives the same answer with
one folder listing per ``sys.path`` entry. Anything else (an egg, a zip, two candidates in one
folder) is left to ``importlib.metadata``, so the answer is always the one it gives.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cache
from pathlib import Path

_SEPARATORS = re.compile(r"[-_.]+")


def distribution_version(name: str) -> str | None:
    """Return what ``importlib.metadata.version(name)`` returns, ``None`` where it raises
    ``PackageNotFoundError``.

    The first ``sys.path`` entry that holds the distribution answers, as for
    ``importlib.metadata``: from its one ``.dist-info`` folder when it has exactly one and no
    ``.egg-info``, else from ``importlib.metadata``.
    """
    wanted = _normalized(name)
    for entry in sys.path:
        listing = _listing(entry or ".")
        if listing is None:
            break  # a zip or an egg: importlib.metadata looks inside it
        found = [item for item in listing if _normalized(item[0]) == wanted]
        if not found:
            continue
        if len(found) == 1 and found[0][1] == "dist-info":
            version = _metadata_version(Path(entry or ".") / found[0][2])
            if version is not None:
                return version
        break
    return _from_importlib(name)


def _normalized(name: str) -> str:
    return _SEPARATORS.sub("_", name).lower()


@cache
def _listing(folder: str) -> tuple[tuple[str, str, str], ...] | None:
    """(distribution name, ``dist-info`` or ``egg-info``, folder name) of each metadata folder
    in ``folder``: none when it does not exist, None when it is a file or an egg."""
    if folder.endswith(".egg") or os.path.isfile(folder):
        return None
    try:
        names = os.listdir(folder)
    except OSError:
        return ()
    found = []
    for item in names:
        stem, dot, kind = item.rpartition(".")
        if dot and kind in ("dist-info", "egg-info"):
            found.append((stem.partition("-")[0], kind, item))
    return tuple(found)


def _metadata_version(folder: Path) -> str | None:
    """The ``Version:`` header of ``folder/METADATA``; None when it has none or cannot be read."""
    try:
        with (folder / "METADATA").open(encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("Version:"):
                    return line.partition(":")[2].strip()
                if not line.strip():
                    return None  # the headers end at the first blank line
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _from_importlib(name: str) -> str | None:
    import importlib.metadata  # only where the folder listing does not answer (see above)

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
