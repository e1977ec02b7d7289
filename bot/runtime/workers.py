"""Threads of the worker process that capture queued messages and read shared pages, from the
durable queues (the `capture_queue` and `item` tables)."""

from __future__ import annotations

import logging
import threading

from bot.services import Services
from bot.services.pages import MetadataWorker
from bot.services.shares import CaptureWorker

logger = logging.getLogger(__name__)


class WorkerPool:
    """Threads that capture queued messages first, then read pages, each thread both."""

    def __init__(self, services: Services, *, threads: int = 2, idle_seconds: float = 2.0) -> None:
        self.services = services
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"peershelf-fetch-{n}", daemon=True) for n in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 15) -> None:
        self._stop.set()
        self.services.fetch_wakeup.set()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        fetcher = self.services.settings.fetcher()
        captures = CaptureWorker(self.services)
        pages = MetadataWorker(self.services, fetcher)
        try:
            while not self._stop.is_set():
                try:
                    # Captures first: people look for what they shared a moment ago.
                    processed = captures.run_once() or pages.run_once()
                except Exception:  # the database may be briefly away; try again shortly
                    logger.exception("worker round failed")
                    processed = 0
                if not processed:
                    self.services.fetch_wakeup.wait(self.idle_seconds)
                    self.services.fetch_wakeup.clear()
        finally:
            fetcher.close()
