"""``tokens check`` on the latest report served from the report index: the validated document the
index keeps of it gives the verdict the report file gives, to the cent, without pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pricing import PriceBook
from tests.support.cli import invoke
from tests.support.reports import (
    START,
    V0_1_TODAY_COST,
    age_reports,
    agent,
    copy_v0_1,
    make_report,
    reports_dir,
    write_report,
)
from token_tracking.gate import Thresholds, evaluate, report_totals
from token_tracking.records import ModelPricing
from token_tracking.reports import file as report_file_module
from token_tracking.reports.file import TokenUsageReport, load_report
from token_tracking.reports.listing import latest, list_reports

NAME = "token_usage_20261120_090000.json"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "shop"
    path.mkdir()
    return path


def age(project: Path) -> Path:
    """Date every report's mtime back an hour and return the reports folder."""
    folder = reports_dir(project)
    age_reports(folder)
    return folder


def _priced() -> TokenUsageReport:
    # Costs whose float sum carries noise in the last bits.
    return make_report(
        "aaaa1111-0000-4000-8000-000000000001",
        end=START,
        agents=[
            agent("projectbrief", 20_000, 10_000, cost=1.2345),
            agent("techContext", 7_000, 3_001, cost=0.1 + 0.2),
        ],
    )


def _lower_bound() -> TokenUsageReport:
    report = make_report(
        "bbbb2222-0000-4000-8000-000000000002",
        end=START,
        agents=[
            agent("projectbrief", 20_000, 10_000, cost=0.5),
            agent("progress", 5_000, 1_000, cost=None, model="gpt-4o-mixi"),
        ],
        priced_coverage=30_000 / 36_000,
        unknown_models=("gpt-4o-mixi",),
    )
    return report.model_copy(update={"unknown_usage_requests": 2, "schema_version": 2})


def _unpriced_known_model() -> TokenUsageReport:
    report = make_report(
        "cccc3333-0000-4000-8000-000000000003",
        end=START,
        agents=[agent("transcriber", 20_000, 10_000, cost=None, model="whisper-1")],
        priced_coverage=0.0,
    )
    pricing = report.pricing
    assert pricing is not None
    reason = "whisper-1 is priced per second"
    models = [ModelPricing(model="whisper-1", reason=reason)]
    return report.model_copy(
        update={"total_cost_usd": None, "pricing": pricing.model_copy(update={"models": models})}
    )


def _no_pricing() -> TokenUsageReport:
    return make_report(
        "dddd4444-0000-4000-8000-000000000004",
        end=START,
        agents=[agent("projectbrief", 100, 50, cost=None, model=None)],
        model=None,
        priced=False,
        priced_coverage=None,
    )


REPORTS = {
    "priced": _priced,
    "lower-bound": _lower_bound,
    "unpriced-known-model": _unpriced_known_model,
    "no-pricing": _no_pricing,
}

THRESHOLDS = [
    (Thresholds(max_cost_usd=1.5345), False),  # the priced report's cost, up to float noise
    (Thresholds(max_cost_usd=1.0), False),
    (Thresholds(max_cost_usd=1.0), True),
    (Thresholds(max_tokens=36_000), False),
    (Thresholds(max_cost_usd=2.0, max_tokens=100), True),
]


def _never_priced() -> PriceBook:
    raise AssertionError("a current report is gated on its recorded cost, never re-priced")


@pytest.mark.parametrize("kind", REPORTS)
def test_the_index_document_and_the_report_file_give_the_same_verdict(
    project: Path, kind: str
) -> None:
    path = write_report(project, NAME, REPORTS[kind]())
    folder = age(project)
    latest(list_reports(folder))  # writes the index, with the latest report's document
    listing = list_reports(folder)
    document = listing.document(latest(listing))
    assert document is not None  # served from the index
    model = load_report(path)

    from_document = report_totals(document, NAME, _never_priced)
    from_file = report_totals(model, NAME, _never_priced)

    assert from_document == from_file
    for thresholds, allow_unknown in THRESHOLDS:
        verdict = evaluate(from_document, thresholds, allow_unknown=allow_unknown)
        assert verdict == evaluate(from_file, thresholds, allow_unknown=allow_unknown)


def test_a_0_1_latest_report_is_re_priced_from_its_file(project: Path) -> None:
    copy_v0_1(project)
    age(project)
    invoke(project, "tokens")  # the index keeps its document, which is not re-priced

    result = invoke(project, "tokens", "check", "--max-cost", "0.01", "--json")

    assert result.exit_code == 0
    verdict = json.loads(result.stdout)
    assert verdict["cost_repriced"] is True
    assert verdict["cost_usd"] == pytest.approx(V0_1_TODAY_COST, rel=1e-9)


@pytest.mark.parametrize(
    "args",
    [
        ("--max-cost", "1"),
        ("--max-cost", "2", "--json"),
        ("--max-tokens", "100", "--allow-unknown"),
        ("--max-cost", "1", "--max-tokens", "50000", "--format", "json"),
    ],
)
@pytest.mark.parametrize("kind", ["priced", "lower-bound"])
def test_tokens_check_gates_the_latest_from_the_index_as_from_its_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, kind: str, args: tuple[str, ...]
) -> None:
    path = write_report(project, NAME, REPORTS[kind]())
    age(project)
    invoke(project, "tokens")  # writes the index, with the latest report's document
    parsed: list[int] = []
    real = report_file_module.parse_report
    monkeypatch.setattr(
        report_file_module, "parse_report", lambda data: parsed.append(len(data)) or real(data)
    )

    served = invoke(project, "tokens", "check", *args)
    from_file = invoke(project, "tokens", "check", "--report-file", str(path), *args)

    assert parsed == [len(path.read_bytes())]  # only --report-file read the report file
    assert (served.exit_code, served.stdout, served.stderr) == (
        from_file.exit_code,
        from_file.stdout,
        from_file.stderr,
    )
    if any("json" in arg for arg in args):
        assert json.loads(served.stdout)["session_id"] == REPORTS[kind]().session_id


def test_tokens_check_imports_no_pydantic_while_the_index_is_fresh(project: Path) -> None:
    write_report(project, NAME, _lower_bound())
    age(project)
    invoke(project, "tokens")
    probe = (
        "import sys\n"
        "from memory_banker.cli.main import cli\n"
        "code = cli.main(args=sys.argv[1:], prog_name='memory-banker', standalone_mode=False)\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'pricing'}))\n"
    )
    for args in (
        ["--max-cost", "1"],
        ["--max-cost", "1", "--allow-unknown", "--json"],
        ["--max-tokens", "100000"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, "--project-path", str(project), "tokens", "check", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert done.stdout.splitlines()[-1].endswith(" []"), (args, done.stdout)
