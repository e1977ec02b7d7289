"""The App Home tab, drawn from what a person has: shelf, picks, lists, interests, digest settings, the week's top."""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack.blocks import (
    MAX_BLOCKS_VIEW,
    TAGLINE,
    Block,
    Card,
    button,
    context,
    divider,
    header,
    item_card,
    people_count,
    section,
)
from bot.text import slack_escape

HOME_SHELF_ROWS = 10
HISTORY_IMPORT = "home_history_import"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _option(text: str, value: str) -> Block:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def home_view(
    *,
    tips: list[str],
    shelf: Sequence[tuple[Card, bool, Sequence[str]]],
    unread: int,
    done: int,
    own_lists: Sequence[str],
    subscriptions: Sequence[tuple[str, str]],
    interests: Sequence[str],
    digest_on: bool,
    digest_day: int,
    digest_time: str,
    time_zone: str | None,
    top: Sequence[tuple[Card, int]],
    commands: list[tuple[str, str]],
    picks: Sequence[tuple[Card, str, Sequence[str]]] = (),
    history: str | None = None,
    history_button: str | None = None,
) -> Block:
    """The Home tab, always within a view's 100 blocks however much the person has. `shelf` holds
    (item, done, tags) of the newest saves; `subscriptions` (list name, owner). Workspace admins
    also see the history import (`history`), with a button to start it when `history_button` names it."""
    view: list[Block] = [header("Peershelf"), context("  ".join([TAGLINE, *tips[:1]]))]

    view += [divider(), section(f"*Your shelf* — {unread} unread, {done} done")]
    if not shelf:
        view.append(context("Nothing saved yet: react with :bookmark: to a message with a link."))
    for item, is_done, tags in shelf[:HOME_SHELF_ROWS]:
        buttons = ("recommend",) if is_done else ("done", "recommend")
        view += item_card(item, tags=tags, number=True, done=is_done, buttons=buttons, block_id=f"home:{item.id}")
    if unread + done > HOME_SHELF_ROWS:
        view.append(context(f"and {unread + done - HOME_SHELF_ROWS} more: `/shelf mine`"))

    if picks:
        view += [divider(), section("*Picked for you* — from what your colleagues shared lately")]
        for item, why, tags in picks:
            view += item_card(item, tags=tags, why=why, buttons=("save", "not_for_me"), block_id=f"home-pick:{item.id}")

    lists_text = (
        ", ".join(f"*{slack_escape(name)}*" for name in own_lists[:20]) or 'none yet (`/shelf list new "Name"`)'
    )
    subs_text = ", ".join(f"*{slack_escape(name)}* by <@{owner}>" for name, owner in subscriptions[:20]) or "none"
    interests_text = ", ".join(f"`#{t}`" for t in interests) if interests else "none yet (`/shelf interests #a #b`)"
    view += [
        divider(),
        section(f"*Your lists:* {lists_text}\n*You subscribe to:* {subs_text}"),
        section(f"*Your interests:* {interests_text}"),
    ]

    where = f" ({time_zone})" if time_zone else ""
    view += [
        divider(),
        section(f"*Weekly digest:* {'on' if digest_on else 'off'}, {DAY_NAMES[digest_day]}s at {digest_time}{where}"),
        {
            "type": "actions",
            "block_id": "home_digest",
            "elements": [
                button("Turn off" if digest_on else "Turn on", "home_digest_toggle", "off" if digest_on else "on"),
                {
                    "type": "static_select",
                    "action_id": "home_digest_day",
                    "placeholder": {"type": "plain_text", "text": "Day"},
                    "options": [_option(name, str(n)) for n, name in enumerate(DAY_NAMES)],
                    "initial_option": _option(DAY_NAMES[digest_day], str(digest_day)),
                },
                {"type": "timepicker", "action_id": "home_digest_time", "initial_time": digest_time},
            ],
        },
    ]

    view += [divider(), section("*Top of the week*")]
    if not top:
        view.append(context("Nothing shared in public channels this week yet."))
    for item, count in top:
        view += item_card(item, number=True, extra=people_count(count))

    if history is not None:
        view += [divider(), section(history)]
        if history_button:
            view.append({"type": "actions", "block_id": "home_history",
                         "elements": [button(history_button, HISTORY_IMPORT, "90", style="primary")]})  # fmt: skip

    view += [divider(), context("\n".join(f"`{usage}`" for usage, _ in commands)[:2900])]
    return {"type": "home", "blocks": view[:MAX_BLOCKS_VIEW]}
