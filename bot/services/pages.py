"""The metadata worker: drains the queue of items waiting for their page, in background threads.

The queue is the `item` table itself (fetch_state, next_fetch_at, claimed_until), so it survives
crashes and restarts, and several `peershelf run` processes share it without fetching one item
twice (see `storage.items.claim_items_for_fetch`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.reading.fetcher import Fetcher, FetchFailed, FetchRefused, Page
from bot.reading.kinds import kind_of
from bot.reading.links import preferred_canonical
from bot.reading.metadata import Metadata, merge_oembed, oembed_endpoint, page_metadata
from bot.reading.topics import Colleagues, TopicMatch
from bot.services import Services
from bot.services.tagging import auto_tag, colleagues, topics_with
from bot.text import clip
from storage import claims
from storage import items as item_store
from storage.models import Item

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claimed item whose worker died is taken again after this
MAX_ATTEMPTS = 8  # about 4 days of back-off in all; the item stays, with its URL as title
FIRST_RETRY = timedelta(minutes=2)
LONGEST_RETRY = timedelta(days=1)


def backoff(attempts: int) -> timedelta:
    """2 min, 4, 8 … doubling per failed attempt, at most a day."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


def drain(run_once: Callable[[], int], limit: int) -> int:
    """Run a queue's batches (`run_once` returns how many it processed) until nothing is due, or
    `limit` were processed; returns how many were."""
    done = 0
    while done < limit:
        processed = run_once()
        if not processed:
            break
        done += processed
    return done


@dataclass
class Outcome:
    state: str
    error: str | None = None


@dataclass
class Read:
    """What reading one item's page came to, waiting to be written."""

    item: Item
    outcome: Outcome
    attempts: int
    page: Page | None = None
    oembed: dict[str, Any] | None = None
    wait: timedelta | None = None  # how long the site asked us to wait (Retry-After), if it did


def read_failed(item: Item, error: Exception) -> Read:
    """The `Read` of a fetch that ended in `error`: refused for good, or tried again later."""
    if isinstance(error, FetchRefused):
        logger.info("item %s of team %s not fetched: %s", item.id, item.team_id, error)
        return Read(item, Outcome("refused", str(error)), item.fetch_attempts)
    attempts = item.fetch_attempts + 1
    if isinstance(error, FetchFailed):
        logger.info("item %s of team %s: fetch failed (%s)", item.id, item.team_id, error)
        state = "pending" if error.retryable and attempts < MAX_ATTEMPTS else "failed"
        wait = timedelta(seconds=min(error.retry_after, LONGEST_RETRY.total_seconds())) if error.retry_after else None
        return Read(item, Outcome(state, str(error)), attempts, wait=wait)
    # A bug in extraction must not kill the worker or lose the item.
    logger.error("item %s of team %s: unexpected error while reading", item.id, item.team_id, exc_info=error)
    return Read(item, Outcome("pending", f"internal error: {type(error).__name__}"), attempts)


def parse_oembed(page: Page) -> dict[str, Any] | None:
    document = json.loads(page.text())
    return document if isinstance(document, dict) else None


class MetadataWorker:
    """Claims due items and fills in their metadata, one page at a time; `run_once` for tests,
    the demo and cron-like use. `PageReader` reads many at once for `peershelf worker`."""

    def __init__(
        self,
        services: Services,
        fetcher: Fetcher,
        *,
        batch: int = 5,
        oembed: Callable[[str], str | None] = oembed_endpoint,
    ) -> None:
        self.services = services
        self.fetcher = fetcher
        self.batch = batch
        self.oembed = oembed

    def run_once(self) -> int:
        """Process one batch of due items; returns how many were processed."""
        with self.services.new_session() as session:
            claimed = item_store.claim_items_for_fetch(
                session=session, now=self.services.clock(), lease=LEASE, limit=self.batch, holder=self.services.holder
            )
        for item in claimed:
            self.process(item)
        return len(claimed)

    def drain(self, limit: int = 1000) -> int:
        """Run batches until nothing is due (or `limit` items were processed)."""
        return drain(self.run_once, limit)

    def process(self, item: Item) -> Outcome:
        try:
            page = self.fetcher.fetch(item.url)
        except Exception as error:
            read = read_failed(item, error)
        else:
            read = Read(item, Outcome("done"), item.fetch_attempts, page=page, oembed=self._oembed(item.url))
        write_reads(self.services, [read])
        return read.outcome

    def _oembed(self, url: str) -> dict[str, Any] | None:
        endpoint = self.oembed(url)
        if endpoint is None:
            return None
        try:
            return parse_oembed(self.fetcher.fetch(endpoint))
        except (FetchFailed, FetchRefused, ValueError) as error:
            logger.info("no oEmbed for %s: %s", url, error)
            return None


@dataclass
class _Understood:
    meta: Metadata
    matches: list[TopicMatch]


