"""What Slack says of people, channels and the workspace, cached in the database.

Each look-up comes in two kinds. `known_…` reads only the cache: it is what a listener may use
before Slack has its answer. The others ask Slack when the cache is missing or stale, so they
run after the ack (lazy listeners, the scheduler, the CLI).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.reading.topics import channel_topics
from bot.services import Services
from bot.slack.client import web_client
from storage.channels import get_channel, remember_channel
from storage.models import Channel
from storage.people import get_person, mark_looked_up, remember_people, remember_person
from storage.workspaces import get_workspace, has_left, installed_workspaces, upsert_workspace

logger = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(days=7)
LOOK_UP_ALONE = 20  # up to this many people, users.info each; more, users.list for all


@dataclass(frozen=True)
class Colleague:
    user_id: str
    name: str | None
    is_bot: bool
    tz: str | None
    is_admin: bool = False  # a workspace admin or owner


class NotAColleague(LookupError):
    """Someone who is not a person of this workspace: unknown, deactivated, or from another organisation."""


def known_colleague(services: Services, team_id: str, user_id: str) -> Colleague | None:
    """What was last heard from Slack about `user_id`, however old; None when never looked up."""
    with services.new_session() as session:
        known = get_person(session=session, team_id=team_id, user_id=user_id)
    if known is None or not known.profile_refreshed_at:
        return None
    return Colleague(user_id, known.name, known.is_bot, known.tz, known.is_admin)


def why_not_a_recipient(services: Services, client: WebClient, team_id: str, user_id: str) -> str | None:
    """Why `user_id` cannot be sent a recommendation or followed (a bot, not a colleague), asking
    Slack if they were not looked up lately; None when they can."""
    try:
        return "a bot" if colleague(services, client, team_id, user_id).is_bot else None
    except NotAColleague:
        return "not someone in this workspace"


def refresh_profile(services: Services, client: WebClient, team_id: str, user_id: str) -> None:
    """Make sure Slack was asked about someone lately (their time zone schedules their digest);
    someone Slack does not know as a colleague is left as they are."""
    try:
        colleague(services, client, team_id, user_id)
    except NotAColleague:
        logger.info("no profile for %s of team %s", user_id, team_id)


def colleague(services: Services, client: WebClient, team_id: str, user_id: str, *, fresh: bool = False) -> Colleague:
    """The person behind `user_id`, or NotAColleague. Bots are returned; callers decide about them.
    `fresh`: ask Slack even when the profile was read lately (for what only an admin may do)."""
    with services.new_session() as session:
        known = get_person(session=session, team_id=team_id, user_id=user_id)
        if (
            not fresh
            and known is not None
            and known.profile_refreshed_at
            and services.clock() - known.profile_refreshed_at < PROFILE_MAX_AGE
        ):
            return Colleague(user_id, known.name, known.is_bot, known.tz, known.is_admin)
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        logger.info("users.info %s of team %s: %s", user_id, team_id, error.response.get("error"))
        raise NotAColleague(user_id) from None
    found = _colleague(user, team_id)
    if found is None:
        raise NotAColleague(user_id)
    with services.new_session() as session:
        remember_person(
            session=session,
            team_id=team_id,
            user_id=user_id,
            name=found.name,
            is_bot=found.is_bot,
            tz=found.tz,
            is_admin=found.is_admin,
            now=services.clock(),
        )
    return found


def _colleague(user: dict[str, Any], team_id: str) -> Colleague | None:
    """A users.info / users.list member as a Colleague; None for the deactivated and outsiders."""
    if user.get("deleted") or (
        user.get("team_id") and user.get("team_id") != team_id and not user.get("enterprise_user")
    ):
        return None
    user_id = str(user["id"])
    name = (user.get("profile") or {}).get("display_name") or user.get("real_name") or user.get("name")
    is_bot = bool(user.get("is_bot")) or user_id == "USLACKBOT"
    is_admin = any(user.get(role) for role in ("is_admin", "is_owner", "is_primary_owner"))
    return Colleague(user_id, name, is_bot, user.get("tz"), is_admin)


def refresh(services: Services, client: WebClient, team_id: str, user_ids: list[str]) -> None:
    """Look many people up again at once. users.info is one person a call (about 100 a minute);
    users.list pages through the workspace 200 at a time, so past a handful it is far quicker: ten
    thousand people take 50 calls instead of 10,000. Anyone it does not name (a colleague from
    another workspace of the organisation) is looked up alone."""
    remaining = set(user_ids)
    unusable: list[str] = []  # deactivated, or not a colleague any more
    if len(remaining) > LOOK_UP_ALONE:
        try:
            for page in client.users_list(limit=200):
                now = services.clock()
                found = [c for c in (_colleague(m, team_id) for m in page.get("members") or []) if c is not None]
                with services.new_session() as session:
                    remember_people(
                        session=session,
                        team_id=team_id,
                        people=[(c.user_id, c.name, c.is_bot, c.tz) for c in found if c.user_id in remaining],
                        now=now,
                    )
                listed = {str(m.get("id")) for m in page.get("members") or []}
                unusable += sorted((listed & remaining) - {c.user_id for c in found})
                remaining -= listed
                if not remaining:
                    break
        except SlackApiError as error:  # what was read is kept; the rest one by one
            logger.info("users.list of team %s: %s", team_id, error.response.get("error"))
    for user_id in sorted(remaining):
        try:
            colleague(services, client, team_id, user_id)
        except NotAColleague:
            unusable.append(user_id)
    with services.new_session() as session:
        mark_looked_up(session=session, team_id=team_id, user_ids=unusable, now=services.clock())


CHANNEL_INFO_MAX_AGE = timedelta(days=1)


def known_workspace_url(services: Services, team_id: str) -> str | None:
    """The workspace's https://….slack.com/ address, if Slack told it already (`workspace_url`)."""
    with services.new_session() as session:
        workspace = get_workspace(session=session, team_id=team_id)
    return workspace.url if workspace is not None else None


