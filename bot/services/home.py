"""The App Home tab: a person's shelf, lists, interests, digest settings and the week's top items."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.services import Services
from bot.services.digests.slots import DAY_NAMES, preferences
from bot.slack import blocks
from storage import items as item_store
from storage import lists as list_store
from storage.activity import top_items
from storage.people import get_person, interests_of

SHELF_ROWS = 10
TOP_ROWS = 5


def home_view(
    services: Services, *, team_id: str, user_id: str, commands: list[tuple[str, str]], tips: list[str]
) -> dict[str, Any]:
    """The whole view, always within Block Kit's 100 blocks however much the person has."""
    now = services.clock()
    with services.new_session() as session:
        shelf = item_store.shelf(session=session, team_id=team_id, user_id=user_id)
        tags = item_store.active_tags(session=session, item_ids=[item.id or 0 for _, item in shelf[:SHELF_ROWS]])
        own = list_store.lists_of(session=session, team_id=team_id, owner_id=user_id)
        subscribed = list_store.subscriptions_of(session=session, team_id=team_id, user_id=user_id)
        interests = interests_of(session=session, team_id=team_id, user_id=user_id)
        person = get_person(session=session, team_id=team_id, user_id=user_id)
        top = top_items(session=session, team_id=team_id, since=now - timedelta(days=7), limit=TOP_ROWS)

    view: list[blocks.Block] = [blocks.header("Peershelf"), blocks.context("  ".join([blocks.TAGLINE, *tips[:1]]))]

    unread = sum(1 for save, _ in shelf if save.status != "done")
    view += [blocks.divider(), blocks.section(f"*Your shelf* — {unread} unread, {len(shelf) - unread} done")]
    if not shelf:
        view.append(blocks.context("Nothing saved yet: react with :bookmark: to a message with a link."))
    for save, item in shelf[:SHELF_ROWS]:
        line = blocks.item_line(
            item,
            done=save.status == "done",
            tags=" ".join(f"#{t.tag}" for t in tags.get(item.id or 0, [])[:3]) or None,
        )
        view.append(blocks.section(line))
        elements = [blocks.button("Recommend", "item_recommend", str(item.id))]
        if save.status != "done":
            elements.insert(0, blocks.button("Done", "item_done", str(item.id)))
        view.append({"type": "actions", "block_id": f"home:{item.id}", "elements": elements})
    if len(shelf) > SHELF_ROWS:
        view.append(blocks.context(f"and {len(shelf) - SHELF_ROWS} more: `/shelf mine`"))

    lists_text = (
        ", ".join(f"*{blocks.slack_escape(c.name)}*" for c in own[:20]) or 'none yet (`/shelf list new "Name"`)'
    )
    subs_text = ", ".join(f"*{blocks.slack_escape(c.name)}* by <@{c.owner_id}>" for c in subscribed[:20]) or "none"
    view += [
        blocks.divider(),
        blocks.section(f"*Your lists:* {lists_text}\n*You subscribe to:* {subs_text}"),
        blocks.section(
            "*Your interests:* "
            + (", ".join(f"`#{t}`" for t in interests) if interests else "none yet (`/shelf interests #a #b`)")
        ),
    ]

    day, at = preferences(
        services.settings, person.digest_day if person else None, person.digest_time if person else None
    )
    enabled = person is None or person.digest_enabled
    where = f" ({person.tz})" if person and person.tz else ""
    view += [
        blocks.divider(),
        blocks.section(f"*Weekly digest:* {'on' if enabled else 'off'}, {DAY_NAMES[day]}s at {at:%H:%M}{where}"),
        {
            "type": "actions",
            "block_id": "home_digest",
            "elements": [
                blocks.button("Turn off" if enabled else "Turn on", "home_digest_toggle", "off" if enabled else "on"),
                {
                    "type": "static_select",
                    "action_id": "home_digest_day",
                    "placeholder": {"type": "plain_text", "text": "Day"},
                    "options": [_option(name, str(n)) for n, name in enumerate(DAY_NAMES)],
                    "initial_option": _option(DAY_NAMES[day], str(day)),
                },
                {"type": "timepicker", "action_id": "home_digest_time", "initial_time": f"{at:%H:%M}"},
            ],
        },
    ]

    view += [blocks.divider(), blocks.section("*Top of the week*")]
    if not top:
        view.append(blocks.context("Nothing shared in public channels this week yet."))
    for item, count in top:
        view.append(
            blocks.item_row(blocks.item_line(item, extra=f"{count} {'person' if count == 1 else 'people'}"), item)
        )

    view += [blocks.divider(), blocks.context("\n".join(f"`{usage}`" for usage, _ in commands)[:2900])]
    return {"type": "home", "blocks": view[: blocks.MAX_BLOCKS_VIEW]}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}
