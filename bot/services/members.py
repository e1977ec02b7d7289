"""Who is in which of the channels the bot is in, so that items can be picked from the channels a
person is in ("popular in #eng-python, where you are"; what is popular in a newcomer's channels).

Slack is asked (conversations.members, for every channel users.conversations lists) when a
workspace installs the app and at most once a week after that (`refresh_due_members`, from the
scheduler), for one channel when the bot joins it or its history is imported; the join and leave
events keep it current in between. Reading it needs only channels:read and groups:read.

Who is in a channel is shown only as the channel cache's privacy allows (storage.channels
`public_channels_of`), so each channel read is also asked about (conversations.info, cached for a
day). users.conversations and conversations.members are Tier 3 and 4: not paced here, as
users.list is not; a 429 is waited out by the client's retry handler (bot.slack.client).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.services import Services
from bot.services.lookups import conversation, workspaces
from bot.slack.client import client_for_team
from storage import channels as channel_store
from storage import workspaces as workspace_store

logger = logging.getLogger(__name__)

MEMBERS_EVERY = timedelta(days=7)  # a workspace's members are read again after this
RETRY = timedelta(hours=1)  # a reading that failed, or whose process died, is tried again after this
PAGE = 200  # members (or channels) a call: Slack's advice for conversations.members


def refresh_members(services: Services, team_id: str) -> int:
    """Read from Slack who is in each channel the bot is in, in one workspace; how many channels
    were read (none when the workspace has no bot token, or left)."""
    client = client_for_team(services.settings, services.engine, team_id)
    if client is None:
        return 0
    return sum(refresh_channel(services, client, team_id, channel_id) for channel_id in bot_channels(client))


def bot_channels(client: WebClient) -> list[str]:
    """The channels, public and private, the bot is in (users.conversations)."""
    found: list[str] = []
    pages = client.users_conversations(types="public_channel,private_channel", exclude_archived=True, limit=PAGE)
    for page in pages:
        found += [str(c["id"]) for c in page.get("channels") or [] if c.get("id")]
    return found


def refresh_channel(services: Services, client: WebClient, team_id: str, channel_id: str) -> bool:
    """Read who is in one channel and keep exactly that; False when it is ignored or Slack refuses
    (the bot is not in it, it is gone), and what was known is left as it was."""
    if channel_id in services.settings.ignore_channels:
        return False
    conversation(services, client, team_id, channel_id)  # its privacy decides who may know its members
    read_at = services.clock()
    user_ids: list[str] = []
    try:
        for page in client.conversations_members(channel=channel_id, limit=PAGE):
            user_ids += [str(u) for u in page.get("members") or [] if isinstance(u, str)]
    except SlackApiError as error:
        logger.info("conversations.members %s of team %s: %s", channel_id, team_id, error.response.get("error"))
        return False
    with services.new_session() as session:
        channel_store.set_members(session=session, team_id=team_id, channel_id=channel_id, user_ids=user_ids,
                                  now=read_at)  # fmt: skip
    return True


def refresh_due_members(services: Services) -> list[str]:
    """(Scheduled) Read the members of each workspace installed since, or not read for a week; each
    claimed first, so two processes never both read one. The workspaces read."""
    now = services.clock()
    with services.new_session() as session:
        due = workspace_store.members_due(session=session, now=now)
    if not due:
        return []
    served = set(workspaces(services))  # with SLACK_BOT_TOKEN, only its own workspace
    done = []
    for team_id in due:
        with services.new_session() as session:
            if not workspace_store.claim_members(session=session, team_id=team_id, now=now, retry=RETRY):
                continue  # another process has it
        if team_id in served and not _refreshed(services, team_id):
            continue  # tried again in RETRY
        with services.new_session() as session:
            workspace_store.members_read(session=session, team_id=team_id, next_at=now + MEMBERS_EVERY)
        done.append(team_id)
    return done


def _refreshed(services: Services, team_id: str) -> bool:
    try:
        channels = refresh_members(services, team_id)
    except (SlackApiError, SlackClientError, OSError) as error:
        logger.warning("members of the channels of team %s not read yet: %s", team_id, error)
        return False
    logger.info("read the members of %s channels of team %s", channels, team_id)
    return True


def member_joined(services: Services, *, team_id: str, channel_id: str, user_id: str) -> None:
    """Someone joined a channel the bot is in (member_joined_channel)."""
    if channel_id in services.settings.ignore_channels:
        return
    with services.new_session() as session:
        channel_store.join(session=session, team_id=team_id, channel_id=channel_id, user_id=user_id,
                           now=services.clock())  # fmt: skip


def member_left(services: Services, *, team_id: str, channel_id: str, user_id: str) -> None:
    """Someone left a channel the bot is in (member_left_channel)."""
    with services.new_session() as session:
        channel_store.leave(session=session, team_id=team_id, channel_id=channel_id, user_id=user_id)


def bot_left(services: Services, *, team_id: str, channel_id: str) -> None:
    """The bot left (or was removed from) a channel: nothing keeps its members current any more."""
    with services.transaction() as session:
        channel_store.drop_members(session=session, team_id=team_id, channel_id=channel_id)


def public_channels_of(services: Services, *, team_id: str, user_ids: list[str]) -> dict[str, set[str]]:
    """The public channels each person is in, for picking items from them."""
    with services.new_session() as session:
        return channel_store.public_channels_of(session=session, team_id=team_id, user_ids=user_ids)


def members_of(services: Services, *, team_id: str, channel_ids: list[str]) -> dict[str, set[str]]:
    """Who is in each of these channels that is public."""
    with services.new_session() as session:
        return channel_store.members_of(session=session, team_id=team_id, channel_ids=channel_ids)
