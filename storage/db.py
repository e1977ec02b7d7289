"""Engine and session set-up; the one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Result, Select, String, Text, TypeDecorator, any_, bindparam, event, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000

SessionFactory = Callable[[], Session]
T = TypeVar("T")

# Values per `IN (…)` in one statement: SQLite allows a limited number of bound parameters
# (999 in older builds), and bulk reads pass thousands of ids.
IN_CHUNK = 900


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers and one writer work at once; several threads (and `digest run` from cron)
    # share one file, so writers wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# While Slack waits, the write lock is polled this often instead of by SQLite's busy handler,
# whose waits grow to 100 ms between tries: under a busy worker, an ack then takes the first gap
# between two of the worker's transactions rather than sleeping through several.
ACK_LOCK_POLL_SECONDS = 0.0005


def write_now(engine: Engine, statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
    """Run one write statement, committed by itself, for a request Slack is waiting on; the rows it
    returns (RETURNING), if any."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name != "sqlite":
            result = connection.execute(statement, params)
            return list(result) if result.returns_rows else []
        connection.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
            while True:
                try:
                    result = connection.execute(statement, params)
                    return list(result) if result.returns_rows else []
                except OperationalError as error:
                    if "locked" not in str(error.orig) or time.monotonic() > deadline:
                        raise
                time.sleep(ACK_LOCK_POLL_SECONDS)
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


YIELD_SHARE = 0.5  # a background process on SQLite leaves a gap of this share of each write transaction's length
YIELD_AT_MOST = 0.05
_WRITES = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


class _WriteTurns:
    """One write transaction at a time among a process's threads, with a gap after each."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.lock = threading.Lock()
        self.quiet_until = 0.0

    def take(self, info: dict[str, Any]) -> None:
        if "turn_since" in info:
            return
        # Waiting longer than SQLite's own busy timeout would only hide a transaction that never
        # ends; then the write goes ahead and SQLite's lock decides, as without turns.
        taken = self.lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        quiet = self.quiet_until - time.monotonic()
        if quiet > 0:
            time.sleep(quiet)
        info["turn_since"] = time.monotonic() if taken else None

    def give_back(self, info: dict[str, Any]) -> None:
        if "turn_since" not in info:
            return
        since = info.pop("turn_since")
        if since is not None:
            self.quiet_until = time.monotonic() + min((time.monotonic() - since) * self.share, YIELD_AT_MOST)
            self.lock.release()


def yield_to_acks(engine: Engine, *, share: float = YIELD_SHARE) -> None:
    """For a process that writes in the background (the worker) to a SQLite `engine`: its threads
    write one transaction at a time, and after each the next waits `share` of the time it took.
    SQLite has one write lock for the whole file; left to themselves the worker's threads hand it
    to each other back to back (one pausing after its commit only lets the next in), and an ack
    that Slack waits for finds it free only by luck. The turn is taken at a transaction's first
    write, when SQLite takes its lock too, and given back as it commits or rolls back (or its
    connection goes back to the pool). Background writes are slowed by at most a third; acks get
    gaps. Nothing changes on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    turns = _WriteTurns(share)

    @event.listens_for(engine, "before_cursor_execute")
    def writing(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        if _WRITES.match(statement):
            turns.take(connection.info)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def ending(connection: Any) -> None:
        turns.give_back(connection.info)

    @event.listens_for(engine, "checkin")
    @event.listens_for(engine, "invalidate")
    def returned(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        turns.give_back(record.info)


def _begin_before_savepoint(connection: Any, name: str) -> None:
    # pysqlite opens a transaction only before INSERT, UPDATE or DELETE. A SAVEPOINT outside one
    # opens its own, which its RELEASE commits: "get or create" (a savepoint around an insert) as
    # the first write of a transaction would commit at once, and give up the write lock, whatever
    # the transaction did next. So the transaction is begun first, as it is on PostgreSQL.
    raw = connection.connection.dbapi_connection
    if not raw.in_transaction:
        raw.execute("BEGIN")


def read_for_update(
    session: Session, statement: Select[*tuple[Any, ...]], *, touch: Any, key_share: bool = False
) -> Result[*tuple[Any, ...]]:
    """Run `statement` (a SELECT of one table, its WHERE picking the rows) so that what it reads
    is the rows as they are now, and nobody else changes them before this transaction ends.

    PostgreSQL: FOR UPDATE (with `key_share`, FOR NO KEY UPDATE, which a new row referring to
    these does not wait for). SQLite has one lock, the file's, taken at a transaction's first write;
    pysqlite runs the statements before that outside any transaction, each seeing whatever was last
    committed. So a write that changes nothing (`touch`, a column of the table, set to itself)
    comes first, and the read and everything after it see the file as nobody else can change it."""
    if session.get_bind().dialect.name == "sqlite":
        same = update(touch.table).where(statement.whereclause).values({touch.name: touch})  # type: ignore[arg-type]
        session.execute(same.execution_options(synchronize_session=False))
        return session.execute(statement)
    return session.execute(statement.with_for_update(key_share=key_share))


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url` with the per-backend settings Peershelf relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "savepoint", _begin_before_savepoint)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def session_factory(engine: Engine) -> SessionFactory:
    def new_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return new_session


@contextmanager
def transaction(new_session: SessionFactory) -> Iterator[Session]:
    """A session whose writes are committed together when the block ends, or not at all when it
    raises: for a service that records several things as one (a message's items, tags and shares)."""
    with new_session() as session:
        yield session
        session.commit()


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)`, written `column = ANY(:values)` on PostgreSQL: one array parameter
    however many values. Composing and sending a query with hundreds of parameters costs more than
    running it, and the bulk reads of a digest pass make thousands of them."""
    if session.get_bind().dialect.name == "postgresql":
        # Strings as text[]: a cast to varchar(n)[] would silently cut a longer value to a prefix.
        kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
        element = Text() if isinstance(kind, String) else column.type
        return column == any_(bindparam(None, list(values), type_=ARRAY(element)))
    return column.in_(values)


def chunked(values: Sequence[T]) -> Iterator[list[T]]:
    """`values` in slices of at most IN_CHUNK, for bulk reads and writes by id."""
    for start in range(0, len(values), IN_CHUNK):
        yield list(values[start : start + IN_CHUNK])


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not answering"; the caller reports it
        return False
    return True


def optimize(engine: Engine) -> None:
    """Keep the query planner's statistics fresh. PostgreSQL's autovacuum does this by itself;
    SQLite needs asking (without statistics it scans a whole workspace's items for a search)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            # A sampled ANALYZE: quick on a large file, and all the planner needs.
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
