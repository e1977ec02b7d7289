"""Block Kit, built in one place and reused by replies, DMs, digests and the Home tab."""

from __future__ import annotations

from typing import Any

from bot.text import clip

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


def help_text(entries: list[tuple[str, str]]) -> str:
    """The plain-text fallback of the help reply (notifications, screen readers)."""
    return f"{TAGLINE}\n{_command_lines(entries)}"


def help_blocks(entries: list[tuple[str, str]]) -> list[Block]:
    return [section(f"*Peershelf* — {TAGLINE}"), section(_command_lines(entries))]


def home_view(entries: list[tuple[str, str]]) -> dict[str, Any]:
    """The App Home tab."""
    return {
        "type": "home",
        "blocks": [
            header("Peershelf"),
            section(TAGLINE),
            divider(),
            section("*What you can do*\n" + _command_lines(entries)),
        ],
    }
