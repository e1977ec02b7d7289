"""Periodic jobs inside `peershelf run`, so a single process is a complete deployment."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.services import Services
from storage.db import optimize
from storage.events import forget_events_before

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.digest import PassResult

# Slack retries an event three times within about an hour; a day is a wide margin.
EVENT_ID_RETENTION = timedelta(days=1)


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


def prune_processed_events(services: Services) -> int:
    """Forget event IDs older than any retry Slack would still send."""
    with services.new_session() as session:
        removed = forget_events_before(session=session, cutoff=services.clock() - EVENT_ID_RETENTION)
    if removed:
        logger.info("forgot %d processed event ids", removed)
    return removed


def default_jobs(services: Services) -> list[Job]:
    from bot.delivery import resend_undelivered, send_due_notices

    return [
        Job("prune-processed-events", 3600, lambda: prune_processed_events(services)),
        Job("optimize-database", 3600, lambda: optimize(services.engine)),
        Job("recommendation-notices", 60, lambda: send_due_notices(services)),
        Job("undelivered-recommendations", 120, lambda: resend_undelivered(services)),
        Job("poll-feeds", 300, lambda: poll_feeds(services)),
        Job("weekly-digests", 60, lambda: run_digests(services)),
    ]


def workspaces(services: Services) -> list[str]:
    """Every workspace served: the bot token's (auth.test) in single-workspace mode, else the installs."""
    from bot.slack import web_client
    from storage.workspaces import installed_workspaces

    if services.settings.slack_bot_token:
        return [str(web_client(services.settings).auth_test()["team_id"])]
    with services.new_session() as session:
        return [w.team_id for w in installed_workspaces(session=session)]


def run_digests(services: Services, *, now: datetime | None = None, dry_run: bool = False) -> list[PassResult]:
    """One digest pass over every workspace: send each digest that is due and not yet sent."""
    from bot.delivery import client_for_team
    from bot.digest import DigestPass

    results = []
    for team_id in workspaces(services):
        client = None if dry_run else client_for_team(services, team_id)
        if client is None and not dry_run:
            logger.warning("no bot token for team %s; its digests wait", team_id)
            continue
        results.append(DigestPass(services, client).run(team_id, now=now, dry_run=dry_run))
    return results


def poll_feeds(services: Services) -> int:
    """One polling pass over the feeds that are due (each at most hourly)."""
    from bot.feeds import FeedPoller
    from bot.worker import fetcher_for

    fetcher = fetcher_for(services.settings)
    try:
        return FeedPoller(services, fetcher).poll_due()
    finally:
        fetcher.close()
