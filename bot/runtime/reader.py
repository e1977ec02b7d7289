"""The page reader of `peershelf worker`: many pages at once in one thread, politely.

Reading a page is mostly waiting for its site, so one event loop waits for many at a time
(`AsyncFetcher`, with every check of the safe fetcher) instead of a thread per page:

- it holds at most `window` claimed items, newest first (`storage.items.claim_items_for_fetch`),
  renewing their leases while they wait their turn; of one host it holds at most
  `held_per_host`, and gives the rest of that host's back to the queue, each due at the time its
  turn will come (so a site with thousands of links waiting never fills the window while other
  sites wait);
- at most `per_host` requests go to one host at once, each slot resting `host_pause` seconds
  between two requests, and a host that answers 429 or 503 with Retry-After is left alone that
  long (what of it is held goes back to the queue, due then, when that is more than a moment);
- at most `in_flight` pages are being read or wait to be written, so memory stays bounded
  whatever the backlog: about `in_flight` × the pages' size (SHELF_FETCH_MAX_BYTES at most);
- results are written by one database thread in short transactions of at most `write_batch`
  pages (`bot.services.pages.write_reads`); one that fails gives its items back at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from bot.reading.fetcher import AsyncFetcher, FetchFailed, FetchRefused
from bot.reading.metadata import oembed_endpoint
from bot.services import Services
from bot.services.pages import LEASE, Outcome, Read, give_back, parse_oembed, read_failed, write_reads
from storage import claims
from storage import items as item_store
from storage.models import Item

logger = logging.getLogger(__name__)

T = TypeVar("T")

PER_HOST = 2  # requests to one host at once
HOST_PAUSE = 0.25  # seconds a host's slot rests after each request
IN_FLIGHT = 64  # pages being read or waiting to be written
WINDOW = 256  # claimed items held, waiting for a slot or being read
HELD_PER_HOST = 8  # of them, for one host
FIRST_GUESS = 0.5  # seconds a request takes, before a host has answered one
WRITE_BATCH = 16  # pages written in one transaction at most
SQLITE_WRITE_BATCH = 8  # shorter transactions where Slack's acks wait for the same lock
POLL_SECONDS = 1.0  # how often an idle reader looks at the queue
LONG_WAIT = 30.0  # a host asking for a longer rest than this gets its held items given back
RENEW_EVERY = LEASE / 3


class _Deferred(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the site asked for {seconds:.0f} s of rest")
        self.seconds = seconds


class Hosts:
    """Per-host slots: at most `per_host` requests at once, a rest after each, and the rest a
    host asks for with Retry-After."""

    def __init__(self, *, per_host: int = PER_HOST, pause: float = HOST_PAUSE) -> None:
        self.per_host = per_host
        self.pause = pause
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._waiting: dict[str, int] = defaultdict(int)
        self._resting_until: dict[str, float] = {}
        self.busiest = 0  # the most requests one host ever had at once (the bench reads it)
        self._busy: dict[str, int] = defaultdict(int)
        self._took: dict[str, float] = {}  # how long the host's requests take, on average lately

    def rate(self, host: str) -> float:
        """Requests a second the host gets from us, as its answers have been coming lately."""
        return self.per_host / (self._took.get(host, FIRST_GUESS) + self.pause)

    def rest(self, host: str, seconds: float) -> None:
        """The host asked us to wait `seconds` before asking again."""
        until = time.monotonic() + seconds
        self._resting_until[host] = max(self._resting_until.get(host, 0.0), until)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
        self._waiting[host] += 1
        try:
            async with semaphore:
                resting = self._resting_until.get(host, 0.0) - time.monotonic()
                if resting > LONG_WAIT:
                    raise _Deferred(resting)
                if resting > 0:
                    await asyncio.sleep(resting)
                self._busy[host] += 1
                self.busiest = max(self.busiest, self._busy[host])
                began = time.monotonic()
                try:
                    yield
                finally:
                    self._busy[host] -= 1
                    took = time.monotonic() - began
                    self._took[host] = 0.8 * self._took.get(host, took) + 0.2 * took
                    await asyncio.sleep(self.pause)
        finally:
            self._waiting[host] -= 1
            if not self._waiting[host]:  # forget idle hosts: a long import meets thousands
                del self._waiting[host]
                self._slots.pop(host, None)
                self._busy.pop(host, None)
                if len(self._took) > 10_000:
                    self._took.clear()
                if self._resting_until.get(host, 0.0) < time.monotonic():
                    self._resting_until.pop(host, None)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class PageReader:
    """Reads the queue's pages in a thread of its own until `stop`; see the module's docstring."""

    def __init__(
        self,
        services: Services,
        *,
        fetcher: Callable[[], AsyncFetcher] | None = None,
        oembed: Callable[[str], str | None] = oembed_endpoint,
        per_host: int = PER_HOST,
        host_pause: float = HOST_PAUSE,
        in_flight: int = IN_FLIGHT,
        window: int = WINDOW,
        held_per_host: int = HELD_PER_HOST,
        write_batch: int | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.services = services
        self.new_fetcher = fetcher or services.settings.async_fetcher
        self.oembed = oembed
        self.hosts = Hosts(per_host=per_host, pause=host_pause)
        self.in_flight = in_flight
        self.window = window
        self.held_per_host = held_per_host
        self._claim_at = max(1, min(window // 4, 32))  # claim when this much of the window is free
        sqlite = services.engine.dialect.name == "sqlite"
        self.write_batch = write_batch or (SQLITE_WRITE_BATCH if sqlite else WRITE_BATCH)
        self.poll_seconds = poll_seconds
        self.read = 0  # pages whose reading was recorded (the bench reads it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peershelf-pages", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15) -> None:
        """Stop claiming, give back what is not being read, write what was read, and end."""
        self._stop.set()
        self.services.fetch_wakeup.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            logger.exception("the page reader stopped on an error")

    async def _main(self) -> None:
        # One thread for the database: claims, renewals and writes, one at a time, in order.
        self._db = ThreadPoolExecutor(1, thread_name_prefix="peershelf-pages-db")
        self._fetcher = self.new_fetcher()
        self._held: dict[int, Item] = {}
        self._held_on: dict[str, int] = defaultdict(int)  # held items per host
        self._booked: dict[str, float] = {}  # per host, when the last item given back will get its turn
        self._tasks: set[asyncio.Task[None]] = set()
        self._flight = asyncio.Semaphore(self.in_flight)
        self._results: asyncio.Queue[tuple[Read, bool] | None] = asyncio.Queue()
        writer = asyncio.create_task(self._write_loop())
        try:
            await self._claim_loop()
        finally:
            for task in self._tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._results.put(None)
            await writer
            left = list(self._held.values())
            if left:
                await self._in_db(give_back, self.services, left)
            await self._fetcher.aclose()
            self._db.shutdown(wait=True)

    async def _in_db(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, function, *args)

    async def _claim_loop(self) -> None:
        renewed = time.monotonic()
        while not self._stop.is_set():
            room = self.window - len(self._held)
            claimed: list[Item] = []
            if room >= self._claim_at:
                try:
                    claimed = await self._in_db(self._claim, room)
                except Exception:  # the database may be briefly away; try again shortly
                    logger.exception("claiming pages failed")
            later: dict[int, datetime] = {}
            for item in claimed:
                if item.id is None or item.id in self._held:
                    continue
                host = _host(item.url)
                if self._held_on[host] >= self.held_per_host:
                    later[item.id] = self._turn(host)
                    continue
                self._held[item.id] = item
                self._held_on[host] += 1
                task = asyncio.create_task(self._read(item))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if later:
                try:
                    await self._in_db(self._put_off, later)
                except Exception:  # they stay claimed until the lease ends; nothing is lost
                    logger.exception("giving back %d pages for their sites' turn failed", len(later))
            if time.monotonic() - renewed > RENEW_EVERY.total_seconds() and self._held:
                try:
                    await self._in_db(self._renew, list(self._held))
                    renewed = time.monotonic()
                except Exception:
                    logger.exception("renewing page claims failed")
            if not claimed or room < self._claim_at:
                await asyncio.get_running_loop().run_in_executor(None, self._idle)

    def _idle(self) -> None:
        self.services.fetch_wakeup.wait(self.poll_seconds)
        self.services.fetch_wakeup.clear()

    def _claim(self, room: int) -> list[Item]:
        with self.services.new_session() as session:
            return item_store.claim_items_for_fetch(
                session=session, now=self.services.clock(), lease=LEASE, limit=room, holder=self.services.holder
            )

    def _turn(self, host: str) -> datetime:
        """When an item of `host` beyond what is held for it will get its turn: after those held
        and those already given back, at the rate the host is read."""
        rate = self.hosts.rate(host)
        now = time.monotonic()
        start = max(self._booked.get(host, 0.0), now + self._held_on[host] / rate)
        self._booked[host] = start + 1 / rate
        if len(self._booked) > 10_000:
            self._booked = {h: t for h, t in self._booked.items() if t > now}
        return self.services.clock() + timedelta(seconds=self._booked[host] - now)

    def _put_off(self, due: dict[int, datetime]) -> None:
        with self.services.new_session() as session:
            item_store.put_off_fetches(session=session, due=due, holder=self.services.holder)

    def _renew(self, ids: list[int]) -> None:
        with self.services.new_session() as session:
            until = self.services.clock() + LEASE
            claims.renew(session, Item, ids=ids, holder=self.services.holder, until=until)

    async def _read(self, item: Item) -> None:
        """Read one item's page in its host's turn; the writer frees its place in the flight
        once it is written, so pages waiting to be written count against `in_flight` too."""
        flying = False
        try:
            async with self.hosts.slot(_host(item.url)):
                await self._flight.acquire()
                flying = True
                read = await self._fetch(item)
        except _Deferred as deferred:
            wait = timedelta(seconds=deferred.seconds)
            read = Read(item, Outcome("pending", str(deferred)), item.fetch_attempts, wait=wait)
        except asyncio.CancelledError:
            if flying:
                self._flight.release()
            raise  # stopping: `_main` gives back what is still held
        except Exception as error:
            read = read_failed(item, error)
        self._results.put_nowait((read, flying))

    async def _fetch(self, item: Item) -> Read:
        try:
            page = await self._fetcher.fetch(item.url)
        except FetchFailed as failed:
            if failed.retry_after:
                self.hosts.rest(_host(item.url), failed.retry_after)
            return read_failed(item, failed)
        except Exception as error:
            return read_failed(item, error)
        return Read(item, Outcome("done"), item.fetch_attempts, page=page, oembed=await self._oembed(item.url))

    async def _oembed(self, url: str) -> dict[str, Any] | None:
        endpoint = self.oembed(url)
        if endpoint is None:
            return None
        try:
            return parse_oembed(await self._fetcher.fetch(endpoint))
        except (FetchFailed, FetchRefused, ValueError) as error:
            logger.info("no oEmbed for %s: %s", url, error)
            return None

    async def _write_loop(self) -> None:
        done = False
        while not done:
            batch: list[tuple[Read, bool]] = []
            first = await self._results.get()
            if first is None:
                break
            batch.append(first)
            while len(batch) < self.write_batch and not self._results.empty():
                more = self._results.get_nowait()
                if more is None:
                    done = True
                    break
                batch.append(more)
            reads = [read for read, _ in batch]
            try:
                await self._in_db(write_reads, self.services, reads)
            except Exception:  # write_reads gives back what it cannot write; this is a last guard
                logger.exception("writing %d pages failed", len(reads))
            self.read += len(reads)
            for read, flying in batch:
                if self._held.pop(read.item.id or 0, None) is not None:
                    host = _host(read.item.url)
                    self._held_on[host] -= 1
                    if not self._held_on[host]:
                        del self._held_on[host]
                if flying:
                    self._flight.release()
