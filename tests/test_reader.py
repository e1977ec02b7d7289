"""The page reader of `peershelf worker`: many pages at once, at most two per site, newest first,
a site's Retry-After honoured, and nothing held when a write fails or the worker stops."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.demo.driver import SlackDriver
from bot.reading.fetcher import AsyncFetcher, Fetcher, Page
from bot.runtime.reader import PageReader
from bot.services import Services
from bot.services.pages import MetadataWorker
from tests.conftest import offline_resolver
from tests.helpers import items, message
from tests.pageserver import PageServer


def share(driver: SlackDriver, *urls: str) -> None:
    for n, url in enumerate(urls):
        driver.event(message(f"Worth a look <{url}>", ts=f"17642{n:05d}.{uuid.uuid4().int % 10**6:06d}"))


@contextmanager
def reading(services: Services, **options: Any) -> Iterator[PageReader]:
    def fetcher() -> AsyncFetcher:
        return AsyncFetcher(timeout=5, allow_private=True, resolver=offline_resolver)

    reader = PageReader(services, fetcher=fetcher, poll_seconds=0.05, **{"host_pause": 0.0, **options})
    reader.start()
    try:
        yield reader
    finally:
        reader.stop(timeout=10)


def wait_until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def pending(services: Services) -> list[Any]:
    return [item for item in items(services) if item.fetch_state == "pending"]


def test_a_backlog_is_read_with_the_titles_pages_give(
    driver: SlackDriver, services: Services, pages: PageServer
) -> None:
    share(driver, f"{pages.url}/pages/001", f"http://localhost:{pages.port}/pages/002", f"{pages.url}/status?code=404")
    with reading(services) as reader:
        wait_until(lambda: reader.read == 3)
    by_path = {item.url.rsplit(str(pages.port), 1)[1]: item for item in items(services)}
    assert by_path["/pages/001"].fetch_state == "done"
    assert "Get your Frontend JavaScript Code Covered" in (by_path["/pages/001"].title or "")
    assert by_path["/pages/002"].fetch_state == "done"
    assert by_path["/status?code=404"].fetch_state == "failed"
    assert all(item.claimed_until is None for item in items(services))


def test_no_site_gets_more_than_two_requests_at_once(
    driver: SlackDriver, services: Services, pages: PageServer
) -> None:
    run = uuid.uuid4().hex[:8]
    on_one = [f"{pages.url}/slow-page?seconds=0.3&n={run}{n}" for n in range(6)]
    on_other = [f"http://localhost:{pages.port}/slow-page?seconds=0.3&n={run}{n}" for n in range(6)]
    share(driver, *on_one, *on_other)
    pages.busiest.clear()
    with reading(services) as reader:
        wait_until(lambda: reader.read == 12)
    # Two at once on each of the two sites: pages are read side by side, never more per site.
    assert pages.busiest == {f"127.0.0.1:{pages.port}": 2, f"localhost:{pages.port}": 2}
    assert not pending(services)


def test_a_site_with_many_links_waiting_does_not_hold_up_the_others(
    driver: SlackDriver, services: Services, pages: PageServer
) -> None:
    run = uuid.uuid4().hex[:8]
    others = [f"http://localhost:{pages.port}/pages/001?other={run}{n}" for n in range(3)]
    crowded = [f"{pages.url}/slow-page?seconds=0.2&crowded={run}{n}" for n in range(12)]
    share(driver, *others, *crowded)  # the crowded site's links are the newest
    with reading(services, window=6, held_per_host=2):
        wait_until(lambda: not pending(services))
    asked = [path for path in pages.log if run in path]
    assert len(asked) == 15  # each page read once, the crowded site's given back for its turn
    first_others = max(asked.index(path) for path in asked if "other=" in path)
    assert first_others < 6  # the other site was read while the crowded one still had most waiting
    assert all(item.fetch_state == "done" for item in items(services))


def test_the_newest_share_is_read_first(driver: SlackDriver, services: Services, pages: PageServer) -> None:
    run = uuid.uuid4().hex[:8]
    paths = [f"/pages/001?order={run}{n}" for n in range(4)]
    share(driver, *(pages.url + path for path in paths))
    with reading(services, per_host=1, in_flight=1, window=1) as reader:
        wait_until(lambda: reader.read == 4)
    assert [path for path in pages.log if run in path] == paths[::-1]


def test_a_site_asking_for_rest_gets_it(driver: SlackDriver, services: Services, pages: PageServer) -> None:
    run = uuid.uuid4().hex[:8]
    waiting = f"{pages.url}/pages/002?rest={run}"
    busy = f"{pages.url}/status?code=503&retry=600&n={run}"
    share(driver, waiting, busy)  # the busy one is newer: read first, and its site asks for 10 minutes
    before = services.clock()
    with reading(services, per_host=1) as reader:
        wait_until(lambda: reader.read == 2)
    assert not [path for path in pages.log if path.endswith(f"rest={run}")]  # never asked meanwhile
    by_url = {item.url: item for item in items(services)}
    for url, attempts in ((busy, 1), (waiting, 0)):
        item = by_url[url]
        assert (item.fetch_state, item.fetch_attempts, item.claimed_until) == ("pending", attempts, None)
        assert item.next_fetch_at is not None and item.next_fetch_at >= before + timedelta(seconds=590)


def test_a_write_that_fails_gives_its_pages_back_at_once(
    driver: SlackDriver, services: Services, pages: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    share(driver, f"{pages.url}/pages/001?w=1", f"{pages.url}/pages/002?w=2")

    def locked(*_args: object) -> None:
        raise OperationalError("UPDATE item", {}, Exception("database is locked"))

    monkeypatch.setattr("bot.services.pages._write", locked)
    with reading(services) as reader:
        wait_until(lambda: reader.read == 2)
    assert [(i.fetch_state, i.fetch_attempts, i.claimed_until) for i in items(services)] == [("pending", 0, None)] * 2
    monkeypatch.undo()
    # Free at once, not after a lease: the next round takes them and reads them.
    worker = MetadataWorker(services, Fetcherless())
    assert worker.run_once() == 2


class Fetcherless(Fetcher):
    """A fetcher that needs no network: every page says the same."""

    def fetch(self, url: str, **_: object) -> Any:
        return Page(url, 200, "text/html", "utf-8", b"<title>Read at last</title>", False)


def test_stopping_gives_back_what_is_being_read(driver: SlackDriver, services: Services, pages: PageServer) -> None:
    run = uuid.uuid4().hex[:8]
    share(driver, *(f"{pages.url}/slow-page?seconds=30&n={run}{n}" for n in range(3)))
    with reading(services) as reader:
        wait_until(lambda: len([path for path in pages.log if run in path]) == 2)  # two at once on a site
        started = time.monotonic()
    assert time.monotonic() - started < 3  # it did not wait for the slow pages
    assert reader.read == 0
    assert [(i.fetch_state, i.claimed_until, i.claimed_by) for i in items(services)] == [("pending", None, None)] * 3
