"""The dashboard's data, page and file, without a browser (see test_browser.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

import pytest

from tests.support.dashboard_seed import (
    EXPECTED_COMPLETION,
    EXPECTED_COST,
    EXPECTED_DAYS,
    EXPECTED_PROJECTED,
    EXPECTED_PROMPT,
    EXPECTED_SESSIONS,
    EXPECTED_TOKENS,
    LIMIT_SETTINGS,
    NOW,
    XSS_BRANCH,
    Seeded,
    isolate_cache,
    local,
    seed_ledger,
    session_ending,
)
from tests.support.ledger_factory import AgentSpec
from token_tracking.errors import DashboardError
from token_tracking.history.dashboard.charts import (
    cached_text,
    chart_specs,
    vega_bundle_path,
    vega_javascript,
)
from token_tracking.history.dashboard.data import DailyUsage, DashboardData, collect_dashboard_data
from token_tracking.history.dashboard.page import render_dashboard, script_json, write_dashboard
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.history.manual import manual_entry
from token_tracking.settings import CACHE_DIR_VARIABLE, cache_dir

BOTH_LEDGERS = pytest.mark.usefixtures("each_ledger_backend")
"""Runs a test on the SQLite file and on PostgreSQL (tests/conftest.py)."""


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_cache(monkeypatch, tmp_path)


@pytest.fixture
def ledger(each_ledger_backend: str, tmp_path: Path) -> Iterator[Ledger]:
    with Ledger() as opened:
        yield opened


@pytest.fixture
def seeded(ledger: Ledger, tmp_path: Path) -> Seeded:
    return seed_ledger(ledger, tmp_path)


def collect(ledger: Ledger, project: Path | None, **options: object) -> DashboardData:
    key = project_key(project) if project is not None else None
    days = options.pop("days", 30)
    assert isinstance(days, int)
    include_offline = bool(options.pop("include_offline", False))
    return collect_dashboard_data(
        ledger,
        days=days,
        project=key,
        include_offline=include_offline,
        now=NOW,
        environ=LIMIT_SETTINGS,
    )


def test_collect_sums_the_project_window_without_offline(ledger: Ledger, seeded: Seeded) -> None:
    data = collect(ledger, seeded.project)

    summary = data.summary
    assert summary.sessions == EXPECTED_SESSIONS
    assert summary.prompt_tokens == EXPECTED_PROMPT
    assert summary.completion_tokens == EXPECTED_COMPLETION
    assert summary.total_tokens == EXPECTED_TOKENS
    assert summary.cached_tokens == 400
    assert summary.cost_usd == pytest.approx(EXPECTED_COST, rel=1e-9)
    assert summary.cost_is_lower_bound is True  # the mystery-model session has no price
    assert summary.projected_monthly_cost_usd == pytest.approx(EXPECTED_PROJECTED, rel=1e-9)
    assert summary.average_tokens_per_day == pytest.approx(
        EXPECTED_TOKENS / EXPECTED_DAYS, rel=1e-9
    )
    assert (data.first_day, data.last_day) == (date(2026, 10, 22), date(2026, 11, 20))


def test_collect_daily_series_has_every_day_and_unknown_cost(
    ledger: Ledger, seeded: Seeded
) -> None:
    data = collect(ledger, seeded.project)

    assert len(data.daily) == EXPECTED_DAYS
    assert [d.day for d in data.daily] == [
        date(2026, 10, 22) + timedelta(days=offset) for offset in range(EXPECTED_DAYS)
    ]
    assert [(d.day, d.sessions, d.total_tokens, d.cost_usd) for d in data.daily if d.sessions] == [
        (date(2026, 10, 22), 1, 3500, None),
        (date(2026, 11, 18), 1, 6000, pytest.approx(0.0025, rel=1e-9)),
        (date(2026, 11, 20), 1, 3500, pytest.approx(0.0008, rel=1e-9)),
    ]
    quiet_days = [d for d in data.daily if not d.sessions]
    assert {(d.total_tokens, d.cost_usd) for d in quiet_days} == {(0, 0.0)}


def test_collect_groups_and_most_expensive_sessions(ledger: Ledger, seeded: Seeded) -> None:
    data = collect(ledger, seeded.project)

    assert [(g.name, g.total_tokens) for g in data.by_branch] == [
        (XSS_BRANCH, 6000),
        ("feature/x", 3500),
        ("main", 3500),
    ]
    assert [(g.name, g.total_tokens) for g in data.by_model] == [
        ("claude-3-haiku", 6000),
        ("gpt-4o-mini", 3500),
        ("mystery-model", 3500),
    ]
    assert [(g.name, g.total_tokens) for g in data.by_agent] == [
        ("progress", 6000),
        ("systemPatterns", 3500),
        ("techContext", 2300),
        ("projectbrief", 1200),
    ]
    reports = seeded.reports
    assert [row.session_id for row in data.top_sessions] == [
        reports["xss"].session_id,
        reports["main"].session_id,
        reports["unpriced"].session_id,
    ]
    assert data.top_sessions[0].branch == XSS_BRANCH


def test_collect_limits_over_their_rolling_windows(ledger: Ledger, seeded: Seeded) -> None:
    limits = collect(ledger, seeded.project).limits

    assert limits is not None
    # Last 24 hours: the "main" session (2 requests, 3,500 tokens). Last 30 days, every project:
    # "main", "xss" and "elsewhere" are priced; "unpriced" makes the sum a lower bound.
    assert [
        (status.variable, status.used, status.level, status.lower_bound) for status in limits.limits
    ] == [
        ("CLAUDE_HOURLY_LIMIT", 0, "ok", False),
        ("CLAUDE_DAILY_LIMIT", 2, "ok", False),
        ("TOKEN_DAILY_LIMIT", 3500, "ok", False),
        ("TOKEN_MONTHLY_BUDGET_USD", pytest.approx(0.0043, rel=1e-9), "critical", True),
    ]


def test_collect_include_offline_all_projects_and_all_history(
    ledger: Ledger, seeded: Seeded
) -> None:
    with_offline = collect(ledger, seeded.project, include_offline=True)
    every_project = collect(ledger, None)
    all_history = collect(ledger, seeded.project, days=0)

    assert with_offline.summary.total_tokens == EXPECTED_TOKENS + 14000
    assert with_offline.summary.sessions == EXPECTED_SESSIONS + 1
    assert every_project.summary.total_tokens == EXPECTED_TOKENS + 1650
    assert every_project.project is None
    assert all_history.summary.total_tokens == EXPECTED_TOKENS + 7700
    assert all_history.first_day == date(2026, 10, 1)
    assert len(all_history.daily) == (date(2026, 11, 20) - date(2026, 10, 1)).days + 1


def test_collect_empty_ledger_and_negative_days(ledger: Ledger) -> None:
    data = collect_dashboard_data(ledger, days=30, project=None, now=NOW)

    assert data.is_empty
    assert data.daily == [] and data.by_branch == [] and data.top_sessions == []
    with pytest.raises(DashboardError, match="--days must be 0"):
        collect_dashboard_data(ledger, days=-1, project=None, now=NOW)


def test_daily_charts_label_each_day_once(ledger: Ledger) -> None:
    # A new user's first dashboard holds one day: one label, and a bar no wider than in a week.
    one_day = collect_dashboard_data(ledger, days=30, project=None, now=NOW).model_copy(
        update={"daily": [DailyUsage(day=date(2026, 11, 20), sessions=1, total_tokens=10)]}
    )
    over_a_year = one_day.model_copy(
        update={
            "daily": [
                DailyUsage(day=date(2025, 11, 20) + timedelta(days=offset)) for offset in range(366)
            ]
        }
    )

    specs = chart_specs(one_day)
    long_axis = chart_specs(over_a_year)["chart-daily-tokens"]["encoding"]["x"]["scale"]

    for chart in ("chart-daily-tokens", "chart-daily-cost"):
        assert specs[chart]["encoding"]["x"]["scale"]["domain"] == ["Nov 20"]
    assert specs["chart-daily-cost"]["encoding"]["x"]["scale"]["paddingOuter"] == 3
    assert long_axis["domain"][:2] == ["2025-11-20", "2025-11-21"]
    assert long_axis["domain"][-1] == "2026-11-20"


def test_script_json_cannot_close_the_script_element() -> None:
    text = script_json({"branch": "</script><script>alert(1)</script>", "x": "a & b <!--"})

    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"branch": "</script><script>alert(1)</script>", "x": "a & b <!--"}


def test_page_escapes_ledger_text_and_loads_nothing_remote(ledger: Ledger, seeded: Seeded) -> None:
    page = render_dashboard(collect(ledger, seeded.project))

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in page
    tags = _tags(page)
    # Our three script elements and no other: the branch name never becomes markup.
    assert [name for name, _ in tags].count("script") == 3
    assert [(name, attrs) for name, attrs in tags if "src" in attrs or "href" in attrs] == []
    assert "default-src 'none'" in page


def test_page_escapes_notes_models_and_project_paths(ledger: Ledger, tmp_path: Path) -> None:
    project = tmp_path / "<i>proj"
    project.mkdir()
    report, _ = session_ending(
        project,
        local(20, 9),
        [AgentSpec("<s>agent</s>", 100, 20, 0.001, "<u>model</u>")],
        branch="main",
    )
    ledger.insert_report(report, note="<img src=x onerror=alert(1)>")

    page = render_dashboard(collect(ledger, project))

    # The page's own markup only: none of the ledger's text became an element or an attribute.
    assert {name for name, _ in _tags(page)} & {"i", "s", "u", "img"} == set()
    assert [(name, attrs) for name, attrs in _tags(page) if "onerror" in attrs] == []
    for text in ("&lt;i&gt;proj", "&lt;img src=x onerror=alert(1)&gt;", "&lt;u&gt;model"):
        assert text in page
    for text in ("\\u003cs\\u003eagent", "\\u003cu\\u003emodel"):
        assert text in page


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag of the page as the browser's tokenizer sees it (script bodies are text)."""
    tags: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append((tag, dict(attrs)))

    Collector().feed(page)
    return tags


