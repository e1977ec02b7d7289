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
from datetime import timedelta
from typing import Any

from bot.reading.fetcher import Fetcher, FetchFailed, FetchRefused, Page
from bot.reading.kinds import kind_of
from bot.reading.links import preferred_canonical
from bot.reading.metadata import Metadata, merge_oembed, oembed_endpoint, page_metadata
from bot.services import Services
from bot.services.tagging import auto_tag, topics_of
from bot.text import clip
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


class MetadataWorker:
    """Claims due items and fills in their metadata; `run_once` for tests and cron-like use."""

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
        except FetchRefused as refused:
            logger.info("item %s of team %s not fetched: %s", item.id, item.team_id, refused)
            return self._finish(item, Outcome("refused", str(refused)))
        except FetchFailed as failed:
            logger.info("item %s of team %s: fetch failed (%s)", item.id, item.team_id, failed)
            attempts = item.fetch_attempts + 1
            state = "pending" if failed.retryable and attempts < MAX_ATTEMPTS else "failed"
            return self._finish(item, Outcome(state, str(failed)), attempts=attempts)
        except Exception as error:  # a bug in extraction must not kill the worker or lose the item
            logger.exception("item %s of team %s: unexpected error while fetching", item.id, item.team_id)
            return self._finish(
                item, Outcome("pending", f"internal error: {type(error).__name__}"), attempts=item.fetch_attempts + 1
            )
        return self._finish(item, Outcome("done"), page=page, oembed=self._oembed(item.url))

    def _oembed(self, url: str) -> dict[str, Any] | None:
        endpoint = self.oembed(url)
        if endpoint is None:
            return None
        try:
            page = self.fetcher.fetch(endpoint)
            document = json.loads(page.text())
        except (FetchFailed, FetchRefused, ValueError) as error:
            logger.info("no oEmbed for %s: %s", url, error)
            return None
        return document if isinstance(document, dict) else None

    def _finish(
        self,
        item: Item,
        outcome: Outcome,
        *,
        attempts: int | None = None,
        page: Page | None = None,
        oembed: dict[str, Any] | None = None,
    ) -> Outcome:
        now = self.services.clock()
        attempts = item.fetch_attempts if attempts is None else attempts
        # Reading the page and tagging it happen before the write transaction: on SQLite, whatever
        # runs inside it holds the one write lock that Slack's acks wait for.
        meta = matches = None
        if page is not None:
            meta = page_metadata(page)
            if oembed:
                merge_oembed(meta, oembed)
            preview = item.model_copy(update=metadata_values(item, page, meta))
            with self.services.new_session() as session:
                matches = topics_of(session, self.services.taxonomy, preview, keywords=meta.keywords)
        with self.services.transaction() as session:
            current = item_store.record_fetch(
                session=session,
                item_id=item.id or 0,
                state=outcome.state,
                error=clip(outcome.error, 512) if outcome.error else None,
                attempts=attempts,
                next_fetch_at=now + backoff(attempts) if outcome.state == "pending" else None,
                fetched=page is not None,
                now=now,
            )
            if current is None or page is None or meta is None:  # merged away meanwhile, or nothing read
                return outcome
            # Built again from the row as it is now (cheap: the page was read above).
            item_store.update_metadata(session=session, item=current, values=metadata_values(current, page, meta))
            candidate = preferred_canonical(current.canonical_url, page.url, meta.canonical_url)
            # Where the link led, believed as a canonical address would be (not a bare home page
            # for a deeper link): the item answers to it too, so sharing it finds this item.
            landed = preferred_canonical(current.canonical_url, page.url, None)
            current = item_store.move_to_url(session=session, item=current, canonical_url=candidate)
            item_store.add_address(session=session, item=current, address=landed)
            auto_tag(session, self.services.taxonomy, current, now=now, matches=matches)
        return outcome


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
