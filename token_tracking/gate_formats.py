"""The CI gate's verdict in the formats CI systems read: a GitHub workflow command, a markdown
section for the job summary or a pull-request comment, and a JUnit XML test report.

- :func:`workflow_command`: one ``::error`` (gate failed) or ``::notice`` (passed) line titled
  ``Token cost gate``. The runner reads ``%``, CR and LF in a command's message, and also ``:``
  and ``,`` in its properties, as syntax: they are percent-encoded (:func:`escape_data`,
  :func:`escape_property`), so no name in a report can end the command early or forge another.
- :func:`gate_markdown`: the verdict, each threshold with its figure, the cost, the tokens, the
  baseline delta, the unpriced models and, when one report was checked, its per-agent table.
- :func:`junit_xml`: one ``<testsuite name="token-gate">`` with one ``<testcase>`` per threshold
  checked (``max-cost``, ``max-tokens``, ``max-increase``, ``max-increase-tokens``), holding a
  ``<failure>`` with the message when that threshold was crossed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from token_tracking import display
from token_tracking.gate import CheckVerdict, percent_limit
from token_tracking.reports.markdown import MARKER, agent_table, table, text

if TYPE_CHECKING:
    from token_tracking.reports.file import TokenUsageReport

GATE_TITLE = "Token cost gate"
"""The title of the gate's annotation and of its markdown section."""

JUNIT_SUITE = "token-gate"
"""The name of the JUnit test suite (and the class name of its test cases)."""

# XML 1.0 cannot hold these characters even escaped; a name carrying one would make the whole
# report unreadable to the CI system, so each becomes U+FFFD.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- GitHub workflow commands ----------------------------------------------------------------


def escape_data(value: str) -> str:
    """Return ``value`` escaped for a workflow command's message: ``%`` → ``%25``, CR → ``%0D``,
    LF → ``%0A`` (``%`` first, so the codes it adds are not encoded again)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Return ``value`` escaped for a workflow command's property: as :func:`escape_data`, and
    also ``:`` → ``%3A`` and ``,`` → ``%2C``, which end a property."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workflow_command(verdict: CheckVerdict) -> str:
    """Return the one workflow command for ``verdict``: ``::error title=Token cost gate::…``
    when it failed (the message, then what was checked), ``::notice …`` when it passed."""
    command = "notice" if verdict.passed else "error"
    message = verdict.message if verdict.passed else f"{verdict.message} ({verdict.target})"
    return f"::{command} title={escape_property(GATE_TITLE)}::{escape_data(message)}"


# --- markdown --------------------------------------------------------------------------------


def _checks_table(verdict: CheckVerdict) -> list[str]:
    rows = [
        (
            check.name,
            text(check.threshold),
            text(check.value),
            "✅ within" if check.passed else "❌ over",
        )
        for check in verdict.checks
    ]
    return table(("Check", "Threshold", "Value", "Result"), rows, ("left", "right", "right"))


def _baseline_line(verdict: CheckVerdict) -> str | None:
    if verdict.baseline is None:
        return None
    cost = display.usd(verdict.baseline_cost_usd)
    tokens = display.tokens(verdict.baseline_total_tokens)
    changes = []
    for what, change in (
        ("cost", verdict.cost_increase_percent),
        ("tokens", verdict.token_increase_percent),
    ):
        changes.append(f"{what} {'n/a' if change is None else f'{change:+.1f}%'}")
    limits = [
        f"{what} at most +{percent_limit(limit)}"
        for what, limit in (
            ("cost", verdict.max_increase_percent),
            ("tokens", verdict.max_increase_tokens_percent),
        )
        if limit is not None
    ]
    limit_text = f" (limit: {', '.join(limits)})" if limits else ""
    return (
        f"- **Baseline:** {text(verdict.baseline)}: {text(cost)}, {tokens} tokens; "
        f"change: {', '.join(changes)}{limit_text}"
    )


def gate_markdown(
    verdict: CheckVerdict, report: TokenUsageReport | None = None, *, marker: bool = False
) -> str:
    """Return the verdict as a markdown section for the job summary or a pull-request comment.

    A heading with the verdict, the message, one table row per threshold (threshold, figure,
    result), the cost and tokens checked, the baseline and its change when there is one, the
    unpriced models, and ``report``'s per-agent table when given. With ``marker`` the section
    starts with the hidden comment marker, for a workflow to update its comment in place.
    """
    mark = "✅" if verdict.passed else "❌"
    outcome = "passed" if verdict.passed else "failed"
    lines = [MARKER] if marker else []
    lines += [f"### {mark} {GATE_TITLE} {outcome}", "", f"> {text(verdict.message)}", ""]
    lines += _checks_table(verdict)
    cost = display.usd(verdict.cost_usd, lower_bound=verdict.cost_is_lower_bound)
    if verdict.cost_repriced:
        cost += " (re-priced with today's table)"
    checked = f"{text(verdict.target)}"
    if verdict.session_id is not None:
        checked += f" (session {text(verdict.session_id)})"
    lines += [
        "",
        f"- **Checked:** {checked}",
        f"- **Cost:** {text(cost)}",
        f"- **Tokens:** {display.tokens(verdict.total_tokens)}",
    ]
    baseline = _baseline_line(verdict)
    if baseline is not None:
        lines.append(baseline)
    if verdict.unknown_models:
        names = ", ".join(text(name) for name in verdict.unknown_models)
        lines.append(f"- **Unpriced models:** {names}")
    agents = agent_table(report) if report is not None else []
    if agents:
        lines += ["", *agents]
    return "\n".join(lines) + "\n"


# --- JUnit XML -------------------------------------------------------------------------------


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def junit_xml(verdict: CheckVerdict) -> str:
    """Return the verdict as a JUnit XML document: one ``token-gate`` test suite, one test case
    per threshold checked, a ``<failure>`` (its message the gate's) in each one crossed."""
    failed = sum(1 for check in verdict.checks if not check.passed)
    counts = {"tests": str(len(verdict.checks)), "failures": str(failed), "errors": "0"}
    root = ET.Element("testsuites", {"name": "memory-banker", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": JUNIT_SUITE, **counts, "skipped": "0"})
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", verdict.target),
        ("session_id", verdict.session_id),
        ("baseline", verdict.baseline),
    ):
        if value is not None:
            ET.SubElement(properties, "property", name=name, value=_xml_text(value))
    for check in verdict.checks:
        case = ET.SubElement(suite, "testcase", classname=JUNIT_SUITE, name=check.name, time="0")
        details = f"threshold: {check.threshold}\nvalue: {check.value}\nchecked: {verdict.target}"
        if check.passed:
            ET.SubElement(case, "system-out").text = _xml_text(f"{check.message}\n{details}")
        else:
            failure = ET.SubElement(
                case, "failure", message=_xml_text(check.message), type="threshold"
            )
            failure.text = _xml_text(details)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
