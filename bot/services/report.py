"""`peershelf report`: one self-contained HTML page of what a workspace learns, for the people
who run learning programmes. Charts are inline SVG drawn by pygal (no script, no network needed
to open the page); only public activity counts (storage.report)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import escape
from typing import Any

from bot.services import Services
from bot.slack.blocks import people_count
from storage.report import Learning, learning
from storage.workspaces import get_workspace

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)

# Colours the charts are drawn in (a test looks for them in a screenshot of the page).
SHARES, SAVES, RECOMMENDATIONS, PEOPLE = "#1b6ac9", "#e8912d", "#2eb67d", "#7c3aed"


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of `now`'s week."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def report_html(services: Services, *, team_id: str, weeks: int, now: datetime | None = None) -> str:
    """The page for the `weeks` weeks up to and including this one."""
    now = now or services.clock()
    since = week_start(now) - timedelta(weeks=weeks - 1)
    with services.new_session() as session:
        found = learning(session=session, team_id=team_id, since=since, weeks=weeks)
        workspace = get_workspace(session=session, team_id=team_id)
    name = (workspace.name if workspace and workspace.name else None) or team_id
    return render(found, workspace=name, since=since, now=now)


def render(found: Learning, *, workspace: str, since: datetime, now: datetime) -> str:
    labels = [f"{w.start:%d %b}" for w in found.weeks]
    activity = _chart("line", "Shares, saves and recommendations per week", labels, [
        ("Shares", [w.shares for w in found.weeks], SHARES),
        ("Saves", [w.saves for w in found.weeks], SAVES),
        ("Recommendations", [w.recommendations for w in found.weeks], RECOMMENDATIONS),
    ])  # fmt: skip
    people = _chart(
        "bar", "People taking part each week", labels, [("People", [w.people for w in found.weeks], PEOPLE)]
    )
    totals = [sum(getattr(w, kind) for w in found.weeks) for kind in ("shares", "saves", "recommendations")]
    sections = [
        f"<h1>What {escape(workspace)} learns</h1>",
        f"<p class=sub>{len(found.weeks)} weeks from {since:%d %B %Y} to {now:%d %B %Y}. Public activity only: "
        "shares in public channels, and saves and recommendations made once their item was shared there.</p>",
        "<div class=tiles>"
        + _tile(found.people, "people took part")
        + "".join(_tile(n, what) for n, what in zip(totals, ("shares", "saves", "recommendations"), strict=True))
        + "</div>",
        f"<section>{activity}</section>",
        f"<section>{people}</section>",
        "<h2>Topics rising and falling</h2>",
        _topics(found),
        "<h2>Most recommended</h2>",
        _table(
            ("Item", "Recommendations", "By"),
            [
                (f"<a href='{escape(r.url, quote=True)}'>{escape(r.title)}</a>", str(r.count), people_count(r.people))
                for r in found.recommended
            ],
            empty="Nothing was recommended in these weeks.",
        ),  # fmt: skip
        "<h2>Most subscribed lists</h2>",
        _table(
            ("List", "Curator", "Subscribers", "Items"),
            [(escape(c.name), escape(c.curator), str(c.subscribers), str(c.items)) for c in found.lists],
            empty="Nobody subscribes to a list yet.",
        ),  # fmt: skip
        f"<footer>Made by Peershelf on {now:%d %B %Y %H:%M} UTC.</footer>",
    ]
    return PAGE.format(title=escape(f"What {workspace} learns"), body="\n".join(sections))


def _topics(found: Learning) -> str:
    if not found.topics:
        return "<p class=empty>No topics yet: nothing public was shared, saved or recommended.</p>"
    labels = [f"#{topic}" for topic, _, _ in found.topics]
    chart = _chart("hbar", "Activity on each topic: first half of the span, then second half", labels, [
        ("First half", [early for _, early, _ in found.topics], "#9aa5b1"),
        ("Second half", [late for _, _, late in found.topics], SHARES),
    ], height=180 + 56 * len(labels))  # fmt: skip
    return f"<section>{chart}</section>"


def _chart(
    kind: str, title: str, labels: list[str], series: list[tuple[str, list[int], str]], height: int = 360
) -> str:
    import pygal
    from pygal.style import Style

    style = Style(
        background="white", plot_background="white", foreground="#1d1c1d", foreground_strong="#1d1c1d",
        foreground_subtle="#d0d0d0", colors=tuple(colour for _, _, colour in series),
        font_family="Helvetica, Arial, sans-serif", title_font_size=18, legend_font_size=14,
        label_font_size=12, major_label_font_size=12, value_font_size=12, opacity="1", opacity_hover="1",
    )  # fmt: skip
    options: dict[str, Any] = {
        "title": title, "style": style, "width": 960, "height": height, "js": [],  # no script, no network
        "disable_xml_declaration": True, "legend_at_bottom": True, "show_y_guides": True,
        "print_values": kind != "line", "explicit_size": True, "no_data_text": "Nothing yet",
        "stroke_style": {"width": 3}, "dots_size": 4,
    }  # fmt: skip
    chart = {"line": pygal.Line, "bar": pygal.Bar, "hbar": pygal.HorizontalBar}[kind](**options)
    chart.x_labels = labels
    for name, values, _ in series:
        chart.add(name, values)
    # pygal still writes its settings for its (absent) tooltip script into a <script>: the page needs none.
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def _tile(number: int, what: str) -> str:
    return f"<div class=tile><b>{number:,}</b><span>{escape(what)}</span></div>"


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]], *, empty: str) -> str:
    if not rows:
        return f"<p class=empty>{escape(empty)}</p>"
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


PAGE = """<!doctype html>
<html lang=en>
<head>
<meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; color: #1d1c1d; max-width: 1000px; margin: 2em auto; }}
body {{ padding: 0 1em; }}
h1 {{ margin-bottom: .2em; }} h2 {{ margin-top: 2em; }}
.sub, footer, .empty {{ color: #616061; }}
.tiles {{ display: flex; gap: 1em; flex-wrap: wrap; margin: 1.5em 0; }}
.tile {{ border: 1px solid #ddd; border-radius: 8px; padding: .8em 1.2em; min-width: 8em; }}
.tile b {{ display: block; font-size: 2em; }}
section svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .45em .6em; border-bottom: 1px solid #eee; }}
footer {{ margin-top: 3em; font-size: .9em; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
