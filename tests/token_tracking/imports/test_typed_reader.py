"""Claude Code lines are read by a typed decoder that skips the fields an import does not need;
any line it refuses is parsed with ``json`` instead, and both paths give the same answer."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pricing import PriceBook
from tests.token_tracking.imports.agent_logs import SONNET, claude_line, line, write
from token_tracking.history.ledger import Ledger
from token_tracking.imports.claude_code import claude_line_request, claude_request
from token_tracking.imports.model import Request
from token_tracking.imports.run import import_logs

REFUSED = "refused by the typed decoder"

ODD_VALUES: list[Any] = [None, "7", "", 7, 0, -1, 1.5, 2.0, True, False, [], {}, [1], {"a": 1}]
"""Values of every JSON type (and edge values of the usual ones) put in each field read."""

FIELDS = [
    ("message",),
    ("message", "id"),
    ("message", "model"),
    ("message", "usage"),
    ("message", "usage", "input_tokens"),
    ("message", "usage", "output_tokens"),
    ("message", "usage", "cache_read_input_tokens"),
    ("message", "usage", "cache_creation_input_tokens"),
    ("timestamp",),
    ("sessionId",),
    ("requestId",),
    ("cwd",),
    ("gitBranch",),
    ("isSidechain",),
    ("isApiErrorMessage",),
    ("costUSD",),
]


def _base() -> dict[str, Any]:
    return claude_line(
        session="sess",
        ts="2026-12-01T09:00:00.250Z",
        message_id="msg_1",
        request_id="req_1",
        fresh=10,
        output=20,
        cache_read=300,
        cache_write=40,
        cwd="/work/p",
        cost=0.5,
    )


def _both(data: bytes) -> tuple[Request | str | None, Request | str | None]:
    """What the typed decoder answers (or REFUSED), and what the json path answers."""
    try:
        typed = claude_line_request(data, "fallback", "file.jsonl", 7)
    except ValueError:
        typed = REFUSED
    try:
        obj = json.loads(data.decode())
    except ValueError:
        return typed, "not JSON"
    if type(obj) is not dict:
        return typed, "not an object"
    return typed, claude_request(obj, "fallback", "file.jsonl", 7)


def _variants() -> list[bytes]:
    lines: list[bytes] = []
    for path in FIELDS:
        for value in [*ODD_VALUES, "<synthetic>", "delete"]:
            obj = _base()
            target = obj
            for key in path[:-1]:
                target = target[key]
            if value == "delete":
                target.pop(path[-1], None)
            else:
                target[path[-1]] = copy.deepcopy(value)
            lines.append(json.dumps(obj).encode())
    return lines


RAW_LINES = [
    # Duplicate keys: the last one counts, in both readers.
    b'{"message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":2,'
    b'"output_tokens":3}},"timestamp":"2026-12-01T09:00:00Z","sessionId":"a","sessionId":"b"}',
    # A key spelled with an escape.
    b'{"message":{"id":"m","us\\u0061ge":{"input_tokens":1,"output_tokens":2}},'
    b'"timestamp":"2026-12-01T09:00:00Z"}',
    # Text the reader skips: non-ASCII, escapes, a lone surrogate, numbers json reads as floats.
    '{"message":{"id":"m","content":"d\u00e9j\u00e0 \u2713 \U0001f600","usage":{"input_tokens":1,'
    '"output_tokens":2}},"timestamp":"2026-12-01T09:00:00Z"}'.encode(),
    b'{"message":{"id":"m","content":"\\ud800","usage":{"input_tokens":1,"output_tokens":2}},'
    b'"timestamp":"2026-12-01T09:00:00Z"}',
    b'{"pad":[1e400,-0,0.5e-3,{"x":[[]]}],"message":{"id":"m","usage":{"input_tokens":1,'
    b'"output_tokens":2}},"timestamp":"2026-12-01T09:00:00Z"}',
    b'{"pad":NaN,"message":{"id":"m","usage":{"input_tokens":1,"output_tokens":2}},'
    b'"timestamp":"2026-12-01T09:00:00Z"}',
    # Invalid UTF-8 inside a skipped field: not JSON for both.
    b'{"pad":"\xff\xfe","message":{"id":"m","usage":{"input_tokens":1,"output_tokens":2}},'
    b'"timestamp":"2026-12-01T09:00:00Z"}',
    # Counts beyond 64 bits, a cost json reads as infinity.
    b'{"message":{"id":"m","usage":{"input_tokens":123456789012345678901234567890,'
    b'"output_tokens":2}},"timestamp":"2026-12-01T09:00:00Z","costUSD":1e400}',
    # Whitespace around, a BOM, trailing data, not objects, a cut line.
    b'  {"message":{"id":"m","usage":{"input_tokens":1,"output_tokens":2}},'
    b'"timestamp":"2026-12-01T09:00:00Z"}\r ',
    b'\xef\xbb\xbf{"message":{"usage":{"input_tokens":1,"output_tokens":2}}}',
    b'{"message":{"usage":{"input_tokens":1,"output_tokens":2}}} {}',
    b'[{"message":{"usage":{"input_tokens":1,"output_tokens":2}}}]',
    b"null",
    b'"usage"',
    b'{"message":{"id":"m","usage":{"input_tokens":1,"output_tok',
]


@pytest.mark.parametrize("data", _variants() + RAW_LINES)
def test_the_typed_decoder_answers_as_json_or_refuses(data: bytes) -> None:
    typed, generic = _both(data)
    assert typed in (REFUSED, generic)


def test_the_usual_lines_are_read_by_the_typed_decoder() -> None:
    compact = line(_base()).encode()
    spaced = line(_base(), spaced=True, reverse=True).encode()
    for data in (compact, spaced):
        typed, generic = _both(data)
        assert typed == generic
        assert isinstance(typed, Request)
        assert (typed.key, typed.prompt_tokens, typed.completion_tokens) == (
            "cc:msg_1:req_1",
            350,
            20,
        )


def test_fields_of_unexpected_types_are_skipped_with_a_warning_and_the_rest_imported(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    def usage_line(index: int, **change: Any) -> str:
        obj = claude_line(
            session="s",
            ts=f"2026-12-01T09:00:{index:02d}Z",
            message_id=f"m{index}",
            request_id="r",
            fresh=10,
            output=5,
        )
        for key, value in change.items():
            if key in ("input_tokens", "output_tokens", "cache_read_input_tokens"):
                obj["message"]["usage"][key] = value
            elif key == "model":
                obj["message"]["model"] = value
            else:
                obj[key] = value
        return line(obj)

    log = write(
        tmp_path / "logs" / "s.jsonl",
        usage_line(1),
        usage_line(2, input_tokens="10"),  # a count as text: unusable
        usage_line(3, output_tokens=5.0),  # a float count: unusable
        usage_line(4, cache_read_input_tokens=None),  # null: unusable
        usage_line(5, timestamp=1764579600),  # not a timestamp: unusable
        usage_line(6, sessionId=42, gitBranch=["main"], isSidechain="no", costUSD="0.1"),
        usage_line(7, model=3),  # no model: imported without a cost
        '{"message":"text","timestamp":"2026-12-01T09:00:08Z"}\n',  # no usage: not a request
        usage_line(9).replace('"s"', '"s\xe9"'),  # non-ASCII: read as usual
    )
    with log.open("ab") as handle:
        handle.write(usage_line(10).encode()[:-1] + b"\xff\n")
    result = import_logs(ledger, "claude-code", pricebook, paths=[tmp_path / "logs"])
    assert result.summary.requests == 4
    assert result.summary.skipped == {"bad_usage": 4, "not_json": 1}
    assert result.warnings == [
        *(f"{log}:{n}: skipped a line with unusable usage" for n in (2, 3, 4, 5)),
        f"{log}:10: skipped a line that is not JSON",
        f"{log}: the log names no model for some requests: their cost is unknown",
    ]
    rows = ledger.connection.execute(
        "SELECT s.session_id, c.branch, u.model, u.prompt_tokens, u.reported_cost_usd "
        "FROM usage_rows u JOIN sessions s ON s.id = u.session_pk "
        "JOIN contexts c ON c.id = u.context_id ORDER BY u.ts_us"
    ).fetchall()
    assert rows == [
        ("s", "main", SONNET, 10, None),
        ("s", None, SONNET, 10, None),  # wrong-typed session, branch and cost: unknown
        ("s", "main", None, 10, None),
        ("s\xe9", "main", SONNET, 10, None),
    ]
