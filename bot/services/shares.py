"""A message with links arrives in a channel: captured before Slack has its answer, the rest after.

Before the ack, only the database: the message's items and shares are recorded in one
transaction, so nothing accepted is lost. After it, whatever needs Slack: the workspace's address
for permalinks (asked once per workspace), the channel's default topics (conversations.info,
cached for a day), and a quiet heads-up to someone who shares what a colleague already shared.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.reading.links import canonical_url
from bot.services import Services
from bot.services.capture import Message, add_channel_topics, capture_message, duplicate_notices, fill_permalinks
from bot.services.lookups import conversation, known_private, known_workspace_url, workspace_url
from bot.slack.messages import tell
from storage import items as item_store
from storage.channels import default_topics
from storage.models import Item


def record_message(services: Services, message: Message) -> list[int]:
    """Capture the message's links and books; returns the ids of the shares it added."""
    with services.transaction() as session:
        captured = capture_message(
            session=session,
            message=message,
            now=services.clock(),
            taxonomy=services.taxonomy,
            workspace_url=lambda: known_workspace_url(services, message.team_id),
        )
    if any(c.new_item for c in captured):
        services.fetch_wakeup.set()
    return [c.share.id or 0 for c in captured if c.new_share]


def after_shares(services: Services, client: WebClient, *, team_id: str, channel_id: str, share_ids: list[int]) -> None:
    """Permalinks, channel topics and duplicate heads-ups for shares just recorded."""
    base = workspace_url(services, client, team_id)
    # A channel named or described after a topic (#eng-python) lends it to what is shared there.
    topics = default_topics(conversation(services, client, team_id, channel_id))
    with services.transaction() as session:
        fill_permalinks(session=session, share_ids=share_ids, workspace_url=base)
        if topics:
            add_channel_topics(session=session, share_ids=share_ids, topics=topics, now=services.clock())
        notices = duplicate_notices(session=session, share_ids=share_ids)
    for share, text in notices:
        tell(client, channel_id=share.channel_id, user_id=share.user_id, text=text)


def _channel_type(services: Services, team_id: str, channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "im"
    return "group" if known_private(services, team_id, channel_id) else "channel"


def item_of_link(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    links: list[str],
    chosen: str,
    channel_id: str,
    ts: str,
    thread_ts: str | None,
    author: str | None,
) -> Item | None:
    """The item behind the chosen link of a message someone acts on (the Recommend… shortcut). The
    message's links are captured first, in case Peershelf never saw it: as shared by its author,
    private unless the channel is known to be public. The person acting saw the message in Slack."""
    message = Message(
        team_id=team_id,
        channel_id=channel_id,
        channel_type=_channel_type(services, team_id, channel_id),
        user_id=author or user_id,
        ts=ts,
        thread_ts=thread_ts,
        text=" ".join(f"<{link}>" for link in links),
    )
    with services.transaction() as session:
        capture_message(
            session=session,
            message=message,
            now=services.clock(),
            taxonomy=services.taxonomy,
            workspace_url=known_workspace_url(services, team_id),
        )
        return item_store.item_by_url(session=session, team_id=team_id, canonical_url=canonical_url(chosen))
