"""The gate's verdict for CI: workflow commands and their escaping, the markdown section, the
JUnit file; and the report as markdown. Exact outputs for one fixed report are inline snapshots;
markdown is also parsed to HTML with markdown-it-py (the CommonMark parser rich uses) to check
that its tables are tables and that hostile names stay text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from inline_snapshot import snapshot
from markdown_it import MarkdownIt

from tests.support.reports import START, agent, make_report
from token_tracking.gate import (
    Baseline,
    CheckVerdict,
    GateTotals,
    Thresholds,
    evaluate,
    report_totals,
)
from token_tracking.gate_formats import (
    escape_data,
    escape_property,
    gate_markdown,
    junit_xml,
    workflow_command,
)
from token_tracking.reports.file import TokenUsageReport
from token_tracking.reports.markdown import MARKER, report_markdown, text

HOSTILE_AGENT = "evil|agent\n::error title=x::forged <b>bold</b> [link](http://x) `code` *em*"
HOSTILE_MODEL = "model,with:colons%0A\r\nnext%"


def fixed_report() -> TokenUsageReport:
    """Two agents on gpt-4o-mini: 30,000 + 7,500 tokens, $1.2345 + $0.0100, the second failed."""
    return make_report(
        "eeee5555-0000-4000-8000-000000000005",
        end=START,
        agents=[
            agent("projectbrief", 20_000, 10_000, cost=1.2345, duration_seconds=12.5),
            agent("progress", 6_000, 1_500, cost=0.01, success=False, error="timed out"),
        ],
        status="partial",
    )


def hostile_report() -> TokenUsageReport:
    """A report whose agent and (unpriced) model names carry markdown, HTML and workflow syntax."""
    return make_report(
        "ffff6666-0000-4000-8000-000000000006",
        end=START,
        agents=[agent(HOSTILE_AGENT, 100, 50, cost=None, model=HOSTILE_MODEL)],
        unknown_models=(HOSTILE_MODEL,),
        priced_coverage=0.0,
    )


def fixed_verdict(**thresholds: float) -> CheckVerdict:
    totals = report_totals(fixed_report(), "token_usage_20261120_090000.json", None)
    return evaluate(totals, Thresholds(**thresholds), allow_unknown=False)  # type: ignore[arg-type]


# --- workflow commands -----------------------------------------------------------------------


def test_data_escapes_percent_first_then_cr_and_lf() -> None:
    assert escape_data("50% done\r\nnext %0A") == "50%25 done%0D%0Anext %250A"


def test_properties_also_escape_colon_and_comma() -> None:
    assert escape_property("a: b, c%\n") == "a%3A b%2C c%25%0A"


def test_a_failed_gate_is_one_error_command() -> None:
    command = workflow_command(fixed_verdict(max_cost_usd=1.0))

    assert command == snapshot(
        "::error title=Token cost gate::Cost $1.2445 exceeds threshold $1.0000 "
        "(token_usage_20261120_090000.json)"
    )


def test_a_passed_gate_is_one_notice_command() -> None:
    command = workflow_command(fixed_verdict(max_cost_usd=2.0, max_tokens=50_000))

    assert command == snapshot(
        "::notice title=Token cost gate::OK: cost $1.2445 within threshold $2.0000; "
        "tokens 37,500 within threshold 50,000 (token_usage_20261120_090000.json)"
    )


def test_hostile_names_cannot_end_the_command_or_forge_another() -> None:
    totals = report_totals(hostile_report(), "token_usage_\n::error::forged%.json", None)
    verdict = evaluate(totals, Thresholds(max_cost_usd=1.0), allow_unknown=False)

    command = workflow_command(verdict)

    # One line: the runner reads a workflow command per line, so a name cannot start another.
    assert "\n" not in command and "\r" not in command
    assert command == snapshot(
        "::error title=Token cost gate::Cost unknown "
        "(no price for model,with:colons%250A%0D%0Anext%25); "
        "cannot verify threshold $1.0000 (use --allow-unknown to accept) "
        "(token_usage_%0A::error::forged%25.json)"
    )


# --- markdown --------------------------------------------------------------------------------


def test_the_report_as_markdown() -> None:
    markdown = report_markdown(fixed_report(), "token_usage_20261120_090000.json")

    assert markdown == snapshot("""\
