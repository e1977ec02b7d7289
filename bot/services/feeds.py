"""RSS/Atom in and out: lists follow feeds (polled politely), and every list is an Atom feed."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser
from bs4 import BeautifulSoup
from sqlmodel import Session

from bot.progress import Progress
from bot.reading.fetcher import Fetcher, FetchFailed, FetchRefused
from bot.reading.kinds import kind_of
from bot.reading.links import canonical_url
from bot.services import Services
from bot.services.tagging import auto_tag
from bot.text import clip
from storage import items as item_store
from storage import lists as list_store
from storage.models import CuratedList, Feed, Item

logger = logging.getLogger(__name__)

POLL_EVERY = timedelta(hours=1)  # at most hourly per feed, whatever calls the poller
LEASE = timedelta(minutes=10)
LONGEST_BACKOFF = timedelta(days=1)
FIRST_POLL_ENTRIES = 5  # a newly followed feed adds its latest few entries, not its whole archive


@dataclass(frozen=True)
class PollResult:
    added: int
    error: str | None = None


def _plain(html: str | None) -> str | None:
    if not html:
        return None
    text = " ".join(BeautifulSoup(html, "lxml").get_text(" ").split())
    return clip(text, 2000) or None


def _entry_key(entry: Any, link: str | None) -> str:
    """The entry's id, else its canonical link, else a digest of what it says (feeds without ids)."""
    if entry.get("id"):
        return str(entry["id"])
    if link:
        return canonical_url(link)
    digest = hashlib.sha256(f"{entry.get('title', '')}|{entry.get('published', '')}".encode()).hexdigest()
    return f"sha256:{digest}"


class FeedPoller:
    def __init__(self, services: Services, fetcher: Fetcher) -> None:
        self.services = services
        self.fetcher = fetcher
        self.progress: Progress | None = None

    def poll_due(self, limit: int = 50) -> int:
        """Poll every feed whose hour has come (or that failed and waited out its back-off)."""
        now = self.services.clock()
        with self.services.new_session() as session:
            holder = self.services.holder
            feeds = list_store.claim_feeds(session=session, now=now, lease=LEASE, limit=limit, holder=holder)
        if self.progress is not None:
            self.progress.grow(len(feeds))
        added = 0
        for feed in feeds:
            added += self.poll(feed).added
            if self.progress is not None:
                self.progress.update(1)
        return added

    def poll(self, feed: Feed) -> PollResult:
        try:
            page = self.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        except (FetchRefused, FetchFailed) as error:
            return self._failed(feed, str(error))
        if page.not_modified:
            return self._done(
                feed, added=0, etag=page.etag or feed.etag, modified=page.last_modified or feed.last_modified
            )
        parsed = feedparser.parse(page.body, response_headers={"content-location": page.url})
        if not parsed.entries and (parsed.bozo or not parsed.feed):
            reason = getattr(parsed, "bozo_exception", None) or "no entries"
            return self._failed(feed, f"not a readable RSS or Atom feed ({reason})")
        added = self._add_entries(feed, parsed, page.url)
        title = clip(str(parsed.feed["title"]), 1024) if parsed.feed.get("title") else None
        return self._done(feed, added=added, etag=page.etag, modified=page.last_modified, title=title)

    def _add_entries(self, feed: Feed, parsed: Any, base: str) -> int:
        now = self.services.clock()
        first_poll = feed.last_polled_at is None
        entries = list(parsed.entries)
        fresh_keys = {id(e) for e in entries[:FIRST_POLL_ENTRIES]} if first_poll else None
        added = 0
        with self.services.transaction() as session:
            curated = list_store.get_list(session=session, list_id=feed.list_id)
            if curated is None:
                return 0
            for entry in reversed(entries):  # oldest first, so the list keeps the feed's order
                link = urljoin(base, str(entry["link"])) if entry.get("link") else None
                key = _entry_key(entry, link)
                if list_store.known_entry(session=session, feed=feed, key=key):
                    continue
                item = None
                wanted = fresh_keys is None or id(entry) in fresh_keys
                if wanted and link and link.startswith(("http://", "https://")):
                    item = self._item(session, curated, entry, link, now)
                    _, new = list_store.add_to_list(
                        session=session,
                        curated=curated,
                        item=item,
                        note=None,
                        by=feed.created_by or curated.owner_id,
                        now=now,
                    )
                    added += int(new)
                list_store.seen_entry(session=session, feed=feed, key=key, item_id=item.id if item else None, now=now)
        if added:
            self.services.fetch_wakeup.set()
        return added

    def _item(self, session: Session, curated: CuratedList, entry: Any, link: str, now: datetime) -> Item:
        item, new = item_store.get_or_create_item(
            session=session,
            team_id=curated.team_id,
            canonical_url=canonical_url(link),
            url=link,
            kind=kind_of(link),
            title=clip(_plain(entry.get("title")) or "", 1024) or None,
            description=_plain(entry.get("summary")),
            now=now,
        )
        # A feed entry is public web content added to a list everyone in the workspace can see.
        item_store.make_public(session=session, item=item)
        if new:
            auto_tag(session, self.services.taxonomy, item, now=now)
        return item

    def _failed(self, feed: Feed, error: str) -> PollResult:
        logger.info("feed %s (%s) failed: %s", feed.id, feed.url, error)
        failures = feed.error_count + 1  # the claim is ours: nobody else changed the row meanwhile
        retry_at = self.services.clock() + min(POLL_EVERY * (2 ** (failures - 1)), LONGEST_BACKOFF)
        with self.services.new_session() as session:
            list_store.feed_failed(
                session=session, feed_id=feed.id or 0, error=clip(error, 512), failures=failures, retry_at=retry_at
            )
        return PollResult(0, error)

    def _done(
        self, feed: Feed, *, added: int, etag: str | None, modified: str | None, title: str | None = None
    ) -> PollResult:
        now = self.services.clock()
        with self.services.new_session() as session:
            list_store.feed_polled(
                session=session,
                feed_id=feed.id or 0,
                etag=clip(etag, 255) if etag else None,
                last_modified=clip(modified, 64) if modified else None,
                title=title,
                now=now,
                next_poll_at=now + POLL_EVERY,
            )
        return PollResult(added)


def poll_feeds(services: Services, *, progress: Progress | None = None) -> int:
    """One polling pass over the feeds that are due (each at most hourly)."""
    fetcher = services.settings.fetcher()
    try:
        poller = FeedPoller(services, fetcher)
        poller.progress = progress
        return poller.poll_due()
    finally:
        fetcher.close()