def test_empty_page_says_there_is_no_data_yet(ledger: Ledger) -> None:
    page = render_dashboard(collect_dashboard_data(ledger, days=30, project=None, now=NOW))

    assert "No data yet" in page
    assert "<script" not in page
    assert 'id="chart-' not in page


def test_write_dashboard_replaces_atomically_and_reports_bad_paths(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "token_dashboard.html"
    target.write_text("old", encoding="utf-8")

    assert write_dashboard(target, "<p>new</p>") == target
    assert target.read_text(encoding="utf-8") == "<p>new</p>"
    assert sorted(p.name for p in folder.iterdir()) == ["token_dashboard.html"]
    with pytest.raises(DashboardError, match="does not exist"):
        write_dashboard(tmp_path / "missing" / "page.html", "x")
    with pytest.raises(DashboardError, match="is a folder"):
        write_dashboard(tmp_path, "x")


class Builds:
    """A builder that counts its calls and returns ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.text


def test_cache_dir_is_the_override_else_xdg_cache_home(cache_home: Path, tmp_path: Path) -> None:
    assert cache_dir() == cache_home / "memory-banker"
    assert cache_dir({CACHE_DIR_VARIABLE: str(tmp_path / "mine")}) == tmp_path / "mine"
    bundle = vega_bundle_path()
    assert bundle.parent == cache_home / "memory-banker"
    assert bundle.name.startswith(f"vega-bundle-{metadata.version('vl-convert-python')}-vl6.4-")


def test_cached_text_builds_once_then_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "vega-bundle-2.js"
    build = Builds("window.built = 1;\n")

    assert cached_text(path, build) == "window.built = 1;\n"
    assert cached_text(path, build) == "window.built = 1;\n"
    assert build.calls == 1


def test_cached_text_rebuilds_a_file_that_does_not_match_its_digest(tmp_path: Path) -> None:
    path = tmp_path / "vega-bundle-2.js"
    build = Builds("window.built = 1;")
    cached_text(path, build)
    path.write_text(path.read_text(encoding="utf-8").replace("1;", "2;"), encoding="utf-8")

    assert cached_text(path, build) == "window.built = 1;"
    assert cached_text(path, build) == "window.built = 1;"
    assert build.calls == 2


def test_cached_text_replaces_its_older_versions_only(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    old = folder / "vega-bundle-1.js"
    cached_text(old, Builds("old"))
    foreign = folder / "vega-bundle-theirs.js"
    foreign.write_text("not ours", encoding="utf-8")
    build = Builds("new")

    assert cached_text(folder / "vega-bundle-2.js", build, replaces="vega-bundle-*.js") == "new"

    assert sorted(p.name for p in folder.iterdir()) == ["vega-bundle-2.js", "vega-bundle-theirs.js"]


def test_cached_text_without_a_usable_folder_still_builds(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    build = Builds("text")

    assert cached_text(blocker / "vega-bundle-1.js", build) == "text"
    assert cached_text(blocker / "vega-bundle-1.js", build) == "text"
    assert build.calls == 2


def test_vega_javascript_reads_the_bundle_cached_under_xdg_cache_home() -> None:
    # A cache file seeded with a marker: reading it back proves no bundling happened.
    cached_text(vega_bundle_path(), Builds("window.fromCache = true;"))

    assert vega_javascript.__wrapped__() == "window.fromCache = true;"


def test_manual_entries_leave_cached_tokens_and_requests_unknown(
    ledger: Ledger, tmp_path: Path
) -> None:
    project = tmp_path / "notes"
    project.mkdir()
    for day, tokens_in in ((19, 10_000), (20, 2_000)):
        entry = manual_entry(
            project, input_tokens=tokens_in, output_tokens=500, cost_usd=0.05, now=local(day, 9)
        )
        ledger.insert_report(entry)

    data = collect(ledger, project)
    page = render_dashboard(data)

    assert (data.summary.cached_tokens, data.summary.requests) == (None, None)
    assert data.summary.total_tokens == 13_000
    assert [(day.day.day, day.cached_tokens) for day in data.daily if day.total_tokens] == [
        (19, None),
        (20, None),
    ]
    assert " cached" not in page
    assert " requests" not in page
