"""Channels that change: made private, renamed, given a new purpose.

Slack says so with a message in the channel (subtypes `channel_convert_to_private`, `channel_name`
and `channel_purpose`), which the `message.*` subscriptions already deliver. Each is recorded
when it arrives: a channel made private makes what was shared only there private at once.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.reading.topics import channel_topics
from bot.services import Services
from bot.services.capture import make_channel_private
from bot.services.messages import slack_id
from storage.channels import get_channel, remember_channel

logger = logging.getLogger(__name__)

CHANNEL_CHANGES = frozenset({"channel_convert_to_private", "channel_name", "channel_purpose"})


def channel_changed(services: Services, team_id: str, event: dict[str, Any]) -> None:
    channel_id, subtype = slack_id(event.get("channel")), event.get("subtype")
    if not channel_id:
        return
    with services.transaction() as session:
        known = get_channel(session=session, team_id=team_id, channel_id=channel_id)
        name = known.name if known else None
        purpose = known.purpose if known else None
        private = known.is_private if known else event.get("channel_type") != "channel"
        if subtype == "channel_convert_to_private":
            private = True
            changed = make_channel_private(
                session=session, team_id=team_id, channel_id=channel_id, taxonomy=services.taxonomy
            )
            logger.info("channel %s of team %s made private: %s shares now private", channel_id, team_id, changed)
        elif known is None:  # never asked about: conversations.info tells the whole of it when it is
            return
        elif subtype == "channel_name" and isinstance(event.get("name"), str):
            name = event["name"][:255]
        elif subtype == "channel_purpose" and isinstance(event.get("purpose"), str):
            purpose = event["purpose"]
        else:
            return
        remember_channel(
            session=session,
            team_id=team_id,
            channel_id=channel_id,
            name=name,
            purpose=purpose,
            is_private=private,
            # A channel's topics follow its name and purpose: #eng-python renamed #eng-go lends "go".
            default_topics=channel_topics(services.taxonomy, name, purpose),
            now=services.clock(),
        )
