"""What `/shelf` does once Slack has its answer: everything that talks to Slack.

A subcommand answers from the database alone and leaves the rest in its reply's `Later`: DMs for
recommendations, checking with Slack that someone mentioned is a colleague, looking up a time
zone, uploading an export, and a digest preview (its picks read the whole workspace), which
replaces the answer. Anything that turns out not to be possible is said to the person who typed
the command, in the same channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.commands.digest import preview_reply
from bot.commands.parser import Later
from bot.services import Services
from bot.services.export import send_export
from bot.services.following import unfollow
from bot.services.lookups import refresh_profile, why_not_a_recipient
from bot.services.recommendation_dms import deliver, refused_text

logger = logging.getLogger(__name__)


def run_later(
    services: Services,
    client: WebClient,
    *,
    team_id: str,
    user_id: str,
    later: Later,
    tell: Callable[[str], None],
    show: Callable[[str, list[dict[str, Any]]], None],
) -> None:
    """Do what a reply left for after the ack; `tell` answers the person who typed the command,
    `show` replaces the answer itself."""
    if later.preview:
        try:
            reply = preview_reply(services, team_id=team_id, user_id=user_id)
        except Exception:  # the person hears of it; the trace is kept
            logger.exception("digest preview for %s of team %s failed", user_id, team_id)
            show("Your digest preview couldn't be put together just now. Try `/shelf digest` again in a minute.", [])
        else:
            show(reply.text, reply.blocks or [])
    for person in later.look_up:
        refresh_profile(services, client, team_id, person)
    for followee in later.follows:
        why = why_not_a_recipient(services, client, team_id, followee)
        if why is not None:
            unfollow(services, team_id=team_id, follower_id=user_id, followee_id=followee)
            tell(f"You can't follow <@{followee}>: {why}. Nothing was changed.")
    if later.deliver:
        delivered = deliver(services, client, list(later.deliver))
        if delivered.refused:
            tell(refused_text(delivered.refused))
    if later.export:
        send_export(services, client, team_id=team_id, user_id=user_id)
