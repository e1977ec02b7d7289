"""Block Kit, built in one place and reused by replies, DMs, digests and the Home tab."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

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


# -- items ------------------------------------------------------------------------------------------

MAX_TITLE = 150


class Card(Protocol):
    """What an item's line needs: an Item, or just those columns of one when many are rendered."""

    @property
    def id(self) -> int | None: ...
    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def site_name(self) -> str | None: ...
    @property
    def author(self) -> str | None: ...
    @property
    def duration_seconds(self) -> int | None: ...


def display_title(item: Card) -> str:
    """The title, or the link itself while the page is unknown (it keeps its URL as title)."""
    return item.title or (item.url if item.url.startswith(("http://", "https://")) else "Untitled")


def item_link(item: Card) -> str:
    """The item's title as a mrkdwn link (plain bold for books with no page)."""
    title = slack_escape(clip(display_title(item), MAX_TITLE))
    if item.url.startswith(("http://", "https://")):
        return f"<{item.url.replace('>', '%3E').replace('|', '%7C')}|{title}>"
    return f"*{title}*"


def _duration(seconds: int) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"


def item_facts(item: Card) -> str:
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


def item_list(heading: str, rows: list[tuple[str, Item]], *, footer: str | None = None) -> list[Block]:
    """A heading, one row per item (with its Recommend button), and an optional footer; within message limits."""
    shown = rows[: MAX_BLOCKS_MESSAGE - 3]
    blocks = [section(heading), *(item_row(line, item) for line, item in shown)]
    if footer:
        blocks.append(context(footer))
    return blocks


# -- item cards, recommendation DMs and the Recommend… modal ----------------------------------------

MAX_BUTTON_TEXT = 75
EXCERPT = 280


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    return element


def recommend_button(item: Item) -> Block:
    return button("Recommend", "item_recommend", str(item.id))


def item_row(line: str, item: Item) -> Block:
    """A list line with the item's Recommend button beside it."""
    return {**section(line), "accessory": recommend_button(item)}


def item_card(item: Item, tags: str | None = None) -> list[Block]:
    """The item card: title, kind and site, an excerpt, topics."""
    text = f"{item_link(item)}\n{item_facts(item)}"
    if item.description:
        text += f"\n{slack_escape(clip(item.description, EXCERPT))}"
    card = [section(text)]
    if tags:
        card.append(context(tags))
    return card


def recommendation_blocks(
    *, from_user: str, item: Item, note: str | None, tags: str | None, state: list[str], rec_id: int
) -> list[Block]:
    """The DM a recipient gets: who recommends what and why, the card, and Save / Done / Thanks."""
    why = f"\n>{slack_escape(clip(note, 500))}" if note else ""
    blocks = [section(f"<@{from_user}> recommends this to you:{why}"), *item_card(item, tags)]
    if state:
        blocks.append(context(" · ".join(state)))
    remaining = [
        (label, action)
        for label, action, flag in (
            ("Save", "rec_save", "saved"),
            ("Done", "rec_done", "done"),
            ("Thanks", "rec_thanks", "thanked"),
        )
        if not any(flag in s.lower() for s in state)
    ]
    if remaining:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"rec:{rec_id}",
                "elements": [
                    button(
                        f"{'🙏 ' if action == 'rec_thanks' else ''}{label}",
                        action,
                        str(rec_id),
                        style="primary" if action == "rec_save" else None,
                    )
                    for label, action in remaining
                ],
            }
        )
    return blocks


def recommend_modal(
    *, private_metadata: str, item: Item | None, links: list[str], preset_users: list[str]
) -> dict[str, Any]:
    """The Recommend… modal: who to, which link (when a message has several), and why."""
    blocks: list[Block] = []
    if item is not None:
        blocks.append(section(f"Recommend {item_link(item)}"))
    users: Block = {
        "type": "multi_users_select",
        "action_id": "users",
        "placeholder": {"type": "plain_text", "text": "Colleagues"},
    }
    if preset_users:
        users["initial_users"] = preset_users
    blocks.append(
        {
            "type": "input",
            "block_id": "people",
            "label": {"type": "plain_text", "text": "Recommend to"},
            "element": users,
        }
    )
    if len(links) > 1:
        options = [
            {"text": {"type": "plain_text", "text": clip(link, MAX_BUTTON_TEXT)}, "value": str(n)}
            for n, link in enumerate(links[:100])
        ]
        blocks.append(
            {
                "type": "input",
                "block_id": "link",
                "label": {"type": "plain_text", "text": "Which link"},
                "element": {
                    "type": "static_select",
                    "action_id": "choice",
                    "options": options,
                    "initial_option": options[0],
                },
            }
        )
    elif links:
        blocks.append(context(f"Recommending {slack_escape(clip(links[0], 200))}"))
    blocks.append(
        {
            "type": "input",
            "block_id": "note",
            "optional": True,
            "label": {"type": "plain_text", "text": "Why (optional)"},
            "element": {"type": "plain_text_input", "action_id": "text", "multiline": True, "max_length": 1000},
        }
    )
    return {
        "type": "modal",
        "callback_id": "recommend_modal",
        "title": {"type": "plain_text", "text": "Recommend"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": private_metadata[:3000],
        "blocks": blocks,
    }


def suggestion_blocks(item: Item, people: list[tuple[str, list[str], str | None]]) -> list[Block]:
    """Colleagues who list the item's topics as interests, each a one-click Recommend."""
    if not people:
        return []
    names = ", ".join(f"<@{user}> (#{', #'.join(topics)})" for user, topics, _ in people)
    return [
        context(f"Colleagues interested in this: {names}"),
        {
            "type": "actions",
            "block_id": f"suggest:{item.id}",
            "elements": [
                button(f"Recommend to {name or 'them'}", "suggest_recommend", f"{item.id}:{user}")
                for user, _, name in people
            ],
        },
    ]


# -- the weekly digest ------------------------------------------------------------------------------


def item_actions(item: Card) -> Block:
    return {
        "type": "actions",
        "block_id": f"item:{item.id}",
        "elements": [
            button("Save", "item_save", str(item.id)),
            button("Done", "item_done", str(item.id)),
            button("Recommend", "item_recommend", str(item.id)),
        ],
    }


def digest_blocks(sections: Sequence[tuple[str, Sequence[tuple[Card, str, str]]]]) -> list[Block]:
    """Each section a header and its item cards (line + Save / Done / Recommend), within 50 blocks.

    When everything would not fit, the last items give way and a footer says so.
    """
    shown: list[Block] = [header("Your week on Peershelf")]
    budget = MAX_BLOCKS_MESSAGE - 2  # room for the footer
    left_out = 0
    for title, entries in sections:
        if len(shown) + 3 > budget:
            left_out += len(entries)
            continue
        shown.append(section(f"*{title}*"))
        for item, why, tags in entries:
            if len(shown) + 2 > budget:
                left_out += 1
                continue
            line = f"{item_link(item)} — {item_facts(item)}" + (f" · {tags}" if tags else "") + f"\n{why}"
            shown += [section(line), item_actions(item)]
    footer = "Change when this arrives with `/shelf digest day …` / `time …`, or `/shelf digest off`."
    if left_out:
        footer = f"{left_out} more didn't fit; `/shelf mine` has them. " + footer
    shown.append(context(footer))
    return shown
