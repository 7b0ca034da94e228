"""Reading a log file from an offset, one line at a time, without holding the file in memory.

The agents append to their logs while they run, so the last line may be cut mid-write: it is
handed over marked incomplete, and the caller leaves it (and the offset before it) for the next
import unless it already parses. A line longer than
:data:`~token_tracking.imports.model.MAX_LINE_BYTES` is never buffered whole: it is handed over
as ``None`` so the caller can skip it with a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from token_tracking.imports.model import MAX_LINE_BYTES

CHUNK_BYTES = 1 << 20
"""How much is read at once."""


Line = tuple[int, int, bytes | None, bool]
"""One line of a log file: ``(number, end, data, complete)`` — its 1-based number; the offset
just after it and its newline (where reading resumes once it is done); the bytes without the
newline, ``None`` for a line over the size limit; and False for the last line when it has no
newline yet (the agent may still be writing it). A plain tuple: one is made per line."""


def read_lines(handle: BinaryIO, offset: int, line_number: int) -> Iterator[Line]:
    """Yield the lines of ``handle`` from byte ``offset``; ``line_number`` lines precede it.

    A line over the size limit comes as ``data=None`` once, its bytes never buffered beyond the
    limit. The last line without a newline comes with ``complete=False`` (over the limit, it is
    not yielded at all: it is still being written or the file is not a log).
    """
    handle.seek(offset)
    position = offset
    rest = b""
    overlong = False  # inside a line already known to be over the limit
    number = line_number
    while True:
        chunk = handle.read(CHUNK_BYTES)
        if not chunk:
            break
        data = rest + chunk if rest else chunk
        parts = data.split(b"\n")
        rest = parts.pop()
        for part in parts:
            position += len(part) + 1
            number += 1
            if overlong or len(part) > MAX_LINE_BYTES:
                overlong = False
                yield (number, position, None, True)
            else:
                yield (number, position, part, True)
        if len(rest) > MAX_LINE_BYTES:
            # Drop what is buffered; the line's end (and its count) comes with a later chunk.
            overlong = True
            position += len(rest)
            rest = b""
    if rest and not overlong:
        yield (number + 1, position + len(rest), rest, False)
