"""Bad input from an adversarial user: one line on stderr, exit 2, no traceback, nothing damaged.

Each test reproduces a case found by attacking the CLI by hand (garbage in the reports folder,
binary files where text is expected, values no range check catches, a provider that echoes the
key) and pins the fix.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.support.cli import invoke
from tests.support.fake_provider import POLL_SECONDS
from token_tracking import recover_journals
from token_tracking.reports.journal import journal_dir
from token_tracking.rundirs.log import read_usage

SECRET_KEY = "sk-live-SECRET"
PLAIN_SECRET = "plainSECRETvalue42"
"""A key no key-like pattern matches: only redaction of the exact value keeps it out."""

BINARY = bytes(range(128, 256)) * 8
"""Bytes that are not UTF-8 (every byte is a continuation or invalid start byte)."""


def one_line_error(result: Result, message: str) -> None:
    """Assert exit 2 and exactly ``Error: message`` on stderr, nothing on stdout."""
    assert (result.exit_code, result.stderr, result.stdout) == (2, f"Error: {message}\n", "")


def usage_error(result: Result, message: str) -> None:
    """Assert exit 2 with click's usage block ending in ``Error: message`` (a malformed value)."""
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: {message}"
    assert "Traceback" not in result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small non-git project with one source file."""
    root = tmp_path / "proj ünï"
    root.mkdir()
    (root / "app.py").write_text("def main() -> int:\n    return 1\n", encoding="utf-8")
    return root


@pytest.fixture
def reports_dir(project: Path) -> Path:
    """The project's reports folder, holding the report of one offline run."""
    assert invoke(project, "update", "--offline", "--quiet").exit_code == 0
    return project / "memory-bank" / "token-reports"


# --- the reports folder -------------------------------------------------------------------------


def test_a_symlink_loop_among_the_reports_is_skipped_not_a_traceback(reports_dir: Path) -> None:
    """`tokens` died with OSError ELOOP from entry.is_file() on a self-referencing link."""
    [real] = list(reports_dir.glob("token_usage_*.json"))
    (reports_dir / "token_usage_loop.json").symlink_to("token_usage_loop.json")
    (reports_dir / "token_usage_20991231_000001.json").mkdir()

    result = invoke(reports_dir.parent.parent, "tokens", "--list-all", "--json")

    assert result.exit_code == 0, result.stderr
    session = json.loads(real.read_text(encoding="utf-8"))["session_id"]
    assert [item["session_id"] for item in json.loads(result.stdout)] == [session]


def test_a_report_file_of_binary_bytes_is_one_line_exit_2(project: Path) -> None:
    """`tokens --report-file` died with UnicodeDecodeError on a binary file."""
    path = project / "token_usage_binary.json"
    path.write_bytes(BINARY)

    one_line_error(
        invoke(project, "tokens", "--report-file", str(path)),
        f"{path} is not valid JSON (not UTF-8 text)",
    )


def test_a_deeply_nested_report_file_is_one_line_exit_2(project: Path) -> None:
    """json.loads raises RecursionError, not JSONDecodeError, on very deep nesting."""
    path = project / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")

    one_line_error(
        invoke(project, "tokens", "compare", str(path), str(path)),
        f"{path} is not a token usage report (nested too deeply)",
    )


# --- the ledger ---------------------------------------------------------------------------------


def test_a_ledger_path_under_a_regular_file_names_that_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mkdir's own words were "[Errno 17] File exists: …", which hides what is wrong."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("keep me", encoding="utf-8")
    ledger = blocker / "sub" / "ledger.sqlite3"
    monkeypatch.setenv("TOKEN_TRACKING_DB_PATH", str(ledger))

    one_line_error(
        invoke(project, "tokens", "sessions"),
        f"cannot open the ledger {ledger}: a file stands where its folder {blocker} should be; "
        "set TOKEN_TRACKING_DB_PATH to a path inside a folder",
    )
    assert blocker.read_text(encoding="utf-8") == "keep me"