<!-- memory-banker-token-report -->
### Token usage: update on gpt-4o-mini

| Cost | Tokens | Prompt | Completion | Requests | Duration | Status |
| ---: | ---: | ---: | ---: | ---: | ---: | --- |
| \\$1.2445 | 37,500 | 26,000 | 11,500 | 2 | 40.0s | partial |

| Agent | Model | Tokens | Cost | Duration | Status |
| --- | --- | ---: | ---: | ---: | --- |
| projectbrief | gpt-4o-mini | 30,000 | \\$1.2345 | 12.5s | ✅ ok |
| progress | gpt-4o-mini | 7,500 | \\$0.0100 | 5.0s | ❌ failed: timed out |

<sub>report token\\_usage\\_20261120\\_090000.json, session eeee5555-0000-4000-8000-000000000005, ended 2026-11-20T09:00:00+00:00</sub>
""")  # noqa: E501


def test_the_gate_section_as_markdown() -> None:
    verdict = fixed_verdict(max_cost_usd=1.0, max_tokens=50_000)

    assert gate_markdown(verdict, fixed_report()) == snapshot("""\
### ❌ Token cost gate failed

> Cost \\$1.2445 exceeds threshold \\$1.0000

| Check | Threshold | Value | Result |
| --- | ---: | ---: | --- |
| max-cost | \\$1.0000 | \\$1.2445 | ❌ over |
| max-tokens | 50,000 | 37,500 | ✅ within |

- **Checked:** token\\_usage\\_20261120\\_090000.json (session eeee5555-0000-4000-8000-000000000005)
- **Cost:** \\$1.2445
- **Tokens:** 37,500

| Agent | Model | Tokens | Cost | Duration | Status |
| --- | --- | ---: | ---: | ---: | --- |
| projectbrief | gpt-4o-mini | 30,000 | \\$1.2345 | 12.5s | ✅ ok |
| progress | gpt-4o-mini | 7,500 | \\$0.0100 | 5.0s | ❌ failed: timed out |
""")


def test_the_gate_section_with_a_baseline_and_the_marker() -> None:
    totals = report_totals(fixed_report(), "token_usage_20261120_090000.json", None)
    baseline = Baseline(
        label="token_usage_20261119_090000.json",
        total_tokens=30_000,
        cost_usd=1.0,
        cost_complete=True,
    )
    verdict = evaluate(
        totals,
        Thresholds(max_increase_percent=10, max_increase_tokens_percent=30),
        allow_unknown=False,
        baseline=baseline,
    )

    assert gate_markdown(verdict, None, marker=True) == snapshot("""\
<!-- memory-banker-token-report -->
### ❌ Token cost gate failed

> Cost \\$1.2445 is 24.4% above baseline \\$1.0000 (token\\_usage\\_20261119\\_090000.json), over the limit of 10%

| Check | Threshold | Value | Result |
| --- | ---: | ---: | --- |
| max-increase | 10% | +24.4% | ❌ over |
| max-increase-tokens | 30% | +25.0% | ✅ within |

