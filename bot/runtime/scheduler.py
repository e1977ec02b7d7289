"""Periodic jobs inside `peershelf run`, so a single process is a complete deployment."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.services import Services
from bot.services.digests.delivery import run_digests
from bot.services.events import prune_processed_events
from bot.services.feeds import poll_feeds
from bot.services.recommendation_dms import resend_undelivered, send_due_notices
from storage.db import optimize

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[], object]


class Scheduler:
    """Runs each job every `every_seconds`, each on its own daemon thread: a digest pass that paces
    thousands of DMs over half an hour must not hold up recommendation notices or feed polling.
    A failing run is logged and retried next time; a job never overlaps itself."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(job,), name=f"peershelf-{job.name}", daemon=True) for job in jobs
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, job: Job) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                job.run()
            except Exception:  # one bad round must not stop the job; the trace is kept
                logger.exception("scheduled job %s failed; it runs again in %ss", job.name, job.every_seconds)
            self._stop.wait(timeout=max(0.0, started + job.every_seconds - time.monotonic()))


def default_jobs(services: Services) -> list[Job]:
    return [
        Job("prune-processed-events", 3600, lambda: prune_processed_events(services)),
        Job("optimize-database", 3600, lambda: optimize(services.engine)),
        Job("recommendation-notices", 60, lambda: send_due_notices(services)),
        Job("undelivered-recommendations", 120, lambda: resend_undelivered(services)),
        Job("poll-feeds", 300, lambda: poll_feeds(services)),
        Job("weekly-digests", 60, lambda: run_digests(services)),
    ]
