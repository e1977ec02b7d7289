"""A process saying, every few seconds, that it is alive: the work it has claimed stays its own
while it beats, and is taken over soon after it stops (storage.claims)."""

from __future__ import annotations

import logging
import os
import threading
from types import TracebackType

from bot.services import Services
from storage.claims import BEAT, beat, stop_beating

logger = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="peershelf-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._beat()  # before any claim is made
        self._thread.start()
        return self

    def stop(self) -> None:
        """A clean stop: what this process still holds is free for others at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        try:
            with self.services.new_session() as session:
                stop_beating(session=session, holder=self.services.holder)
        except Exception:  # the database is away: the holder is judged gone after GRACE anyway
            logger.warning("could not record that this process stopped", exc_info=True)

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _beat(self) -> None:
        with self.services.new_session() as session:
            beat(session=session, holder=self.services.holder, now=self.services.clock(), pid=os.getpid())

    def _loop(self) -> None:
        while not self._stop.wait(BEAT.total_seconds()):
            try:
                self._beat()
            except Exception:  # the database may be briefly away; beat again next time
                logger.warning("heartbeat not recorded", exc_info=True)
