"""Buttons: Save / Done / Thanks on recommendations, Save / Done / Recommend on item cards,
suggested colleagues, and the digest controls of the Home tab.

Each button's change is made before Slack gets its answer; what it shows (a reply, a modal, an
updated DM, a redrawn Home tab) is sent from a lazy listener once Slack has it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.commands.parser import Shelf
from bot.services import Services
from bot.services.backfill import start_history_import
from bot.services.digests.slots import change_preferences
from bot.services.forgetting import forget_me, summary
from bot.services.lookups import refresh_profile
from bot.services.recommendation_dms import deliver, refresh, refused_text
from bot.services.recommendations import NotAllowed, act, recommend_suggested, recommendable
from bot.services.saving import done_pressed, not_for_me_pressed, save_pressed
from bot.slack import blocks
from bot.slack.home import HISTORY_IMPORT
from handlers.events import publish
from handlers.fields import number_in, user_of

REC_ACTIONS = {"rec_save": "save", "rec_done": "done", "rec_thanks": "thanks"}


def _reply(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def register(app: App, services: Services, shelf: Shelf) -> None:
    _forget_buttons(app, services)
    _item_buttons(app, services, shelf)
    _recommendation_buttons(app, services)
    _home_controls(app, services, shelf)


def _forget_buttons(app: App, services: Services) -> None:
    """The buttons of `/shelf forget me`: whoever presses forgets only themselves (the message is
    ephemeral, seen by the person who asked)."""

    def ack_forget(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        user_id = user_of(body)
        if context.team_id and user_id:
            context["said"] = summary(forget_me(services, team_id=context.team_id, user_id=user_id))
        ack()

    def ack_keep(ack: Ack, context: BoltContext) -> None:
        context["said"] = "Nothing was deleted."
        ack()

    def replace(context: BoltContext, respond: Respond) -> None:
        if context.get("said"):
            respond(text=context["said"], response_type="ephemeral", replace_original=True)

    app.action(blocks.FORGET_ME)(ack=ack_forget, lazy=[replace])
    app.action(blocks.FORGET_ME_NOT)(ack=ack_keep, lazy=[replace])


def _item_buttons(app: App, services: Services, shelf: Shelf) -> None:
    def on_item(press: Callable[..., str]) -> tuple[Callable[..., None], Callable[..., None]]:
        """A Save or Done button on an item card: done at once, said once Slack has its answer."""

        def ack_press(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
            context["said"] = press(
                services, team_id=context.team_id or "", user_id=user_of(body), item_id=number_in(action.get("value"))
            )
            ack()

        def say(context: BoltContext, respond: Respond) -> None:
            _reply(respond, context["said"])

        return ack_press, say

    for action_id, press in (("item_save", save_pressed), ("item_done", done_pressed)):
        ack_press, say = on_item(press)
        app.action(action_id)(ack=ack_press, lazy=[say])

    def ack_not_for_me(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        context["said"], context["link"] = not_for_me_pressed(
            services, team_id=context.team_id or "", user_id=user_of(body), item_id=number_in(action.get("value"))
        )
        ack()

    def fold(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        """The digest updates in place: the card folds into a line. On the Home tab, it is redrawn."""
        link = context.get("link")
        if (body.get("view") or {}).get("type") == "home":
            publish(services, client, team_id=context.team_id or "", user_id=user_of(body), shelf=shelf)
            return
        message = body.get("message") or {}
        channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        folded = blocks.waved_off(message.get("blocks") or [], number_in(action.get("value")), link or "")
        if link is None or folded is None or not channel or not message.get("ts"):
            _reply(respond, context["said"])
            return
        fallback = message.get("text") or "Your weekly Peershelf digest"
        client.chat_update(channel=channel, ts=message["ts"], text=fallback, blocks=folded)

    app.action(blocks.NOT_FOR_ME)(ack=ack_not_for_me, lazy=[fold])

    def ack_recommend(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        context["item"] = recommendable(
            services, team_id=context.team_id or "", user_id=user_of(body), item_id=number_in(action.get("value"))
        )
        ack()

    def open_recommend(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        item = context.get("item")
        if item is None:
            client.chat_postMessage(channel=user_of(body), text="That item is no longer there to recommend.")
            return
        item_id, title = item
        view = blocks.recommend_modal(
            private_metadata=json.dumps({"item_id": item_id}), title=title, links=[], preset_users=[]
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    app.action("item_recommend")(ack=ack_recommend, lazy=[open_recommend])

    def ack_suggested(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        item_id, _, to_user = str(action.get("value", "")).partition(":")
        context["said"], context["deliver"] = recommend_suggested(
            services,
            team_id=context.team_id or "",
            from_user=user_of(body),
            to_user=to_user,
            item_id=number_in(item_id),
        )
        ack()

    def send_suggested(context: BoltContext, client: WebClient, respond: Respond) -> None:
        delivered = deliver(services, client, context.get("deliver") or [])
        _reply(respond, refused_text(delivered.refused) if delivered.refused else context["said"])

    app.action("suggest_recommend")(ack=ack_suggested, lazy=[send_suggested])


def _recommendation_buttons(app: App, services: Services) -> None:
    def on_button(action: str) -> tuple[Callable[..., None], Callable[..., None]]:
        def ack_button(ack: Ack, body: dict[str, Any], payload: dict[str, Any], context: BoltContext) -> None:
            try:
                act(services, rec_id=number_in(payload.get("value")), user_id=user_of(body), action=action)
                context["acted"] = True
            except NotAllowed:
                context["acted"] = False
            ack()

        def show(body: dict[str, Any], payload: dict[str, Any], context: BoltContext, client: WebClient) -> None:
            if not context.get("acted"):
                client.chat_postMessage(channel=user_of(body), text="That recommendation was sent to someone else.")
                return
            # The DM this button sits in is the recommendation itself: show what was done, in place.
            refresh(
                services,
                client,
                rec_id=number_in(payload.get("value")),
                channel=(body.get("channel") or {}).get("id"),
                ts=(body.get("message") or {}).get("ts"),
            )

        return ack_button, show

    for action_id, action in REC_ACTIONS.items():
        ack_button, show = on_button(action)
        app.action(action_id)(ack=ack_button, lazy=[show])


def _home_controls(app: App, services: Services, shelf: Shelf) -> None:
    """The digest controls on the Home tab: they take effect at once and the tab is redrawn."""

    def change(body: dict[str, Any], context: BoltContext, **settings: Any) -> None:
        change_preferences(services, team_id=context.team_id or "", user_id=user_of(body), **settings)

    def toggle(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        change(body, context, enabled=action.get("value") == "on")
        ack()

    def day(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        value = str((action.get("selected_option") or {}).get("value", ""))
        if value.isdigit() and len(value) == 1:
            change(body, context, day=int(value))
        ack()

    def at(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        change(body, context, at=str(action.get("selected_time") or ""))
        ack()

    def redraw(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        team_id, user_id = context.team_id or "", user_of(body)
        refresh_profile(services, client, team_id, user_id)  # the time zone the digest is scheduled in
        publish(services, client, team_id=team_id, user_id=user_id, shelf=shelf)

    for action_id, listener in (("home_digest_toggle", toggle), ("home_digest_day", day), ("home_digest_time", at)):
        app.action(action_id)(ack=listener, lazy=[redraw])

    def ack_import(ack: Ack) -> None:
        ack()

    def start_import(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """An admin's one click: every public channel the bot is in, the last 90 days, run by a worker."""
        team_id, user_id = context.team_id or "", user_of(body)
        start_history_import(services, client, team_id=team_id, user_id=user_id)
        publish(services, client, team_id=team_id, user_id=user_id, shelf=shelf)

    app.action(HISTORY_IMPORT)(ack=ack_import, lazy=[start_import])
