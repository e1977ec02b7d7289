"""The worker process's queues: threads that capture queued messages, and the page reader, from
the durable queues (the `capture_queue` and `item` tables)."""

from __future__ import annotations

import logging
import threading

from bot.runtime.reader import PageReader
from bot.services import Services
from bot.services.shares import CaptureWorker

logger = logging.getLogger(__name__)


class WorkerPool:
    """Capture threads, which people wait on (what they shared a moment ago), and one page
    reader, which reads many pages at once (bot.runtime.reader)."""

    def __init__(self, services: Services, *, threads: int = 2, idle_seconds: float = 2.0) -> None:
        self.services = services
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._capture, name=f"peershelf-capture-{n}", daemon=True) for n in range(threads)
        ]
        self.reader = PageReader(services, poll_seconds=idle_seconds)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        self.reader.start()

    def stop(self, timeout: float = 15) -> None:
        self._stop.set()
        self.services.fetch_wakeup.set()
        self.reader.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)

    def _capture(self) -> None:
        captures = CaptureWorker(self.services)
        while not self._stop.is_set():
            try:
                processed = captures.run_once()
            except Exception:  # the database may be briefly away; try again shortly
                logger.exception("capture round failed")
                processed = 0
            if not processed:
                self._stop.wait(self.idle_seconds)
