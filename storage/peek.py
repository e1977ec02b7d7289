"""The nothing-due check of `digest run`, read through the database's own driver.

A full digest pass that finds nothing left to send records the earliest instant anything can next
fall due (storage.schedule). Until then a `digest run` from cron only reads that row, here: with
sqlite3 or psycopg directly, because importing SQLAlchemy would cost more than the whole answer.
"""

from __future__ import annotations

import hashlib
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

VERSIONS = Path(__file__).parent / "migrations" / "versions"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def basis(*, release: str, bot_token: str | None, digest_day: int, digest_time: time) -> str:
    """What a recorded next instant depends on, as a short digest (the token is not stored)."""
    served = "token:" + hashlib.sha256(bot_token.encode()).hexdigest() if bot_token else "installs"
    return hashlib.sha256(f"{release}|{served}|{digest_day}|{digest_time:%H:%M}".encode()).hexdigest()[:32]


def newest_revision() -> str:
    """The newest migration's revision, read from the file names (0001_…, 0002_…): no alembic import."""
    return max(path.name[:4] for path in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


@dataclass(frozen=True)
class Recorded:
    next_at: datetime  # nothing is due before this instant (the epoch: look now)
    version: int  # changed by every `forget`, so a pass never records over a newer change


QUERY = (
    "SELECT v.version_num, s.next_at, s.version FROM alembic_version v LEFT JOIN digest_schedule s ON s.basis = {basis}"
)


def recorded(database_url: str, basis: str) -> Recorded | None:
    """What is recorded for `basis` in the database at `database_url`; None whenever this cannot
    tell (a URL with options it does not read, no database, no schema, an older schema): the
    caller then does a full pass, which reports real problems itself."""
    parts = urlsplit(database_url)
    backend = parts.scheme.split("+")[0]
    try:
        if backend == "sqlite" and parts.scheme in ("sqlite", "sqlite+pysqlite") and not parts.query:
            import sqlite3

            path = database_url.split(":///", 1)[1] if ":///" in database_url else ""
            if not path or path == ":memory:":
                return None
            with closing(sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=10)) as connection:
                return from_row(connection.execute(QUERY.format(basis="?"), (basis,)).fetchone())
        if parts.scheme == "postgresql+psycopg":
            import psycopg

            conninfo = "postgresql" + database_url[len(parts.scheme) :]
            with psycopg.connect(conninfo, connect_timeout=10) as connection:
                return from_row(connection.execute(QUERY.format(basis="%s"), (basis,)).fetchone())
    except Exception:  # noqa: BLE001 - any doubt means a full pass, which reports real problems itself
        return None
    return None


def from_row(row: Any) -> Recorded | None:
    """A row of QUERY (version_num, next_at, version) as a Recorded, if the schema is the newest."""
    if row is None or row[0] != newest_revision() or row[1] is None:
        return None
    next_at = datetime.fromisoformat(row[1]) if isinstance(row[1], str) else row[1]  # SQLite gives text
    return Recorded(next_at.replace(tzinfo=UTC), int(row[2]))
