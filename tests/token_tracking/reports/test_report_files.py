"""Report files: exclusive atomic saves, frozen fixtures of every format, re-pricing."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from pricing import PricingError
from tests.support.paths import FIXTURES
from token_tracking import ReportFileError, TokenUsageReport, TrackingError
from token_tracking.display import json_text


def load(name: str) -> TokenUsageReport:
    return TokenUsageReport.load_from_file(FIXTURES / name)


def test_two_reports_saved_in_the_same_second_both_exist(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    report = load("report_v1.json")
    other = report.model_copy(update={"session_id": "second"})
    third = report.model_copy(update={"session_id": "third"})
    first_path = report.save(folder)
    second_path = other.save(folder)
    third_path = third.save(folder)
    stem = "token_usage_" + report.end_time.astimezone().strftime("%Y%m%d_%H%M%S")
    assert [first_path.name, second_path.name, third_path.name] == [
        f"{stem}.json",
        f"{stem}_2.json",
        f"{stem}_3.json",
    ]
    assert [TokenUsageReport.load_from_file(p).session_id for p in (first_path, second_path)] == [
        report.session_id,
        "second",
    ]
    # Nothing half-written or temporary is left beside them.
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in (first_path, second_path, third_path)
    )


def test_reports_saved_at_once_from_threads_never_overwrite_each_other(tmp_path: Path) -> None:
    report = load("report_v1.json")
    copies = [report.model_copy(update={"session_id": f"s{n}"}) for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        paths = list(pool.map(lambda r: r.save(tmp_path / "reports"), copies))
    assert len(set(paths)) == 8
    ids = {TokenUsageReport.load_from_file(p).session_id for p in paths}
    assert ids == {f"s{n}" for n in range(8)}


def test_a_saved_report_loads_back_equal(tmp_path: Path) -> None:
    report = load("report_v1.json")
    loaded = TokenUsageReport.load_from_file(report.save(tmp_path / "new" / "folder"))
    # Costs are written with 12 significant digits: equal as JSON shows them.
    assert json_text(loaded) == json_text(report)


def test_the_frozen_v1_report_loads() -> None:
    report = load("report_v1.json")
    assert report.schema_version == 1
    assert (report.total_prompt_tokens, report.total_completion_tokens) == (31_940, 3_490)
    assert report.total_cached_tokens == 18_176
    assert report.total_cost_usd == pytest.approx(0.0055218, rel=1e-9)
    assert report.status == "partial"
    assert [a.agent_name for a in report.agent_usage] == ["projectbrief", "techContext", "progress"]
    assert report.agent_usage[2].error == "APITimeoutError: Request timed out."
    assert [i.requests for i in report.intervals] == [2, 1]
    assert report.git is not None
    assert report.git.branch == "main"
    assert report.pricing is not None
    assert report.pricing.models[0].matched_key == "gpt-4o-mini"


def test_the_frozen_v2_report_loads() -> None:
    report = load("report_v2.json")
    assert report.schema_version == 2
    assert (report.total_prompt_tokens, report.total_completion_tokens) == (12_300, 920)
    assert (report.unknown_usage_requests, report.total_requests) == (1, 3)
    assert [a.agent_name for a in report.agent_usage] == [
        "projectbrief",
        "techContext",
        "(unattributed)",
    ]
    assert (report.successful_agents, report.failed_agents) == (2, 0)
    assert report.agent_usage[1].prompt_tokens is None
    assert report.agents_not_run == ["progress"]
    assert report.total_cost_usd == pytest.approx(0.02985, rel=1e-9)


def test_a_v1_report_has_no_unknown_usage_count() -> None:
    assert load("report_v1.json").unknown_usage_requests is None
    assert load("report_v0_1.json").unknown_usage_requests is None


def test_the_frozen_0_1_report_loads_with_local_times() -> None:
    report = load("report_v0_1.json")
    assert report.schema_version is None
    assert report.total_tokens == 20_770
    assert report.total_cost_usd == 0.114325
    assert report.start_time == datetime(2024, 12, 6, 14, 30, 22).astimezone()
    assert report.start_time.tzinfo is not None
    assert [a.requests for a in report.agent_usage] == [None] * 6
    assert report.agent_usage[0].cached_tokens is None
    assert report.status == "success"
    assert report.pricing is None


def test_calculate_cost_reprices_a_0_1_report_with_todays_table() -> None:
    report = load("report_v0_1.json")
    # 0.1 priced gpt-4o-mini at gpt-4o rates; today: $0.15 / $0.60 per 1M.
    assert report.calculate_cost() == pytest.approx(12_450 * 0.15e-6 + 8_320 * 0.6e-6, rel=1e-9)


def test_calculate_cost_accepts_seed_002s_per_1k_dict() -> None:
    report = load("report_v0_1.json")
    custom = {"gpt-4o-mini": {"prompt_per_1k": 0.001, "completion_per_1k": 0.002}}
    assert report.calculate_cost(custom) == pytest.approx(12.45 * 0.001 + 8.32 * 0.002, rel=1e-9)
    # A model only the custom dict knows.
    custom_only = {"my-custom-model": {"prompt_per_1k": 0.01, "completion_per_1k": 0.03}}
    assert report.calculate_cost(custom_only, model="my-custom-model") == pytest.approx(
        12.45 * 0.01 + 8.32 * 0.03, rel=1e-9
    )


def test_calculate_cost_of_an_unknown_model_is_none() -> None:
    assert load("report_v0_1.json").calculate_cost(model="no-such-model-anywhere") is None


def test_a_malformed_custom_price_is_a_pricing_error() -> None:
    with pytest.raises(PricingError):
        load("report_v0_1.json").calculate_cost({"m": {"prompt_per_1k": "cheap"}})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"run_id": "run_tech_1", "total_tokens": 5}), "is not a token usage report"),
    ],
)
def test_a_corrupt_or_foreign_file_is_a_report_file_error(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "token_usage_20240101_000000.json"
    path.write_text(content)
    with pytest.raises(ReportFileError, match=message) as caught:
        TokenUsageReport.load_from_file(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, TrackingError)


def test_a_missing_file_is_a_report_file_error(tmp_path: Path) -> None:
    with pytest.raises(ReportFileError, match="cannot read report"):
        TokenUsageReport.load_from_file(tmp_path / "absent.json")


def test_saving_into_an_unwritable_place_is_a_report_file_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportFileError, match="cannot write a report"):
        load("report_v1.json").save(blocker / "reports")