def _understand(read: Read, services: Services, learned: Callable[[str], Colleagues]) -> _Understood | None:
    """What the page says and the topics it gets (with its workspace's corrections, `learned`);
    outside the write transaction: on SQLite, whatever runs inside it holds the one write lock
    that Slack's acks wait for."""
    if read.page is None:
        return None
    meta = page_metadata(read.page)
    if read.oembed:
        merge_oembed(meta, read.oembed)
    preview = read.item.model_copy(update=metadata_values(read.item, read.page, meta))
    return _Understood(meta, topics_with(services.taxonomy, preview, learned(preview.team_id), keywords=meta.keywords))


class _Corrections:
    """Each workspace's corrections, read once for a batch of pages rather than once a page."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.read: dict[str, Colleagues] = {}

    def __call__(self, team_id: str) -> Colleagues:
        if team_id not in self.read:
            with self.services.new_session() as session:
                self.read[team_id] = colleagues(session, self.services.taxonomy, team_id)
        return self.read[team_id]


def write_reads(services: Services, reads: list[Read]) -> None:
    """Record how each read ended, in one short transaction; the extraction happens before it.

    An item whose page cannot be understood is tried again later like a failed fetch. If the
    transaction fails, each read is written by itself, and a read that still cannot be written
    gives its item back to the queue at once (its claim released), so nothing waits for a lease."""
    prepared: list[tuple[Read, _Understood | None]] = []
    learned = _Corrections(services)
    for read in reads:
        try:
            prepared.append((read, _understand(read, services, learned)))
        except Exception as error:
            prepared.append((read_failed(read.item, error), None))
    try:
        _write(services, prepared)
        return
    except Exception:
        if len(prepared) == 1:
            logger.exception("item %s: its page could not be recorded; giving it back", prepared[0][0].item.id)
            give_back(services, [prepared[0][0].item])
            return
        logger.exception("a batch of %d pages could not be recorded together; writing each alone", len(prepared))
    for one in prepared:
        try:
            _write(services, [one])
        except Exception:
            logger.exception("item %s: its page could not be recorded; giving it back", one[0].item.id)
            give_back(services, [one[0].item])


def give_back(services: Services, items: list[Item]) -> None:
    """Release this process's claims on `items`, for any worker to take again at once."""
    try:
        with services.new_session() as session:
            claims.give_back(session, Item, ids=[item.id or 0 for item in items], holder=services.holder)
    except Exception:  # the database is away: the heartbeat's grace frees them instead
        logger.exception("could not give back %d claimed pages", len(items))


def _write(services: Services, prepared: list[tuple[Read, _Understood | None]]) -> None:
    now = services.clock()
    with services.transaction() as session:
        for read, understood in prepared:
            _record(services, session, read, understood, now)


def _record(services: Services, session: Session, read: Read, understood: _Understood | None, now: datetime) -> None:
    item, outcome, attempts, page = read.item, read.outcome, read.attempts, read.page
    due = None
    if outcome.state == "pending":
        due = now + max(backoff(attempts), read.wait or timedelta(0))
    current = item_store.record_fetch(
        session=session,
        item_id=item.id or 0,
        state=outcome.state,
        error=clip(outcome.error, 512) if outcome.error else None,
        attempts=attempts,
        next_fetch_at=due,
        fetched=page is not None,
        now=now,
    )
    if current is None or page is None or understood is None:  # merged away meanwhile, or nothing read
        return
    meta = understood.meta
    # Built again from the row as it is now (cheap: the page was read above).
    item_store.update_metadata(session=session, item=current, values=metadata_values(current, page, meta))
    candidate = preferred_canonical(current.canonical_url, page.url, meta.canonical_url)
    # Where the link led, believed as a canonical address would be (not a bare home page
    # for a deeper link): the item answers to it too, so sharing it finds this item.
    landed = preferred_canonical(current.canonical_url, page.url, None)
    current = item_store.move_to_url(session=session, item=current, canonical_url=candidate)
    item_store.add_address(session=session, item=current, address=landed)
    auto_tag(session, services.taxonomy, current, now=now, matches=understood.matches)


def metadata_values(item: Item, page: Page, meta: Metadata) -> dict[str, Any]:
    """What the page (and its oEmbed, if any) says about itself, as item columns, clipped to fit.
    A field the page is silent on keeps what the item had."""
    values: dict[str, Any] = {
        "content_type": clip(page.content_type, 128),
        "kind": "book" if item.kind == "book" else kind_of(item.url, types=meta.types, content_type=page.content_type),
        "title": clip(meta.title, 1024) if meta.title else None,
        "description": clip(meta.description, 2000) if meta.description else None,
        "keywords": clip(", ".join(meta.keywords), 2000) if meta.keywords else None,
        "author": clip(meta.author, 512) if meta.author else None,
        "site_name": clip(meta.site_name, 255) if meta.site_name else None,
        "published_at": meta.published_at,
        "image": meta.image if meta.image and len(meta.image) <= 2048 else None,
        "language": clip(meta.language, 16) if meta.language else None,
        "duration_seconds": meta.duration_seconds,
        "isbn": meta.isbn,
    }
    return {column: value for column, value in values.items() if value}
