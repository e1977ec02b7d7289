"""Modal submissions: the Recommend… modal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.services import Services
from bot.services.recommendation_dms import deliver, refused_text
from bot.services.recommendations import ModalTarget, submit_modal
from handlers.fields import number_in, user_of

MAX_ERROR = 150  # Slack shows at most this much of an input's error


def _target(view: dict[str, Any], values: dict[str, Any]) -> ModalTarget:
    """What the modal is about, from the private_metadata the modal was opened with."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    choice = (((values.get("link") or {}).get("choice") or {}).get("selected_option") or {}).get("value")
    return ModalTarget(
        item_id=number_in(meta.get("item_id")) or None,
        links=tuple(str(link) for link in meta.get("links") or [] if isinstance(link, str)),
        chosen=number_in(choice),
        channel_id=str(meta.get("channel") or ""),
        ts=str(meta.get("ts") or ""),
        thread_ts=meta.get("thread_ts") if isinstance(meta.get("thread_ts"), str) else None,
        author=meta.get("author") if isinstance(meta.get("author"), str) else None,
    )


def register(app: App, services: Services) -> None:
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        values = (view.get("state") or {}).get("values") or {}
        chosen = ((values.get("people") or {}).get("users") or {}).get("selected_users") or []
        note = ((values.get("note") or {}).get("text") or {}).get("value")
        problem, deliver_ids = submit_modal(
            services,
            team_id=context.team_id or "",
            from_user=user_of(body),
            to_users=[str(user) for user in chosen],
            note=str(note) if note else None,
            target=_target(view, values),
        )
        if problem:
            ack(response_action="errors", errors={"people": problem[:MAX_ERROR]})
            return
        context["deliver"] = deliver_ids
        ack()

    def send(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        delivered = deliver(services, client, context.get("deliver") or [])
        if delivered.refused:  # the modal is closed by now: the sender hears it in a DM
            client.chat_postMessage(channel=user_of(body), text=refused_text(delivered.refused))

    app.view("recommend_modal")(ack=submit, lazy=[send])