- **Checked:** token\\_usage\\_20261120\\_090000.json (session eeee5555-0000-4000-8000-000000000005)
- **Cost:** \\$1.2445
- **Tokens:** 37,500
- **Baseline:** token\\_usage\\_20261119\\_090000.json: \\$1.0000, 30,000 tokens; change: cost +24.4%, tokens +25.0% (limit: cost at most +10%, tokens at most +30%)
""")  # noqa: E501


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def test_the_markdown_report_renders_as_html_tables() -> None:
    html = _html(report_markdown(fixed_report(), "token_usage_20261120_090000.json"))

    assert html.count("<table>") == 2
    assert "<th>Agent</th>" in html
    assert '<td style="text-align:right">30,000</td>' in html
    assert "<td>❌ failed: timed out</td>" in html


def test_hostile_names_stay_one_table_cell_of_plain_text() -> None:
    markdown = report_markdown(hostile_report())
    gate = gate_markdown(
        evaluate(
            report_totals(hostile_report(), "t.json", None),
            Thresholds(max_cost_usd=1.0),
            allow_unknown=True,
        ),
        hostile_report(),
    )

    for html in (_html(markdown), _html(gate)):
        # No HTML, link, code or emphasis came from a name; every row kept its six cells.
        for tag in ("<b>", "<a ", "<code>", "<em>", "<h1>", "<h2>"):
            assert tag not in html
        rows = [row for row in html.split("<tr>")[1:] if "evil" in row]
        assert rows
        assert all(row.count("<td") == 6 for row in rows)
        assert "evil|agent ::error title=x::forged &lt;b&gt;bold&lt;/b&gt;" in html


def test_text_escapes_table_and_inline_syntax() -> None:
    assert text("a|b\nc <x> *y* _z_ `q` [l](u) $5 & ~s~") == (
        "a\\|b c \\<x\\> \\*y\\* \\_z\\_ \\`q\\` \\[l\\](u) \\$5 \\& \\~s\\~"
    )


def test_the_marker_is_the_first_line() -> None:
    assert report_markdown(fixed_report()).splitlines()[0] == MARKER
    assert MARKER == "<!-- memory-banker-token-report -->"


# --- JUnit -----------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_threshold_and_a_failure_for_each_crossed() -> None:
    totals = report_totals(fixed_report(), "token_usage_20261120_090000.json", None)
    baseline = Baseline(label="base.json", total_tokens=30_000, cost_usd=1.0, cost_complete=True)
    verdict = evaluate(
        totals,
        Thresholds(max_cost_usd=1.0, max_tokens=50_000, max_increase_percent=10),
        allow_unknown=False,
        baseline=baseline,
    )

    root = ET.fromstring(junit_xml(verdict))

    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["token-gate"]
    cases = suites[0].findall("testcase")
    assert [case.get("name") for case in cases] == ["max-cost", "max-tokens", "max-increase"]
    failures = {case.get("name"): case.find("failure") for case in cases}
    assert failures["max-tokens"] is None
    cost_failure = failures["max-cost"]
    assert cost_failure is not None
    assert cost_failure.get("message") == "Cost $1.2445 exceeds threshold $1.0000"
    increase_failure = failures["max-increase"]
    assert increase_failure is not None
    assert increase_failure.get("message") == (
        "Cost $1.2445 is 24.4% above baseline $1.0000 (base.json), over the limit of 10%"
    )
    assert (suites[0].get("tests"), suites[0].get("failures")) == ("3", "2")


def test_junit_of_a_passed_gate() -> None:
    assert junit_xml(fixed_verdict(max_tokens=50_000)) == snapshot("""\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="memory-banker" tests="1" failures="0" errors="0">
  <testsuite name="token-gate" tests="1" failures="0" errors="0" skipped="0">
    <properties>
      <property name="target" value="token_usage_20261120_090000.json" />
      <property name="session_id" value="eeee5555-0000-4000-8000-000000000005" />
    </properties>
    <testcase classname="token-gate" name="max-tokens" time="0">
      <system-out>tokens 37,500 within threshold 50,000
threshold: 50,000
value: 37,500
checked: token_usage_20261120_090000.json</system-out>
    </testcase>
  </testsuite>
</testsuites>
""")


def test_junit_survives_control_characters_in_names() -> None:
    totals = GateTotals(
        target="bad\x00\x1bname.json",
        total_tokens=10,
        cost_usd=None,
        cost_complete=False,
        unknown_models=("m\x07odel",),
    )
    verdict = evaluate(totals, Thresholds(max_cost_usd=1.0), allow_unknown=False)

    root = ET.fromstring(junit_xml(verdict))

    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == (
        "Cost unknown (no price for m\ufffdodel); cannot verify threshold $1.0000 "
        "(use --allow-unknown to accept)"
    )


@pytest.mark.parametrize("passed", [True, False])
def test_every_check_is_named_as_its_option(passed: bool) -> None:
    verdict = fixed_verdict(max_tokens=50_000 if passed else 1)

    assert [check.name for check in verdict.checks] == ["max-tokens"]
    assert verdict.checks[0].passed is passed
