"""Bad input is skipped with one warning naming the file (and line); the rest is imported."""

from __future__ import annotations

import os
from pathlib import Path

from pricing import PriceBook
from tests.token_tracking.imports.agent_logs import (
    claude_line,
    codex_count,
    codex_meta,
    codex_turn,
    codex_usage,
    line,
    write,
)
from token_tracking.history.ledger import Ledger
from token_tracking.imports.model import MAX_LINE_BYTES
from token_tracking.imports.run import import_logs


def _good(path: Path, message: str) -> Path:
    return write(
        path,
        line(
            claude_line(
                session="s",
                ts="2026-12-01T09:00:00Z",
                message_id=message,
                request_id="r",
                fresh=10,
                output=5,
            )
        ),
    )


def test_every_kind_of_bad_input_is_one_warning_and_the_rest_is_imported(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    root = tmp_path / "logs"
    _good(root / "a" / "good.jsonl", "m1")
    huge = root / "a" / "huge.jsonl"
    with huge.open("w") as handle:
        handle.write('{"sessionId":"s","pad":"' + "x" * (MAX_LINE_BYTES + 10) + '"}\n')
        handle.write(
            line(
                claude_line(
                    session="s",
                    ts="2026-12-01T09:00:01Z",
                    message_id="m2",
                    request_id="r",
                    fresh=1,
                    output=1,
                )
            )
        )
    write(root / "a" / "notes.jsonl", '{"title": "shopping", "items": 3}\n')
    write(
        root / "a" / "broken.jsonl",
        line(
            claude_line(
                session="s",
                ts="2026-12-01T09:00:02Z",
                message_id="m3",
                request_id="r",
                fresh=2,
                output=2,
            )
        ),
        "{not json\n",
    )
    (root / "a" / "loop").symlink_to(root / "a", target_is_directory=True)
    (root / "b").mkdir()
    (root / "b" / "self.jsonl").symlink_to(root / "b" / "self.jsonl")
    result = import_logs(ledger, "claude-code", pricebook, paths=[root])
    assert result.summary.requests == 3
    assert result.summary.skipped == {
        "line_too_long": 1,
        "not_a_log": 1,
        "not_json": 1,
        "symlink_loop": 2,
    }
    assert sorted(result.warnings) == sorted(
        [
            f"{root / 'a' / 'broken.jsonl'}:2: skipped a line that is not JSON",
            f"{root / 'a' / 'huge.jsonl'}:1: skipped a line over {MAX_LINE_BYTES:,} bytes",
            f"skipped {root / 'a' / 'loop'}: symbolic link loop",
            f"skipped {root / 'a' / 'notes.jsonl'}: not a coding-agent log",
            f"skipped {root / 'b' / 'self.jsonl'}: symbolic link loop",
        ]
    )


def test_an_unreadable_folder_is_one_warning(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    root = tmp_path / "logs"
    _good(root / "ok" / "good.jsonl", "m1")
    closed = root / "closed"
    closed.mkdir()
    original = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        # Running as root, a chmod 000 folder stays readable: refuse it the way the OS would.
        if Path(path) == closed:
            raise PermissionError(13, "Permission denied", str(path))
        return original(path)

    import token_tracking.imports.discover as discover

    discover.os.scandir = scandir  # type: ignore[assignment]
    try:
        result = import_logs(ledger, "claude-code", pricebook, paths=[root])
    finally:
        discover.os.scandir = original
    assert result.summary.requests == 1
    assert result.warnings == [f"skipped {closed}: Permission denied"]
    assert result.summary.skipped == {"unreadable": 1}


def test_all_recognises_each_format_and_a_named_source_skips_the_others(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    root = tmp_path / "mixed"
    _good(root / "claude.jsonl", "m1")
    write(
        root / "codex.jsonl",
        line(codex_meta("c", str(tmp_path))),
        line(codex_turn("2026-12-01T10:00:00Z", "gpt-5", str(tmp_path))),
        line(codex_count("2026-12-01T10:00:01Z", codex_usage(5, 0, 5, 0), codex_usage(5, 0, 5, 0))),
    )
    only = import_logs(ledger, "codex", pricebook, paths=[root], dry_run=True)
    assert only.summary.requests == 1
    assert only.warnings == [f"skipped {root / 'claude.jsonl'}: a claude-code log, not a codex log"]
    both = import_logs(ledger, "all", pricebook, paths=[root])
    assert (both.summary.files, both.summary.requests, both.warnings) == (2, 2, [])
    sources = ledger.connection.execute("SELECT source FROM usage ORDER BY source").fetchall()
    assert sources == [("claude-code",), ("codex",)]
