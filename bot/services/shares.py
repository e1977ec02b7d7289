"""A message with links arrives in a channel: kept before Slack has its answer, captured after.

Before the ack, one row: the message is queued (`queue_message`), so nothing accepted is lost and
Slack's answer waits for nothing else. A worker then records its items and shares in one
transaction (`CaptureWorker`), and does whatever needs Slack: the workspace's address for
permalinks (asked once per workspace), the channel's default topics (conversations.info, cached
for a day), and a quiet heads-up to someone who shares what a colleague already shared.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from functools import partial

from slack_sdk import WebClient

from bot.reading.links import canonical_url, may_hold_links
from bot.services import Services
from bot.services.capture import (
    Message,
    add_channel_topics,
    capture_message,
    duplicate_notices,
    fill_permalinks,
    revise_message,
)
from bot.services.lookups import conversation, known_private, known_workspace_url, workspace_url
from bot.services.pages import backoff, drain
from bot.slack.client import client_for_team
from bot.slack.messages import tell
from storage import captures as capture_queue
from storage import items as item_store
from storage.channels import default_topics
from storage.models import CaptureQueue, Item

logger = logging.getLogger(__name__)

CAPTURE_LEASE = timedelta(minutes=2)  # a claimed message whose worker died is taken again (sooner: storage.claims)


def queue_message(services: Services, message: Message) -> bool:
    """At the ack: keep a message that has links or books, or an edit or deletion, for a worker to
    capture (one INSERT, all Slack waits for). False for a message with nothing to capture, which
    is not kept."""
    if not message.revised and not may_hold_links(message.text, message.blocks):
        return False
    capture_queue.add(
        services.engine,
        team_id=message.team_id,
        message=json.dumps(asdict(message)),
        key=f"{message.team_id}:{message.channel_id}:{message.ts}",
        now=services.clock(),
    )
    return True


class CaptureWorker:
    """Captures queued messages: items, shares, tags; then permalinks, channel topics and
    duplicate heads-ups, which need Slack. Runs in the worker process, beside the page readers."""

    def __init__(
        self,
        services: Services,
        *,
        batch: int = 20,
        follow_up: Callable[[Callable[[], None]], object] | None = None,
    ) -> None:
        """`follow_up` runs the part that needs Slack (default: at once, in this thread)."""
        self.services = services
        self.batch = batch
        self.follow_up = follow_up

    def run_once(self) -> int:
        with self.services.new_session() as session:
            rows = capture_queue.claim(
                session=session, now=self.services.clock(), lease=CAPTURE_LEASE, limit=self.batch,
                holder=self.services.holder,
            )  # fmt: skip
        for row in rows:
            self.capture(row)
        return len(rows)

    def drain(self, limit: int = 10_000) -> int:
        """Capture batches until nothing is queued (or `limit` messages were captured)."""
        return drain(self.run_once, limit)

    def capture(self, row: CaptureQueue) -> None:
        assert row.id is not None
        try:
            message = Message(**json.loads(row.message))
            with self.services.transaction() as session:
                # Off the queue first, in the transaction that records the capture: a message taken
                # off it since it was claimed (its author asked to be forgotten) is not captured, and
                # forgetting someone waits for a capture of theirs already under way.
                if not capture_queue.done(session=session, row_id=row.id):
                    logger.info("queued message %s was withdrawn before its capture; nothing kept", row.id)
                    return
                captured = (revise_message if message.revised else capture_message)(
                    session=session,
                    message=message,
                    now=row.received_at,  # shared when Slack delivered it, not when it was captured
                    taxonomy=self.services.taxonomy,
                    workspace_url=lambda: known_workspace_url(self.services, message.team_id),
                )
        except Exception as error:  # kept, and tried again later: nothing accepted is lost
            logger.exception("capture of queued message %s failed; tried again later", row.id)
            attempts = row.attempts + 1
            with self.services.new_session() as session:
                capture_queue.retry(
                    session=session, row_id=row.id, attempts=attempts, at=self.services.clock() + backoff(attempts),
                    error=f"{type(error).__name__}: {error}",
                )  # fmt: skip
            return
        if any(c.new_item for c in captured):
            self.services.fetch_wakeup.set()
        share_ids = [c.share.id or 0 for c in captured if c.new_share]
        if share_ids:
            task = partial(self._after, row.id, message, share_ids)
            if self.follow_up is None:
                task()
            else:
                self.follow_up(task)

    def _after(self, row_id: int, message: Message, share_ids: list[int]) -> None:
        client = client_for_team(self.services.settings, self.services.engine, message.team_id)
        if client is None:
            return
        try:
            after_shares(self.services, client, team_id=message.team_id, channel_id=message.channel_id,
                         share_ids=share_ids)  # fmt: skip
        except Exception:  # the shares are recorded; only their permalinks and heads-ups are missing
            logger.exception("after capturing queued message %s", row_id)


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
