"""`/shelf export`: a person's own data as JSON, without other people's private data."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlmodel import Session

from bot.services import Services
from storage import items as item_store
from storage import lists as list_store
from storage import picks as pick_store
from storage import recommendations as rec_store
from storage import tags as tag_store
from storage.models import Item
from storage.people import followees, interests_of


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _item(item: Item) -> dict[str, Any]:
    return {
        "number": item.id,
        "url": item.url if item.url.startswith(("http://", "https://")) else None,
        "title": item.title,
        "kind": item.kind,
        "site": item.site_name,
        "author": item.author,
    }


def export(session: Session, *, team_id: str, user_id: str, now: datetime) -> dict[str, Any]:
    """Saves with notes, lists, subscriptions, follows, interests, what they marked *Not for me*, and
    recommendations sent and received."""
    shelf = item_store.shelf(session=session, team_id=team_id, user_id=user_id)
    tags = tag_store.tag_names(session=session, item_ids=[item.id or 0 for _, item in shelf], viewer=user_id)
    own_lists = []
    for curated in list_store.lists_of(session=session, team_id=team_id, owner_id=user_id):
        entries = list_store.list_items(session=session, curated=curated)
        own_lists.append(
            {
                "name": curated.name,
                "description": curated.description,
                "created_at": _when(curated.created_at),
                "items": [
                    {**_item(item), "note": entry.note, "added_at": _when(entry.added_at)}
                    for entry, item in entries
                    if item.is_public
                ],
            }
        )
    sent = rec_store.sent_by(session=session, team_id=team_id, user_id=user_id)
    received = rec_store.received_by(session=session, team_id=team_id, user_id=user_id)
    return {
        "exported_at": now.isoformat(),
        "team": team_id,
        "user": user_id,
        "saves": [
            {
                **_item(item),
                "status": save.status,
                "note": save.note,
                "tags": tags.get(item.id or 0, []),
                "saved_at": _when(save.saved_at),
                "done_at": _when(save.done_at),
            }
            for save, item in shelf
        ],
        "lists": own_lists,
        "subscriptions": [
            {"name": c.name, "owner": c.owner_id}
            for c in list_store.subscriptions_of(session=session, team_id=team_id, user_id=user_id)
        ],
        "follows": followees(session=session, team_id=team_id, follower_id=user_id),
        "interests": interests_of(session=session, team_id=team_id, user_id=user_id),
        "recommendations_sent": [
            {
                **_item(item),
                "to": rec.to_user_id,
                "note": rec.note,
                "sent_at": _when(rec.created_at),
                "saved_at": _when(rec.saved_at),
                "done_at": _when(rec.done_at),
                "thanked_at": _when(rec.thanked_at),
            }
            for rec, item in sent
        ],
        "not_for_me": [
            {**_item(item), "at": _when(at)}
            for item_id, at in pick_store.dismissals(session, team_id=team_id, user_id=user_id)
            if (item := item_store.visible_item(session=session, team_id=team_id, user_id=user_id, item_id=item_id))
            is not None
        ],
        "recommendations_received": [
            {**_item(item), "from": rec.from_user_id, "note": rec.note, "received_at": _when(rec.created_at)}
            for rec, item in received
        ],
    }


def export_json(session: Session, *, team_id: str, user_id: str, now: datetime) -> str:
    return json.dumps(export(session, team_id=team_id, user_id=user_id, now=now), ensure_ascii=False, indent=2)


def send_export(services: Services, client: WebClient, *, team_id: str, user_id: str) -> None:
    """Upload the person's export into their DM with Peershelf (files upload v2)."""
    with services.new_session() as session:
        document = export_json(session, team_id=team_id, user_id=user_id, now=services.clock())
    channel = client.conversations_open(users=user_id)["channel"]["id"]
    client.files_upload_v2(
        channel=channel,
        content=document,
        filename="peershelf-export.json",
        title="Your Peershelf data",
        initial_comment="Here is everything Peershelf keeps for you: saves and notes, lists, follows, "
        "interests, Not for me marks and recommendations.",
    )
