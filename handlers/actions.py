"""Buttons: Save / Done / Thanks on recommendations, Recommend on item cards, suggested colleagues."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.commands.parser import Shelf
from bot.services import Services
from bot.services.lookups import NotAColleague, colleague
from bot.services.recommendation_dms import deliver, refresh
from bot.services.recommendations import NotAllowed, act, recommend
from bot.settings import SettingsError, parse_hhmm
from bot.slack import blocks
from handlers.events import publish
from storage import items as item_store
from storage.models import Item
from storage.people import get_person, remember_person, set_digest

logger = logging.getLogger(__name__)

REC_ACTIONS = {"rec_save": "save", "rec_done": "done", "rec_thanks": "thanks"}


def _pressed_item(
    session: Session, body: dict[str, Any], action: dict[str, Any], context: BoltContext
) -> tuple[str, Item | None]:
    """Who pressed an item's button, and the item its value names, if they may see it."""
    user = (body.get("user") or {}).get("id", "")
    item_id = int(action.get("value") or 0)
    return user, item_store.visible_item(session=session, team_id=context.team_id or "", user_id=user, item_id=item_id)


def register(app: App, services: Services, shelf: Shelf) -> None:
    _home_controls(app, services, shelf)

    for action_id, action in REC_ACTIONS.items():
        app.action(action_id)(_on_recommendation(services, action))

    def on_item(act: Callable[[Session, Item, str], str]) -> Callable[..., None]:
        """A Save or Done button on an item card: act on the item if the presser may see it."""

        def press(
            ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
        ) -> None:
            ack()
            with services.new_session() as session:
                user, item = _pressed_item(session, body, action, context)
                text = "That item is no longer there." if item is None else act(session, item, user)
            respond(text=text, response_type="ephemeral", replace_original=False)

        return press

    def save(session: Session, item: Item, user: str) -> str:
        _, new = item_store.save_item(
            session=session, team_id=item.team_id, user_id=user, item=item, source="button", now=services.clock()
        )
        session.commit()
        link = blocks.item_link(item)
        return f"Saved {link} to your shelf." if new else f"{link} is already on your shelf."

    def done(session: Session, item: Item, user: str) -> str:
        item_store.mark_done(
            session=session, team_id=item.team_id, user_id=user, item=item, source="button", now=services.clock()
        )
        return f"Marked {blocks.item_link(item)} as done."

    app.action("item_save")(on_item(save))
    app.action("item_done")(on_item(done))

    @app.action("item_recommend")
    def open_recommend(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        with services.new_session() as session:
            user, item = _pressed_item(session, body, action, context)
        if item is None:
            client.chat_postMessage(channel=user, text="That item is no longer there to recommend.")
            return
        view = blocks.recommend_modal(
            private_metadata=json.dumps({"item_id": item.id}), item=item, links=[], preset_users=[]
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action("suggest_recommend")
    def recommend_suggested(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        user = (body.get("user") or {}).get("id", "")
        item_id, _, to_user = str(action.get("value", "")).partition(":")
        team_id = context.team_id or ""
        try:
            person = colleague(services, client, team_id, to_user)
        except NotAColleague:
            person = None
        with services.new_session() as session:
            item = item_store.visible_item(session=session, team_id=team_id, user_id=user, item_id=int(item_id or 0))
            if item is None or person is None or person.is_bot or to_user == user:
                respond(
                    text="That recommendation can't be sent any more.",
                    response_type="ephemeral",
                    replace_original=False,
                )
                return
            [sent] = recommend(
                session=session,
                team_id=team_id,
                from_user=user,
                to_users=[to_user],
                item=item,
                note=None,
                now=services.clock(),
            )
        deliver(services, client, [sent.recommendation.id or 0])
        said = "Sent" if sent.new else "You had already sent"
        respond(
            text=f"{said} {blocks.item_link(item)} to <@{to_user}>.", response_type="ephemeral", replace_original=False
        )


def _on_recommendation(services: Services, action: str) -> Any:
    def on_button(ack: Ack, body: dict[str, Any], payload: dict[str, Any], client: WebClient) -> None:
        ack()
        user = (body.get("user") or {}).get("id", "")
        try:
            with services.new_session() as session:
                rec, item = act(
                    session=session,
                    rec_id=int(payload.get("value") or 0),
                    user_id=user,
                    action=action,
                    now=services.clock(),
                )
        except NotAllowed:
            client.chat_postMessage(channel=user, text="That recommendation was sent to someone else.")
            return
        # The DM this button sits in is the recommendation itself: show what was done, in place.
        channel = (body.get("channel") or {}).get("id") or rec.dm_channel
        ts = (body.get("message") or {}).get("ts") or rec.dm_ts
        if rec.dm_channel is None or rec.dm_ts is None:
            rec.dm_channel, rec.dm_ts = channel, ts
        refresh(services, client, rec, item)

    return on_button


def _home_controls(app: App, services: Services, shelf: Shelf) -> None:
    """The digest controls on the Home tab: they take effect at once and the tab is redrawn."""

    def change(body: dict[str, Any], client: WebClient, context: BoltContext, **settings: Any) -> None:
        user = (body.get("user") or {}).get("id", "")
        team_id = context.team_id or ""
        with contextlib.suppress(NotAColleague):  # the time zone the digest is scheduled in
            colleague(services, client, team_id, user)
        with services.new_session() as session:
            person = get_person(session=session, team_id=team_id, user_id=user) or remember_person(
                session=session, team_id=team_id, user_id=user, name=None, is_bot=False, tz=None, now=services.clock()
            )
            set_digest(session=session, person=person, **settings)
        publish(services, client, team_id=team_id, user_id=user, shelf=shelf)

    @app.action("home_digest_toggle")
    def toggle(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        change(body, client, context, enabled=action.get("value") == "on")

    @app.action("home_digest_day")
    def day(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        value = (action.get("selected_option") or {}).get("value", "")
        if value.isdigit() and 0 <= int(value) <= 6:
            change(body, client, context, day=int(value))

    @app.action("home_digest_time")
    def at(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        try:
            chosen = parse_hhmm("time", str(action.get("selected_time") or ""))
        except SettingsError:
            return
        change(body, client, context, at=f"{chosen.hour:02d}:{chosen.minute:02d}")
