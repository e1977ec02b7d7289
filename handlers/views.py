"""Modal submissions: the Recommend… modal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.reading.links import canonical_url
from bot.services import Services
from bot.services.capture import Message, capture_message
from bot.services.lookups import NotAColleague, channel_is_private, colleague, workspace_url
from bot.services.recommendation_dms import deliver
from bot.services.recommendations import recommend
from bot.text import clip
from storage import items as item_store
from storage.models import Item


def register(app: App, services: Services) -> None:
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        user = (body.get("user") or {}).get("id", "")
        team_id = context.team_id or ""
        values = (view.get("state") or {}).get("values") or {}
        chosen = ((values.get("people") or {}).get("users") or {}).get("selected_users") or []
        note = ((values.get("note") or {}).get("text") or {}).get("value")
        choice = (((values.get("link") or {}).get("choice") or {}).get("selected_option") or {}).get("value")
        meta = json.loads(view.get("private_metadata") or "{}")
        problems = []
        for person in chosen:
            if person == user:
                problems.append("You can't recommend something to yourself.")
                continue
            try:
                if colleague(services, client, team_id, person).is_bot:
                    problems.append(f"<@{person}> is a bot.")
            except NotAColleague:
                problems.append(f"<@{person}> isn't in this workspace.")
        if not chosen:
            problems.append("Choose at least one colleague.")
        if problems:
            ack(response_action="errors", errors={"people": " ".join(problems)[:150]})
            return
        item = _item(services, client, team_id, user, meta, choice)
        if item is None:
            ack(response_action="errors", errors={"people": "That link can't be recommended any more."})
            return
        with services.new_session() as session:
            sent = recommend(
                session=session,
                team_id=team_id,
                from_user=user,
                to_users=chosen,
                item=item,
                note=clip(note, 1000) if note else None,
                now=services.clock(),
            )
        context["deliver"] = [s.recommendation.id for s in sent if s.new]
        ack()

    def send(context: BoltContext, client: WebClient) -> None:
        if context.get("deliver"):
            deliver(services, client, context["deliver"])

    app.view("recommend_modal")(ack=submit, lazy=[send])


def _item(
    services: Services, client: WebClient, team_id: str, user: str, meta: dict[str, Any], choice: str | None
) -> Item | None:
    """The item the modal is about: given by number, or the chosen link of the message it came from."""
    with services.new_session() as session:
        if "item_id" in meta:
            return item_store.visible_item(session=session, team_id=team_id, user_id=user, item_id=int(meta["item_id"]))
    links = meta.get("links") or []
    if not links:
        return None
    link = links[int(choice or 0) if str(choice or "0").isdigit() and int(choice or 0) < len(links) else 0]
    channel = meta.get("channel", "")
    private = channel_is_private(services, client, team_id, channel)
    message = Message(
        team_id=team_id,
        channel_id=channel,
        channel_type="im" if channel.startswith("D") else ("group" if private else "channel"),
        user_id=meta.get("author") or user,
        ts=meta.get("ts", ""),
        thread_ts=meta.get("thread_ts"),
        text=" ".join(f"<{url}>" for url in links),
    )
    url = workspace_url(services, client, team_id)
    with services.new_session() as session:
        capture_message(
            session=session, message=message, now=services.clock(), taxonomy=services.taxonomy, workspace_url=url
        )
        return item_store.item_by_url(session=session, team_id=team_id, canonical_url=canonical_url(link))
