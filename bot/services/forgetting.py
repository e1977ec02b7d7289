"""`/shelf forget me`: one person's data deleted at their word, their public shares left unnamed."""

from __future__ import annotations

import logging

from bot.services import Services
from bot.text import counted
from storage import items as item_store
from storage.forget import Forgotten, forget_person

logger = logging.getLogger(__name__)


def forget_me(services: Services, *, team_id: str, user_id: str) -> Forgotten:
    """Delete the person's data (storage.forget.forget_person) and settle the items that lost a
    save, a share, a list or a recommendation: private ones nobody holds any more disappear."""
    with services.transaction() as session:
        forgotten = forget_person(session=session, team_id=team_id, user_id=user_id)
        item_store.unquote_person(session=session, team_id=team_id, user_id=user_id)  # notes of their messages
        session.flush()
        item_store.settle_items(session=session, item_ids=forgotten.item_ids)
    logger.info("forgot person %s of team %s at their request", user_id, team_id)
    return forgotten


def summary(forgotten: Forgotten) -> str:
    parts = [counted(forgotten.saves, "save"), counted(forgotten.lists, "list"),
             counted(forgotten.recommendations, "recommendation")]  # fmt: skip
    tail = (
        f" {counted(forgotten.shares_unnamed, 'link')} you shared in public channels stay, without your name or words."
        if forgotten.shares_unnamed
        else ""
    )
    return (
        f"Done: Peershelf has forgotten you — {', '.join(parts)}, and your notes, follows, interests and "
        f"settings are deleted.{tail}"
    )