def workspace_url(services: Services, client: WebClient, team_id: str) -> str | None:
    """The workspace's https://….slack.com/ address (for permalinks), asked of Slack once per workspace."""
    known = known_workspace_url(services, team_id)
    if known:
        return known
    try:
        identity = client.auth_test()
    except SlackApiError as error:
        logger.warning("auth.test failed for team %s: %s", team_id, error.response.get("error"))
        return None
    with services.new_session() as session:
        upsert_workspace(
            session=session,
            team_id=team_id,
            name=identity.get("team"),
            bot_user_id=identity.get("user_id"),
            url=identity.get("url"),
            now=services.clock(),
        )
    url: str | None = identity.get("url")
    return url


def known_conversation(services: Services, team_id: str, channel_id: str) -> Channel | None:
    """What Slack said of a channel when last asked, however old; None when never asked."""
    if channel_id.startswith("D"):
        return None
    with services.new_session() as session:
        return get_channel(session=session, team_id=team_id, channel_id=channel_id)


def known_private(services: Services, team_id: str, channel_id: str) -> bool:
    """Whether a conversation is private, from the cache alone: private when unsure."""
    found = known_conversation(services, team_id, channel_id)
    return True if found is None else found.is_private


def conversation(services: Services, client: WebClient, team_id: str, channel_id: str) -> Channel | None:
    """What Slack says of a channel (conversations.info), cached for a day; None for DMs or on error."""
    if channel_id.startswith("D"):
        return None
    with services.new_session() as session:
        cached = get_channel(session=session, team_id=team_id, channel_id=channel_id)
        if cached is not None and services.clock() - cached.refreshed_at < CHANNEL_INFO_MAX_AGE:
            return cached
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        logger.info("conversations.info %s of team %s: %s", channel_id, team_id, error.response.get("error"))
        return cached
    private = bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim") or info.get("is_group"))
    name, purpose = info.get("name"), (info.get("purpose") or {}).get("value")
    defaults = [] if info.get("is_mpim") or info.get("is_im") else channel_topics(services.taxonomy, name, purpose)
    with services.new_session() as session:
        return remember_channel(
            session=session,
            team_id=team_id,
            channel_id=channel_id,
            name=name,
            purpose=purpose,
            is_private=private,
            default_topics=defaults,
            now=services.clock(),
        )


def channel_is_private(services: Services, client: WebClient, team_id: str, channel_id: str) -> bool:
    """Whether a conversation is private (private channel, DM, group DM); private when unsure."""
    found = conversation(services, client, team_id, channel_id)
    return True if found is None else found.is_private


def workspaces(services: Services) -> list[str]:
    """Every workspace served: the bot token's (auth.test) in single-workspace mode, else the installs."""
    if services.settings.slack_bot_token:
        try:
            team_id = str(web_client(services.settings).auth_test()["team_id"])
        except SlackApiError as error:  # revoked or uninstalled: nothing to serve until a new token
            logger.warning("Slack refused SLACK_BOT_TOKEN: %s", error.response.get("error"))
            return []
        with services.new_session() as session:
            return [] if has_left(session=session, team_id=team_id) else [team_id]
    with services.new_session() as session:
        return [w.team_id for w in installed_workspaces(session=session)]
