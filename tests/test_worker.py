"""The metadata queue: pages read in the background, retried with back-off, never lost, never twice."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from bot.demo.driver import SlackDriver
from bot.reading.fetcher import Fetcher
from bot.services import Services
from bot.services.pages import LEASE, MAX_ATTEMPTS, MetadataWorker, backoff
from storage.db import make_engine, session_factory
from tests.conftest import offline_resolver
from tests.helpers import items, message, reply_text
from tests.pageserver import PageServer


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_page_that_fails_is_retried_with_back_off_and_recovers(
    driver: SlackDriver, services: Services, pages: PageServer, fetcher: Fetcher
) -> None:
    clock = Clock()
    services.clock = clock
    run = uuid.uuid4().hex[:8]  # the page server outlives the test; its counters must not be shared
    driver.event(message(f"<{pages.url}/flaky?id={run}&fail=2>", ts="1764237800.000100"))
    worker = MetadataWorker(services, fetcher)

    assert worker.run_once() == 1
    [item] = items(services)
    assert (item.fetch_state, item.fetch_attempts, item.title) == ("pending", 1, None)
    assert item.next_fetch_at == clock.now + backoff(1)
    assert worker.run_once() == 0  # not due yet

    clock.now += backoff(1)
    worker.run_once()
    assert items(services)[0].next_fetch_at == clock.now + backoff(2)
    clock.now += backoff(2)
    worker.run_once()
    [item] = items(services)
    assert (item.fetch_state, item.title) == ("done", f"Back again {run}")


def test_a_page_that_keeps_failing_keeps_its_url_as_title(
    driver: SlackDriver, services: Services, pages: PageServer, fetcher: Fetcher
) -> None:
    clock = Clock()
    services.clock = clock
    url = f"{pages.url}/flaky?id={uuid.uuid4().hex[:8]}&fail=1000"
    driver.event(message(f"<{url}>", ts="1764237800.000200"))
    worker = MetadataWorker(services, fetcher)
    for _ in range(MAX_ATTEMPTS):
        worker.run_once()
        clock.now += timedelta(days=1)
    [item] = items(services)
    assert (item.fetch_state, item.fetch_attempts) == ("failed", MAX_ATTEMPTS)
    assert url in reply_text(driver.command("search flaky"))  # still there, its URL standing in for a title


def test_a_link_to_an_internal_address_is_captured_but_never_fetched(
    driver: SlackDriver, services: Services, pages: PageServer
) -> None:
    driver.event(message("<http://169.254.169.254/latest/meta-data/> look", ts="1764237800.000300"))
    production_rule = Fetcher(resolver=offline_resolver)
    MetadataWorker(services, production_rule).drain()
    [item] = items(services)
    assert item.fetch_state == "refused"
    assert "internal address" in (item.fetch_error or "")
    assert "169.254.169.254" in reply_text(driver.command("search meta data", user="U0ANA0001"))


def test_a_pdf_is_recorded_by_type(
    driver: SlackDriver, services: Services, pages: PageServer, worker: MetadataWorker
) -> None:
    driver.event(message(f"<{pages.url}/paper.pdf>", ts="1764237800.000400"))
    worker.drain()
    [item] = items(services)
    assert (item.content_type, item.title, item.fetch_state) == ("application/pdf", "paper.pdf", "done")


def test_queued_items_survive_a_restart(
    driver: SlackDriver, services: Services, pages: PageServer, fetcher: Fetcher
) -> None:
    driver.event(message(f"<{pages.url}/pages/001>", ts="1764237800.000500"))
    # A new process: its own engine and sessions on the same database.
    engine = make_engine(services.settings.database_url)
    try:
        restarted = Services(settings=services.settings, engine=engine, new_session=session_factory(engine))
        assert MetadataWorker(restarted, fetcher).drain() == 1
    finally:
        engine.dispose()
    assert (items(services)[0].title or "").startswith("Get your Frontend JavaScript Code Covered")


def test_an_item_claimed_by_a_worker_that_died_is_taken_again_after_the_lease(
    driver: SlackDriver, services: Services, pages: PageServer, fetcher: Fetcher
) -> None:
    clock = Clock()
    services.clock = clock
    driver.event(message(f"<{pages.url}/pages/002>", ts="1764237800.000600"))
    from storage.items import claim_items_for_fetch

    with services.new_session() as session:
        assert len(claim_items_for_fetch(session=session, now=clock.now, lease=LEASE, limit=5)) == 1  # then it dies
    worker = MetadataWorker(services, fetcher)
    assert worker.run_once() == 0
    clock.now += LEASE + timedelta(seconds=1)
    assert worker.run_once() == 1
    assert items(services)[0].fetch_state == "done"


def test_an_item_held_by_a_worker_that_stopped_beating_is_taken_over_long_before_its_lease_ends(
    driver: SlackDriver, services: Services, pages: PageServer, fetcher: Fetcher
) -> None:
    from storage.claims import GRACE, beat
    from storage.items import claim_items_for_fetch

    clock = Clock()
    services.clock = clock
    driver.event(message(f"<{pages.url}/pages/002>", ts="1764237800.000700"))
    with services.new_session() as session:  # another worker beats, claims the page …
        beat(session=session, holder="worker-a", now=clock.now)
        assert len(claim_items_for_fetch(session=session, now=clock.now, lease=LEASE, limit=5, holder="worker-a")) == 1
    worker = MetadataWorker(services, fetcher)
    clock.now += GRACE / 2
    with services.new_session() as session:
        beat(session=session, holder="worker-a", now=clock.now)
    clock.now += GRACE / 2 + timedelta(seconds=1)
    assert worker.run_once() == 0  # … and is alive: its last beat is recent, the page stays its own
    clock.now += GRACE  # … then beats no more (kill -9): the page is free long before LEASE
    assert GRACE * 3 < LEASE
    assert worker.run_once() == 1
    assert items(services)[0].fetch_state == "done"


def test_a_worker_that_stops_cleanly_frees_what_it_held_at_once(
    driver: SlackDriver, services: Services, pages: PageServer, fetcher: Fetcher
) -> None:
    from bot.runtime.heartbeat import Heartbeat
    from storage.items import claim_items_for_fetch

    clock = Clock()
    services.clock = clock
    driver.event(message(f"<{pages.url}/pages/002>", ts="1764237800.000800"))
    other = Services(settings=services.settings, engine=services.engine, new_session=services.new_session, clock=clock)
    with Heartbeat(other), other.new_session() as session:
        claim_items_for_fetch(session=session, now=clock.now, lease=LEASE, limit=5, holder=other.holder)
        assert MetadataWorker(services, fetcher).run_once() == 0  # held by a live process
    assert MetadataWorker(services, fetcher).run_once() == 1  # it stopped: no wait at all


def test_two_workers_never_fetch_the_same_item(driver: SlackDriver, services: Services, pages: PageServer) -> None:
    run = uuid.uuid4().hex[:8]
    for n in range(12):
        driver.event(message(f"<{pages.url}/flaky?id={run}-{n}&fail=0>", ts=f"1764237900.{n:06d}"))
    start = threading.Barrier(3)

    def work() -> None:
        fetcher = Fetcher(allow_private=True, resolver=offline_resolver)
        worker = MetadataWorker(services, fetcher, batch=2)
        start.wait()
        worker.drain()
        fetcher.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(item.fetch_state == "done" for item in items(services))
    assert [pages.hits[f"flaky:{run}-{n}"] for n in range(12)] == [1] * 12


def test_a_page_naming_its_canonical_address_merges_into_that_item(
    driver: SlackDriver, services: Services, pages: PageServer, worker: MetadataWorker
) -> None:
    driver.event(message(f"<{pages.url}/canon/main>", ts="1764238000.000100"))
    driver.event(message(f"<{pages.url}/canon/print-version>", user="U0BEN0001", ts="1764238000.000200"))
    driver.command(f"save {pages.url}/canon/print-version my note", user="U0BEN0001")
    worker.drain()
    [item] = items(services)
    assert item.canonical_url == f"{pages.url}/canon/main"
    mine = reply_text(driver.command("mine", user="U0BEN0001"))
    assert f"`{item.id}`" in mine and "The main page" in mine
    assert f"`{item.id}`" in reply_text(driver.command("search note", user="U0BEN0001"))


def test_oembed_names_a_video_whose_page_says_little(
    services: Services, pages: PageServer, fetcher: Fetcher, driver: SlackDriver
) -> None:
    driver.event(message(f"<{pages.url}/video-page>", ts="1764238100.000100"))

    def endpoint(url: str) -> str | None:
        return f"{pages.url}/oembed.json" if url.endswith("/video-page") else None

    MetadataWorker(services, fetcher, oembed=endpoint).drain()
    [item] = items(services)
    assert (item.title, item.author, item.duration_seconds, item.kind) == (
        "Real Video Title",
        "Some Channel",
        125,
        "video",
    )


def test_oembed_endpoints_for_youtube_and_vimeo() -> None:
    from bot.reading.metadata import oembed_endpoint

    assert oembed_endpoint("https://youtu.be/dQw4w9WgXcQ") == (
        "https://www.youtube.com/oembed?format=json&url=https%3A%2F%2Fyoutu.be%2FdQw4w9WgXcQ"
    )
    assert (
        oembed_endpoint(
            "https://vimeo.com/76979871",
        )
        == "https://vimeo.com/api/oembed.json?url=https%3A%2F%2Fvimeo.com%2F76979871"
    )
    assert oembed_endpoint("https://example.com/video") is None
