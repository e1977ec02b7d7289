"""Who someone is: users.info, cached in the database and refreshed weekly."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from storage.directory import get_person, remember_person

logger = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class Colleague:
    user_id: str
    name: str | None
    is_bot: bool
    tz: str | None


class NotAColleague(LookupError):
    """Someone who is not a person of this workspace: unknown, deactivated, or from another organisation."""


def colleague(services: Services, client: WebClient, team_id: str, user_id: str) -> Colleague:
    """The person behind `user_id`, or NotAColleague. Bots are returned; callers decide about them."""
    with services.new_session() as session:
        known = get_person(session=session, team_id=team_id, user_id=user_id)
        if (
            known is not None
            and known.profile_refreshed_at
            and services.clock() - known.profile_refreshed_at < PROFILE_MAX_AGE
        ):
            return Colleague(user_id, known.name, known.is_bot, known.tz)
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        logger.info("users.info %s of team %s: %s", user_id, team_id, error.response.get("error"))
        raise NotAColleague(user_id) from None
    if user.get("deleted") or (
        user.get("team_id") and user.get("team_id") != team_id and not user.get("enterprise_user")
    ):
        raise NotAColleague(user_id)
    name = (user.get("profile") or {}).get("display_name") or user.get("real_name") or user.get("name")
    is_bot = bool(user.get("is_bot")) or user_id == "USLACKBOT"
    with services.new_session() as session:
        remember_person(
            session=session,
            team_id=team_id,
            user_id=user_id,
            name=name,
            is_bot=is_bot,
            tz=user.get("tz"),
            now=services.clock(),
        )
    return Colleague(user_id, name, is_bot, user.get("tz"))
