"""Block Kit, built in one place and reused by replies, DMs, digests and the Home tab."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from bot.text import clip, slack_escape

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
MAX_TAGS_SHOWN = 3
MAX_BUTTON_TEXT = 75
EXCERPT = 280


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


def people_count(count: int) -> str:
    """`1 person`, `3 people`: how many took to an item (the week's top, a digest's reasons)."""
    return f"{count} {'person' if count == 1 else 'people'}"


def tags_text(tags: Sequence[str], limit: int | None = MAX_TAGS_SHOWN) -> str:
    """`#a #b #c`: the first `limit` tags (those people gave come first), or every one."""
    return " ".join(f"#{tag}" for tag in (tags if limit is None else tags[:limit]))


def item_line(
    item: Card,
    *,
    tags: Sequence[str] = (),
    number: bool = False,
    done: bool = False,
    extra: str | None = None,
    why: str | None = None,
    excerpt: bool = False,
) -> str:
    """An item as one line, everywhere it is shown: `42` Title — kind · site · length · #tags,
    then why it is here and an excerpt of its description where asked."""
    line = f"`{item.id}` " if number else ""
    line += f"{item_link(item)} — {item_facts(item)}"
    for part in (tags_text(tags), extra):
        if part:
            line += f" · {part}"
    if done:
        line += "  ✓ done"
    if why:
        line += f"\n{why}"
    description: str | None = getattr(item, "description", None)
    if excerpt and description:
        line += f"\n{slack_escape(clip(description, EXCERPT))}"
    return line


def item_card(
    item: Card,
    *,
    buttons: Sequence[str] = ("recommend",),
    block_id: str | None = None,
    tags: Sequence[str] = (),
    number: bool = False,
    done: bool = False,
    extra: str | None = None,
    why: str | None = None,
    excerpt: bool = False,
) -> list[Block]:
    """The item card of replies, DMs, digests and the Home tab: its line, and its buttons (save,
    done, recommend) in that order. A lone Recommend button sits beside the line."""
    text = item_line(item, tags=tags, number=number, done=done, extra=extra, why=why, excerpt=excerpt)
    if tuple(buttons) == ("recommend",):
        return [{**section(text), "accessory": _ITEM_BUTTONS["recommend"](item)}]
    card = [section(text)]
    if buttons:
        elements = [_ITEM_BUTTONS[name](item) for name in buttons]
        card.append({"type": "actions", "block_id": block_id or f"item:{item.id}", "elements": elements})
    return card


def item_list(heading: str, cards: Sequence[list[Block]], *, footer: str | None = None) -> list[Block]:
    """A heading, the item cards, and an optional footer; within a message's limit of blocks."""
    blocks = [section(heading)]
    for card in cards:
        if len(blocks) + len(card) > MAX_BLOCKS_MESSAGE - 1:
            break
        blocks += card
    if footer:
        blocks.append(context(footer))
    return blocks


# -- buttons, recommendation DMs and the Recommend… modal -------------------------------------------


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


FORGET_ME = "forget_me"
FORGET_ME_NOT = "forget_me_not"


def confirm_forget(text: str) -> list[Block]:
    """`/shelf forget me`: what goes, and a red button that asks once more."""
    forget = button("Forget me", FORGET_ME, "me", style="danger")
    forget["confirm"] = {
        "title": {"type": "plain_text", "text": "Forget you?"},
        "text": {"type": "mrkdwn", "text": "Your saves, notes, lists, follows, interests and settings go for good."},
        "confirm": {"type": "plain_text", "text": "Forget me"},
        "deny": {"type": "plain_text", "text": "Keep my data"},
        "style": "danger",
    }
    return [section(text), {"type": "actions", "elements": [forget, button("Cancel", FORGET_ME_NOT, "keep")]}]


NOT_FOR_ME = "pick_not_for_me"

_ITEM_BUTTONS: dict[str, Callable[[Card], Block]] = {
    "save": lambda item: button("Save", "item_save", str(item.id)),
    "done": lambda item: button("Done", "item_done", str(item.id)),
    "recommend": lambda item: button("Recommend", "item_recommend", str(item.id)),
    "not_for_me": lambda item: button("Not for me", NOT_FOR_ME, str(item.id)),
}


def waved_off(blocks: Sequence[Block], item_id: int, title: str) -> list[Block] | None:
    """A message's blocks with one item's card (its line and its buttons, block `item:<id>`) folded
    into a quiet line: what *Not for me* leaves in the digest. None when the card is not there."""
    for n, block in enumerate(blocks):
        if block.get("type") == "actions" and block.get("block_id") == f"item:{item_id}":
            start = n - 1 if n and blocks[n - 1].get("type") == "section" else n
            note = context(f"Not for you: {title}. Fewer like it from now on.")
            return [*blocks[:start], note, *blocks[n + 1 :]]
    return None


def recommendation_blocks(
    *, from_user: str, item: Card, note: str | None, tags: Sequence[str], state: list[str], rec_id: int
) -> list[Block]:
    """The DM a recipient gets: who recommends what and why, the card, and Save / Done / Thanks."""
    why = f"\n>{slack_escape(clip(note, 500))}" if note else ""
    blocks = [
        section(f"<@{from_user}> recommends this to you:{why}"),
        *item_card(item, tags=tags, excerpt=True, buttons=()),
    ]
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
    *, private_metadata: str, title: str | None, links: list[str], preset_users: list[str]
) -> dict[str, Any]:
    """The Recommend… modal: who to, which link (when a message has several), and why. `title` is
    the item's linked title when the modal is about one item."""
    blocks: list[Block] = []
    if title is not None:
        blocks.append(section(f"Recommend {title}"))
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


def suggestion_blocks(item: Card, people: list[tuple[str, list[str], str | None]]) -> list[Block]:
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


def digest_blocks(
    sections: Sequence[tuple[str, Sequence[tuple[Card, str, Sequence[str]]]]], *, dismissable: Collection[str] = ()
) -> list[Block]:
    """Each section a header and its item cards (with Save / Done / Recommend, and Not for me in the
    sections named in `dismissable`), within 50 blocks.

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
            buttons = (
                ("save", "done", "recommend", "not_for_me") if title in dismissable else ("save", "done", "recommend")
            )
            shown += item_card(item, tags=tags, why=why, buttons=buttons)
    footer = "Change when this arrives with `/shelf digest day …` / `time …`, or `/shelf digest off`."
    if left_out:
        footer = f"{left_out} more didn't fit; `/shelf mine` has them. " + footer
    shown.append(context(footer))
    return shown
