"""The dashboard page (``memory-banker tokens dashboard``): one self-contained HTML file.

:func:`render_dashboard` turns a :class:`~token_tracking.history.dashboard.data.DashboardData`
into one HTML page and :func:`write_dashboard` writes it. The page works offline: the Vega
JavaScript is written inline, it has no ``http(s)`` script or stylesheet source, and its
Content-Security-Policy forbids loading anything from the network. Everything that comes from the
ledger (branch names, notes, model and project names) reaches the page either through
:func:`html.escape` or inside a JSON document whose ``<``, ``>`` and ``&`` are written as
``\\u003c``, ``\\u003e`` and ``\\u0026``, which Vega then draws as SVG text: a branch named
``<script>alert(1)</script>`` shows as that text and never runs.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from token_tracking import display
from token_tracking.errors import DashboardError
from token_tracking.files import atomic_write
from token_tracking.history.dashboard.charts import chart_specs, vega_javascript
from token_tracking.history.dashboard.data import DashboardData
from token_tracking.history.trends import NO_VALUE, Insights


def script_json(value: Any) -> str:
    """Serialize ``value`` as JSON that can sit inside a ``<script>`` element unchanged.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e`` and ``\\u0026`` (so no ``</script>`` or
    comment opener can appear), and U+2028/U+2029 are escaped too; ``JSON.parse`` restores them.
    """
    text = display.json_text(value, indent=None, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


_STYLE = """
:root { --ink:#1a202c; --muted:#5a6474; --line:#e2e8f0; --card:#ffffff; --bg:#f4f6fa;
        --accent:#4c78a8; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { padding: 22px 32px 8px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0 0 10px; color: var(--muted); font-weight: 600; }
.meta { color: var(--muted); font-size: 13px; }
.meta span + span::before { content: "·"; margin: 0 8px; }
main { padding: 12px 32px 32px; display: grid; gap: 16px; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 16px; }
.card, .panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
                padding: 14px 18px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .figure { font-size: 28px; font-weight: 650; margin: 2px 0;
                font-variant-numeric: tabular-nums; }
.card .detail { color: var(--muted); font-size: 12px; }
.row { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.row.three { grid-template-columns: repeat(3, minmax(0, 1fr)); }
.row.split { grid-template-columns: minmax(0, 1fr) minmax(0, 2fr); }
.chart { width: 100%; min-height: 60px; }
table { width: 100%; border-collapse: collapse; font-size: 13px;
        font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line);
         overflow-wrap: break-word; }
th { color: var(--muted); font-weight: 600; white-space: nowrap; overflow-wrap: normal; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
code { font-size: 12px; }
.empty { background: var(--card); border: 1px dashed var(--line); border-radius: 10px;
         padding: 40px; text-align: center; color: var(--muted); }
.note { color: var(--muted); font-size: 12px; }
.insights { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 8px 24px;
            color: var(--muted); font-size: 13px; }
.insights b { color: var(--ink); font-weight: 600; }
@media (max-width: 900px) { .cards, .row, .row.three, .row.split { grid-template-columns: 1fr; } }
"""

# Inline scripts and styles only; nothing may be fetched (Vega compiles expressions with
# Function(), hence 'unsafe-eval').
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)

_BOOT = """
const specs = JSON.parse(document.getElementById("dashboard-specs").textContent);
for (const [id, spec] of Object.entries(specs)) {
  window.vegaEmbed("#" + id, spec, { renderer: "svg", actions: false })
    .then(() => document.getElementById(id).setAttribute("data-rendered", "true"))
    .catch((error) => console.error("chart " + id + " failed: " + error));
}
"""


def render_dashboard(data: DashboardData) -> str:
    """Return the dashboard as one self-contained HTML page.

    An empty window gives a page that says there is no data yet. Raises :class:`DashboardError`
    when the Vega JavaScript cannot be produced.
    """
    body = _render_empty(data) if data.is_empty else _render_full(data)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Token usage dashboard — memory-banker</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n{_render_header(data)}\n{body}\n"
        "</body>\n</html>\n"
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _render_header(data: DashboardData) -> str:
    scope = "all projects" if data.project is None else data.project
    if data.days == 0:
        window = "all history"
    else:
        window = f"last {data.days} day{'s' if data.days != 1 else ''}"
    if data.first_day is not None and data.last_day is not None:
        window += f" ({data.first_day.isoformat()} to {data.last_day.isoformat()})"
    offline = "offline runs included" if data.include_offline else "offline runs excluded"
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M %z")
    parts = [
        f'<span>Project: <code id="scope">{_e(scope)}</code></span>',
        f'<span id="window">{_e(window)}</span>',
        f"<span>{_e(offline)}</span>",
        f"<span>generated {_e(generated)}</span>",
    ]
    return f'<header><h1>Token usage</h1><div class="meta">{"".join(parts)}</div></header>'


def _render_empty(data: DashboardData) -> str:
    return (
        '<main><div class="empty" id="no-data"><h2>No data yet</h2>'
        "<p>The ledger holds no sessions for this window. Run "
        "<code>memory-banker update</code> (or record usage with <code>memory-banker tokens add"
        "</code>) and generate the dashboard again.</p></div></main>"
    )


def _card(key: str, label: str, figure: str, detail: str) -> str:
    return (
        f'<div class="card" data-card="{_e(key)}"><div class="label">{_e(label)}</div>'
        f'<div class="figure" data-figure="{_e(key)}">{_e(figure)}</div>'
        f'<div class="detail">{_e(detail)}</div></div>'
    )


def _render_full(data: DashboardData) -> str:
    summary = data.summary
    cached = (
        ""
        if summary.cached_tokens is None
        else f" · {display.tokens(summary.cached_tokens)} cached"
    )
    requests = "" if summary.requests is None else f" · {summary.requests:,} requests"
    cost_detail = (
        "some sessions have an unknown price"
        if summary.cost_is_lower_bound
        else "estimated from the price table"
    )
    per_day = f"{summary.average_tokens_per_day:,.0f} tokens per day"
    cards = "".join(
        [
            _card("sessions", "Sessions", f"{summary.sessions:,}", requests.lstrip(" ·") or " "),
            _card(
                "tokens",
                "Tokens",
                display.tokens(summary.total_tokens),
                f"{display.tokens(summary.prompt_tokens)} prompt · "
                f"{display.tokens(summary.completion_tokens)} completion{cached}",
            ),
            _card(
                "cost",
                "Cost",
                display.usd(summary.cost_usd, lower_bound=summary.cost_is_lower_bound),
                cost_detail,
            ),
            _card(
                "projected",
                "Projected monthly cost",
                display.usd(
                    summary.projected_monthly_cost_usd, lower_bound=summary.cost_is_lower_bound
                ),
                per_day,
            ),
        ]
    )
    specs = chart_specs(data)

    def panel(chart_id: str, title: str, note: str = "") -> str:
        return (
            f'<section class="panel"><h2>{_e(title)}</h2>'
            f'<div class="chart" id="{chart_id}"></div>{note}</section>'
        )

    unpriced_days = [day.day.isoformat() for day in data.daily if day.cost_usd is None]
    cost_note = (
        f'<p class="note" id="unpriced-days">No bar where no session had a known price: '
        f"{_e(', '.join(unpriced_days))}.</p>"
        if unpriced_days
        else ""
    )

    people = (
        f'<div class="row">{panel(f"chart-by-{data.by_people}", f"By {data.by_people}")}</div>'
        if data.by_people is not None
        else ""
    )
    limits_panel = (
        panel("chart-limits", "Limits (all projects)")
        if "chart-limits" in specs
        else '<section class="panel"><h2>Limits</h2><p class="note">No limits set.</p></section>'
    )
    return (
        "<main>"
        f'<section class="cards">{cards}</section>'
        f"{_render_insights(data.insights)}"
        '<div class="row">'
        f"{panel('chart-daily-tokens', 'Daily tokens')}"
        f"{panel('chart-daily-cost', 'Daily cost', cost_note)}"
        "</div>"
        '<div class="row three">'
        f"{panel('chart-by-branch', 'By branch')}{panel('chart-by-model', 'By model')}"
        f"{panel('chart-by-agent', 'By agent')}"
        "</div>"
        f"{people}"
        f'<div class="row split">{limits_panel}{_render_sessions(data)}</div>'
        '<p class="note">Charts drawn with Vega-Lite, inlined; this page loads nothing from the '
        "network.</p>"
        "</main>\n"
        f'<script type="application/json" id="dashboard-specs">{script_json(specs)}</script>\n'
        f'<script type="module">{vega_javascript()}</script>\n'
        f'<script type="module">{_BOOT}</script>'
    )


def _render_insights(insights: Insights | None) -> str:
    if insights is None:
        return ""
    items: list[str] = []
    if insights.peak_day is not None and insights.peak_day_tokens is not None:
        items.append(
            f"Peak day <b>{_e(insights.peak_day.isoformat())}</b> "
            f"({_e(display.tokens(insights.peak_day_tokens))} tokens)"
        )
    if insights.most_active_branch is not None and insights.most_active_branch_tokens is not None:
        items.append(
            f"Most active branch <b>{_e(insights.most_active_branch)}</b> "
            f"({_e(display.tokens(insights.most_active_branch_tokens))} tokens)"
        )
    change = insights.week_over_week.change_percent
    if change is not None:
        items.append(f"Last 7 days against the 7 before: <b>{change:+.0f}%</b> tokens")
    if insights.projected_monthly_cost is not None:
        items.append("Projection: average cost per day x 30, a straight line")
    if not items:
        return ""
    return f'<ul class="insights" id="insights"><li>{"</li><li>".join(items)}</li></ul>'


def _render_sessions(data: DashboardData) -> str:
    rows = []
    for row in data.top_sessions:
        where = row.branch if row.branch is not None else NO_VALUE
        note = f'<div class="note">{_e(row.note)}</div>' if row.note is not None else ""
        rows.append(
            "<tr>"
            f'<td class="nowrap">{_e(row.end_time.astimezone().strftime("%Y-%m-%d %H:%M"))}</td>'
            f'<td><code title="{_e(row.session_id)}">{_e(row.session_id[:8])}</code></td>'
            f"<td>{_e(where)}{note}</td>"
            f"<td>{_e(row.command)}</td>"
            f"<td>{_e(row.model if row.model is not None else NO_VALUE)}</td>"
            f'<td class="num">{_e(display.tokens(row.total_tokens))}</td>'
            f'<td class="num">{_e(display.usd(row.cost_usd))}</td>'
            "</tr>"
        )
    head = (
        "<tr><th>Ended</th><th>Session</th><th>Branch</th><th>Command</th><th>Model</th>"
        '<th class="num">Tokens</th><th class="num">Cost</th></tr>'
    )
    return (
        '<section class="panel"><h2>Most expensive sessions</h2>'
        f'<table id="top-sessions"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        "</section>"
    )


# --- writing ----------------------------------------------------------------------------------


def write_dashboard(path: Path, page: str) -> Path:
    """Write ``page`` to ``path`` atomically (:func:`token_tracking.files.atomic_write`).

    A new file gets the permissions of the user's umask; a replaced one keeps its own. Returns the
    path written. Raises :class:`DashboardError` when the folder does not exist or cannot be
    written.
    """
    folder = path.parent
    if not folder.is_dir():
        raise DashboardError(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise DashboardError(f"cannot write {path}: it is a folder")
    try:
        atomic_write(path, page)
    except OSError as exc:
        raise DashboardError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
