"""The background work in a process of its own: reading shared pages, polling feeds, digests,
recommendation DMs and notices (`peershelf worker`), so that none of it competes with Slack's acks.

`peershelf run` starts one worker beside the web process (`WorkerProcess`), restarts it if it
dies and stops it on the way out; a worker whose parent is gone stops by itself. Any number of
workers may share one PostgreSQL database: every piece of work is claimed before it is done.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from bot.runtime.heartbeat import Heartbeat
from bot.runtime.scheduler import Scheduler, default_jobs
from bot.runtime.workers import WorkerPool
from bot.services import Services

logger = logging.getLogger(__name__)

# How often an idle capture thread or page reader looks at its queue: the web process that fills
# them is another process, so there is nothing to wake them but the clock.
QUEUE_POLL_SECONDS = 1.0
# Capture threads (pages have one reader that reads many at once: bot.runtime.reader).
CAPTURE_THREADS = 4
SQLITE_CAPTURE_THREADS = 2
NICENESS = 10


class Background:
    """Everything `peershelf worker` runs, started and stopped together."""

    def __init__(self, services: Services, *, capture_threads: int = CAPTURE_THREADS) -> None:
        self.heartbeat = Heartbeat(services)
        self.scheduler = Scheduler(default_jobs(services))
        if services.engine.dialect.name == "sqlite":  # one writer at a time: more threads only queue for it
            capture_threads = min(capture_threads, SQLITE_CAPTURE_THREADS)
        self.pool = WorkerPool(services, threads=capture_threads, idle_seconds=QUEUE_POLL_SECONDS)

    def start(self) -> None:
        self.heartbeat.start()
        self.pool.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.pool.stop()
        self.scheduler.stop()
        self.heartbeat.stop()


def serve(services: Services, *, parent: int | None = None) -> None:
    """Run the background work until SIGTERM or SIGINT, or until process `parent` is gone."""
    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        logger.info("worker stopping (%s)", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Reading pages can take every core there is; a web process on the same machine must still
    # answer Slack within its 3 s. The worker yields whenever something else wants the CPU.
    os.nice(NICENESS)
    background = Background(services)
    background.start()
    logger.info("worker %s started: reading pages, polling feeds, sending digests and notices", os.getpid())
    while not stopping.wait(1.0):
        if parent is not None and os.getppid() != parent:
            logger.warning("the process that started this worker (%s) is gone; stopping", parent)
            break
    background.stop()


class WorkerProcess:
    """The worker `peershelf run` keeps beside its web process: restarted (after a pause that grows
    while it keeps failing) whenever it exits on its own, stopped when `stop` is called."""

    def __init__(self, command: Sequence[str] | None = None, *, max_pause: float = 30.0) -> None:
        self.command = list(command or [sys.executable, "-m", "bot.cli", "worker", "--parent", str(os.getpid())])
        self.max_pause = max_pause
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._keep_running, name="peershelf-worker-watch", daemon=True)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command)
        self._watch.start()

    def _keep_running(self) -> None:
        pause = 1.0
        while not self._stopping.is_set():
            assert self.process is not None
            started = time.monotonic()
            status = self.process.wait()
            if self._stopping.is_set():
                return
            pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, self.max_pause)
            logger.error("the worker process exited (status %s); starting another in %.0f s", status, pause)
            if self._stopping.wait(pause):
                return
            self.process = subprocess.Popen(self.command)

    def stop(self, timeout: float = 20.0) -> None:
        """Ask the worker to finish what it holds, and kill it if it has not within `timeout`."""
        self._stopping.set()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("the worker did not stop within %.0f s; killing it", timeout)
            self.process.kill()
            self.process.wait()
