"""What Peershelf does, without Slack's payload shapes: one module per concern.

This package's face is `Services`, the collaborators every service, listener and worker gets:
settings, the database, a clock and the topic taxonomy.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.reading.topics import Taxonomy, load_taxonomy
from bot.settings import Settings
from storage.db import SessionFactory, make_engine, session_factory, transaction
from storage.types import utcnow

Clock = Callable[[], datetime]


@dataclass
class Services:
    """Passed into `handlers.register` and the workers; tests hand in their own clock or engine."""

    settings: Settings
    engine: Engine
    new_session: SessionFactory
    clock: Clock = field(default=utcnow)
    taxonomy: Taxonomy = field(default_factory=load_taxonomy)
    # Set when items are queued for fetching, so idle metadata workers start at once.
    fetch_wakeup: threading.Event = field(default_factory=threading.Event)
    # This process, as the holder of the work it claims (storage/claims.py).
    holder: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    def transaction(self) -> AbstractContextManager[Session]:
        """A session whose writes are committed together when the block ends (see storage.db)."""
        return transaction(self.new_session)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = utcnow) -> Services:
        engine = make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            new_session=session_factory(engine),
            clock=clock,
            taxonomy=load_taxonomy(settings.topics_file),
        )
