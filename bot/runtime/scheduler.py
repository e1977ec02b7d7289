"""Periodic jobs in the worker process (`peershelf worker`, which `peershelf run` starts)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.services import Services
from bot.services.backfill import forget_old_revisions, run_waiting_backfills
from bot.services.digests.delivery import run_digests
from bot.services.events import prune_processed_events
from bot.services.feeds import poll_feeds
from bot.services.leaving import forget_departed
from bot.services.members import refresh_due_members
from bot.services.picks import refit_due
from bot.services.recommendation_dms import resend_undelivered, send_due_notices
from bot.services.roundups import run_roundups
from storage.claims import forget_heartbeats
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


def forget_stopped_processes(services: Services) -> int:
    """Forget the heartbeats of processes gone for a day (what they held was taken over long ago)."""
    with services.new_session() as session:
        return forget_heartbeats(session=session, before=services.clock() - timedelta(days=1))


# Every job that claims work looks often enough that work a dead process held is taken over
# within a minute of its last heartbeat going stale (storage.claims.GRACE); each look at nothing
# due is one query.
def default_jobs(services: Services) -> list[Job]:
    return [
        Job("prune-processed-events", 3600, lambda: prune_processed_events(services)),
        Job("forget-stopped-processes", 3600, lambda: forget_stopped_processes(services)),
        Job("forget-old-revisions", 3600, lambda: forget_old_revisions(services)),
        Job("forget-departed-workspaces", 3600, lambda: forget_departed(services)),
        Job("optimize-database", 3600, lambda: optimize(services.engine)),
        Job("recommendation-notices", 30, lambda: send_due_notices(services)),
        Job("undelivered-recommendations", 30, lambda: resend_undelivered(services)),
        Job("poll-feeds", 30, lambda: poll_feeds(services)),
        Job("weekly-digests", 30, lambda: run_digests(services)),
        Job("refit-picks", 3600, lambda: refit_due(services)),
        Job("history-imports", 30, lambda: run_waiting_backfills(services)),
        Job("channel-roundups", 30, lambda: run_roundups(services)),
        Job("channel-members", 60, lambda: refresh_due_members(services)),  # a new install's within a minute
    ]
