"""Block Kit, built in one place and reused by replies, DMs, digests and the Home tab."""

from __future__ import annotations

from typing import Any

from bot.text import clip, slack_escape
from storage.models import Item

Block = dict[str, Any]

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150

TAGLINE = (
    "Peershelf keeps the links, videos and books your colleagues share in Slack, "
    "so you can save them, recommend them and learn from them."
)


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER_TEXT), "emoji": True}}


def section(markdown: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(markdown, MAX_SECTION_TEXT)}}


def context(markdown: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(markdown, MAX_SECTION_TEXT)}]}


def divider() -> Block:
    return {"type": "divider"}


def _command_lines(entries: list[tuple[str, str]]) -> str:
    return "\n".join(f"`{usage}` — {summary}" for usage, summary in entries)


def help_text(entries: list[tuple[str, str]], tips: list[str]) -> str:
    """The plain-text fallback of the help reply (notifications, screen readers)."""
    return "\n".join([TAGLINE, *tips, _command_lines(entries)])


def help_blocks(entries: list[tuple[str, str]], tips: list[str]) -> list[Block]:
    intro = "\n".join([f"*Peershelf* — {TAGLINE}", *tips])
    return [section(intro), section(_command_lines(entries))]


def home_view(entries: list[tuple[str, str]], tips: list[str]) -> dict[str, Any]:
    """The App Home tab."""
    return {
        "type": "home",
        "blocks": [
            header("Peershelf"),
            section("\n".join([TAGLINE, *tips])),
            divider(),
            section("*What you can do*\n" + _command_lines(entries)),
        ],
    }


# -- items ------------------------------------------------------------------------------------------

MAX_TITLE = 150


def display_title(item: Item) -> str:
    """The title, or the link itself while the page is unknown (it keeps its URL as title)."""
    return item.title or (item.url if item.url.startswith(("http://", "https://")) else "Untitled")


def item_link(item: Item) -> str:
    """The item's title as a mrkdwn link (plain bold for books with no page)."""
    title = slack_escape(clip(display_title(item), MAX_TITLE))
    if item.url.startswith(("http://", "https://")):
        return f"<{item.url.replace('>', '%3E').replace('|', '%7C')}|{title}>"
    return f"*{title}*"


def _duration(seconds: int) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"


def item_facts(item: Item) -> str:
    """Kind, site or author, and length, as one short line."""
    facts = [item.kind]
    if item.site_name:
        facts.append(slack_escape(clip(item.site_name, 60)))
    elif item.author:
        facts.append(slack_escape(clip(item.author, 60)))
    if item.duration_seconds:
        facts.append(_duration(item.duration_seconds))
    return " · ".join(facts)


def item_line(item: Item, *, done: bool = False, extra: str | None = None, tags: str | None = None) -> str:
    """One line for lists: `42` Title — kind · site · #tags."""
    line = f"`{item.id}` {item_link(item)} — {item_facts(item)}"
    for part in (tags, extra):
        if part:
            line += f" · {part}"
    return f"{line}{'  ✓ done' if done else ''}"


def item_list(heading: str, lines: list[str], *, footer: str | None = None) -> list[Block]:
    """A heading, one section per item line, and an optional footer; within message limits."""
    shown = lines[: MAX_BLOCKS_MESSAGE - 3]
    blocks = [section(heading), *(section(line) for line in shown)]
    if footer:
        blocks.append(context(footer))
    return blocks