def test_a_ledger_path_that_is_a_folder_says_so(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own words were "unable to open database file"."""
    folder = tmp_path / "ledger-folder"
    folder.mkdir()
    monkeypatch.setenv("TOKEN_TRACKING_DB_PATH", str(folder))

    one_line_error(
        invoke(project, "tokens", "stats"),
        f"cannot open the ledger {folder}: it is a folder; set TOKEN_TRACKING_DB_PATH to a "
        "file path",
    )
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--cost", "nan"), "--cost must be a finite number of USD, zero or more (got nan)"),
        (("--cost", "inf"), "--cost must be a finite number of USD, zero or more (got inf)"),
        (("--model", ""), "--model is empty: name the model, or leave --model out"),
        (
            ("--input", "99999999999999999999999"),
            "token counts must be at most 1,000,000,000,000",
        ),
    ],
)
def test_tokens_add_refuses_values_the_ledger_cannot_hold(
    project: Path, isolated_environment: Path, args: tuple[str, ...], message: str
) -> None:
    """NaN and infinity were stored (every total became NaN, JSON output held `Infinity`); a
    count above 2**63 died with OverflowError in sqlite3; an empty model was recorded."""
    counts = {"--input": "10", "--output": "5"}
    for name, value in zip(args[::2], args[1::2], strict=True):
        counts[name] = value
    argv = [item for pair in counts.items() for item in pair]

    one_line_error(invoke(project, "tokens", "add", *argv), message)

    assert not (isolated_environment / "ledger.sqlite3").exists()


# --- generation options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base", ["not a url", "ftp://127.0.0.1:9", "http://", "http://127.0.0.1:99999/v1", ""]
)
def test_an_api_base_that_is_not_an_http_url_is_refused_before_launch(
    project: Path, base: str
) -> None:
    """Six agents each failed with "Connection error." and the run exited 1."""
    result = invoke(project, "update", "--api-key", SECRET_KEY, "--api-base", base)

    one_line_error(
        result,
        f"--api-base {base!r} is not an http(s) URL with a host: give one such as "
        "http://localhost:11434/v1",
    )
    assert not (project / "memory-bank").exists()


def test_an_api_base_with_credentials_is_refused_without_repeating_them(project: Path) -> None:
    result = invoke(project, "update", "--api-key", "k", "--api-base", f"http://u:{SECRET_KEY}@:9")

    one_line_error(
        result,
        "--api-base (a URL with credentials, not shown) is not an http(s) URL with a host: "
        "give one such as http://localhost:11434/v1",
    )


@pytest.mark.parametrize("model", ["", "   "])
def test_an_empty_model_is_refused_before_launch(project: Path, model: str) -> None:
    """Six agents each failed with LiteLLM's "LLM Provider NOT provided" and the run exited 1."""
    one_line_error(
        invoke(project, "update", "--api-key", "k", "--model", model),
        "--model is empty: give a model such as gpt-4o-mini, or use --offline",
    )
    assert not (project / "memory-bank").exists()


@pytest.mark.parametrize("command", [("update", "--offline"), ("estimate",)])
@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_agents_value_is_refused(
    project: Path, command: tuple[str, ...], value: str
) -> None:
    """`--agents ''` regenerated all six files, where `--agents ,,` was refused."""
    one_line_error(
        invoke(project, *command, "--agents", value),
        "--agents is empty; name one or more of: projectbrief, productContext, systemPatterns, "
        "techContext, activeContext, progress",
    )
    assert not (project / "memory-bank").exists()


@pytest.mark.parametrize("option", ["--timeout", "--max-cost"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_non_finite_timeout_or_budget_is_refused(project: Path, option: str, value: str) -> None:
    """NaN passed FloatRange (every comparison is false): `--max-cost nan` was no budget at all
    and `--timeout nan` failed all six agents with "timed out after nan s"."""
    usage_error(
        invoke(project, "update", "--offline", option, value),
        f"Invalid value for '{option}': {value} is not a finite number.",
    )
    assert not (project / "memory-bank").exists()


def test_a_binary_bank_file_the_agents_read_is_refused_before_the_run(project: Path) -> None:
    """`update --agents activeContext` died with UnicodeDecodeError midway, leaving a journal."""
    assert invoke(project, "update", "--offline", "--quiet").exit_code == 0
    bank = project / "memory-bank"
    (bank / "projectbrief.md").write_bytes(BINARY)
    before = {path: path.read_bytes() for path in bank.rglob("*") if path.is_file()}

    for args in (("update", "--offline"), ("estimate",)):
        one_line_error(
            invoke(project, *args, "--agents", "activeContext"),
            "memory-bank/projectbrief.md is not UTF-8 text: fix or remove it, or regenerate it "
            "too (add projectbrief to --agents)",
        )

    after = {path: path.read_bytes() for path in bank.rglob("*") if path.is_file()}
    assert after == before


# --- files written and read by the tokens commands ----------------------------------------------


def test_a_failed_export_leaves_no_temporary_file(project: Path, tmp_path: Path) -> None:
    """The temp file of `tokens export --output FOLDER` stayed next to the folder."""
    target = tmp_path / "a-folder"
    target.mkdir()
    listing = sorted(tmp_path.iterdir())

    one_line_error(
        invoke(project, "tokens", "export", "--output", str(target)),
        f"cannot write {target}: Is a directory",
    )
    assert sorted(tmp_path.iterdir()) == listing
    assert list(target.iterdir()) == []


def test_an_export_to_an_empty_path_is_refused(project: Path) -> None:
    """`--output ''` tried to rename a temp file onto the current folder ("Device busy")."""
    one_line_error(
        invoke(project, "tokens", "export", "--output", ""),
        "--output '.' names no file: give a file name, or - for stdout",
    )
    assert sorted(path.name for path in project.iterdir()) == ["app.py"]


def test_binary_bytes_in_tokens_jsonl_spoil_only_their_own_lines(tmp_path: Path) -> None:
    """read_usage died with UnicodeDecodeError; now the bad line is skipped like any other."""
    good = {
        "timestamp": "2026-01-01T00:00:00+00:00",
        "operation": "plan",
        "model": "gpt-4o-mini",
        "input_tokens": 1200,
        "output_tokens": 340,
    }
    (tmp_path / "tokens.jsonl").write_bytes(
        json.dumps(good).encode() + b"\n" + BINARY + b"\n" + b"[" * 100_000 + b"\n"
    )

    [record] = read_usage(tmp_path)

    assert (record.agent_name, record.prompt_tokens, record.completion_tokens) == (
        "plan",
        1200,
        340,
    )


def test_a_binary_tokens_jsonl_is_one_error_line_exit_2(project: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "tokens.jsonl").write_bytes(BINARY)

    result = invoke(project, "tokens", "summary", str(run_dir))

    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1] == f"Error: no token usage data found in {run_dir / 'tokens.jsonl'}"
    assert all(line.startswith("WARNING: ") for line in lines[:-1])


# --- API keys -----------------------------------------------------------------------------------


class _EchoingHandler(BaseHTTPRequestHandler):
    """Answers every request 401 with the Authorization header in the message, as a careless
    proxy does: the key reaches the client's exception text."""

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        credential = self.headers.get("authorization", "")
        body = json.dumps(
            {
                "error": {
                    "message": f"Incorrect API key provided: {credential}",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
        ).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echoing_server() -> Iterator[str]:
    """A loopback server (port 0) that echoes the caller's key in its 401; yields its /v1 URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("verbose", [(), ("-v",)])
@pytest.mark.parametrize("key", [SECRET_KEY, PLAIN_SECRET])
def test_a_key_echoed_by_the_server_reaches_no_output_report_or_ledger(
    project: Path,
    isolated_environment: Path,
    echoing_server: str,
    key: str,
    verbose: tuple[str, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = invoke(
        project,
        *verbose,
        "update",
        "--api-key",
        key,
        "--api-base",
        echoing_server,
        "--agents",
        "projectbrief",
        "--max-retries",
        "0",
        "--quiet",
        "--json",
    )

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    [agent] = report["agent_usage"]
    assert agent["error"].startswith("AuthenticationError: Error code: 401")
    assert agent["error"].endswith("Incorrect API key provided: Bearer [REDACTED:api-key]")
    assert key not in result.stdout + result.stderr + caplog.text
    written = [path for path in (project / "memory-bank").rglob("*") if path.is_file()]
    written += [path for path in isolated_environment.rglob("*") if path.is_file()]
    assert written
    for path in written:
        assert key.encode() not in path.read_bytes(), path


# --- the CI gate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "tokens", "message"),
    [
        ("NaN", 4467, "total_cost_usd is nan"),
        ("Infinity", 4467, "total_cost_usd is inf"),
        ("-5.0", 4467, "total_cost_usd is negative"),
        ("0.5", -100, "total_tokens is negative"),
    ],
)
def test_a_damaged_report_fails_the_gate_instead_of_passing_it(
    reports_dir: Path, cost: str, tokens: int, message: str
) -> None:
    """`tokens check --max-cost 1` printed "OK: cost $nan within threshold $1.00" and exited 0:
    NaN is neither above nor below any threshold. Python's json writes and reads NaN literals."""
    project = reports_dir.parent.parent
    [real] = list(reports_dir.glob("token_usage_*.json"))
    text = real.read_text(encoding="utf-8")
    document = json.loads(text)
    document["total_cost_usd"] = "COST"
    document["total_tokens"] = tokens
    damaged = project / "damaged.json"
    damaged.write_text(json.dumps(document).replace('"COST"', cost), encoding="utf-8")

    for gate in (("--max-cost", "1"), ("--max-tokens", "100000")):
        one_line_error(
            invoke(project, "tokens", "check", *gate, "--report-file", str(damaged)),
            f"{damaged} holds an out-of-range value ({message})",
        )


# --- journals and price files -------------------------------------------------------------------


def test_foreign_files_in_the_journal_folder_never_block_a_run(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A deeply nested line died with RecursionError, a link loop with OSError ELOOP, a folder
    named like a journal with IsADirectoryError: every later `update` failed the same way."""
    reports = project / "memory-bank" / "token-reports"
    journals = journal_dir(reports)
    journals.mkdir(parents=True)
    (journals / "binary.jsonl").write_bytes(BINARY + b"\n" + BINARY)
    (journals / "deep.jsonl").write_text("[" * 100_000 + "\n", encoding="utf-8")
    (journals / "folder.jsonl").mkdir()
    (journals / "loop.jsonl").symlink_to("loop.jsonl")
    (journals / "bad-header.jsonl").write_text(
        json.dumps({"event": "session", "pricing": {"source": 5}}) + "\n", encoding="utf-8"
    )
    left = sorted(path.name for path in journals.iterdir())

    assert recover_journals(reports) == []

    assert [path.name for path in journals.iterdir()] == ["unreadable"]
    assert sorted(path.name for path in (journals / "unreadable").iterdir()) == left
    warnings = sorted(record.getMessage().replace(str(journals), "J") for record in caplog.records)
    moved = "journal cannot be recovered, moved to J/unreadable"
    assert warnings == [
        f"{moved}/bad-header.jsonl: J/bad-header.jsonl has an unreadable session header: "
        "'session_id'",
        f"{moved}/binary.jsonl: J/binary.jsonl has no session header",
        f"{moved}/deep.jsonl: J/deep.jsonl has no session header",
        f"{moved}/folder.jsonl: J/folder.jsonl is not a regular file",
        f"{moved}/loop.jsonl: cannot open J/loop.jsonl: Too many levels of symbolic links",
    ]
    result = invoke(project, "update", "--offline", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_a_deeply_nested_price_file_is_one_line_exit_2(project: Path) -> None:
    """json.loads and tomllib raise RecursionError on deep nesting: it was a traceback."""
    for name, text in (
        ("prices.json", "[" * 100_000 + "]" * 100_000),
        ("prices.toml", "a = " + "[" * 100_000 + "]" * 100_000),
    ):
        path = project / name
        path.write_text(text, encoding="utf-8")
        one_line_error(
            invoke(project, "--pricing-file", str(path), "pricing", "show", "gpt-4o"),
            f"pricing file {path}: nested too deeply to be a price table",
        )


# --- odd project trees --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_a_readme_that_is_not_a_regular_file_does_not_stop_the_scan(
    project: Path, kind: str
) -> None:
    """A README.md symlink (common: README.md -> docs/README.md) died with KeyError in the scan:
    it is listed, but never read through a link, so it had no text."""
    (project / "docs").mkdir()
    (project / "docs" / "README.md").write_text("# Demo\n\nA demo project.\n", encoding="utf-8")
    readme = project / "README.md"
    if kind == "link":
        readme.symlink_to(Path("docs") / "README.md")
    else:
        os.mkfifo(readme)
    (project / "loop").symlink_to("loop")
    (project / "outside").symlink_to("/")
    (project / bytes.fromhex("fffe").decode("utf-8", "surrogateescape")).write_text("x = 1\n")

    result = invoke(project, "update", "--offline", "--quiet")

    assert result.exit_code == 0, result.stderr
    assert sorted(path.name for path in (project / "memory-bank").glob("*.md")) == sorted(
        f"{name}.md"
        for name in (
            "projectbrief",
            "productContext",
            "systemPatterns",
            "techContext",
            "activeContext",
            "progress",
        )
    )


@pytest.mark.parametrize("blocked", ["memory-bank", "memory-bank/token-reports"])
@pytest.mark.parametrize(
    "command", [("update", "--offline"), ("init", "--offline"), ("update", "--dry-run")]
)
def test_a_file_where_the_bank_folder_belongs_is_named_and_kept(
    project: Path, blocked: str, command: tuple[str, ...]
) -> None:
    """The error was "cannot create the journal in …/.journal: Not a directory", which names
    neither the culprit nor the fix, and `--dry-run` planned a run that could not happen."""
    path = project / blocked
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("precious", encoding="utf-8")

    one_line_error(
        invoke(project, *command),
        f"{blocked} is not a folder: move or rename it, then run again (nothing was written)",
    )
    assert path.read_text(encoding="utf-8") == "precious"
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*")) == sorted(
        {"app.py", blocked, *([] if blocked == "memory-bank" else ["memory-bank"])}
    )


def test_a_file_where_the_history_folder_belongs_stops_refresh_before_anything(
    project: Path,
) -> None:
    """refresh said "[Errno 17] File exists: '…/.history'"."""
    assert invoke(project, "update", "--offline", "--quiet").exit_code == 0
    bank = project / "memory-bank"
    (bank / ".history").write_text("precious", encoding="utf-8")
    before = {path: path.read_bytes() for path in bank.rglob("*") if path.is_file()}

    one_line_error(
        invoke(project, "refresh", "--offline"),
        "memory-bank/.history is not a folder: move or rename it, then run again "
        "(nothing was written)",
    )
    assert {path: path.read_bytes() for path in bank.rglob("*") if path.is_file()} == before
