"""Fixtures: a real database per test (SQLite and PostgreSQL), the fake Slack, the running app.

Every test that asks for `database_url` (directly or through `services`, `driver`, …) runs once
on SQLite and once on PostgreSQL. PostgreSQL comes from PEERSHELF_TEST_POSTGRES_URL (default: the
local server); a fresh database is created for the run and dropped after it. Where it cannot be
reached the PostgreSQL half is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from slack_bolt import App
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import BOT_TOKEN, FakeSlack
from bot.reading.fetcher import Fetcher, FetchFailed, IPAddress
from bot.runtime.app import create_app
from bot.runtime.server import ServerThread, build_asgi
from bot.services import Services
from bot.services.pages import MetadataWorker
from bot.services.shares import CaptureWorker
from bot.settings import Settings
from storage import migrate
from storage.db import make_engine, session_factory
from tests.pageserver import PageServer, page_server

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
POSTGRES_URL = os.environ.get("PEERSHELF_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b.strip() for b in os.environ.get("PEERSHELF_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "peershelf.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run."""
    name = f"peershelf_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(libpq(POSTGRES_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(url: str) -> None:
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a SQLite file, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        path = tmp_path / "peershelf.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.add_user("U0ANA0001", "Ana", tz="Europe/Lisbon")
    fake.add_user("U0BEN0001", "Ben", tz="America/New_York")
    fake.add_channel("C0GENERAL1", "general", purpose="Company-wide announcements")
    yield fake
    fake.stop()


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=database_url,
        fetch_allow_private=True,
    )


@pytest.fixture
def services(settings: Settings, engine: Engine) -> Services:
    return Services(settings=settings, engine=engine, new_session=session_factory(engine))


def _drain(app: App, timeout: float = 10.0) -> None:
    """Let the app's listener threads (lazy listeners after the ack) finish before the next test
    empties the database under them: a TRUNCATE racing a leftover query can deadlock."""
    executor = app.listener_runner.listener_executor
    executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + timeout
    for thread in list(getattr(executor, "_threads", ())):
        thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def bolt_app(services: Services) -> Iterator[App]:
    app = create_app(services)
    yield app
    _drain(app)


@pytest.fixture
def app_url(bolt_app: App, services: Services) -> Iterator[str]:
    with ServerThread(build_asgi(bolt_app, services)) as server:
        yield server.url


@pytest.fixture
def serve_with(
    services: Services, slack: FakeSlack, follow_ups: ThreadPoolExecutor
) -> Iterator[Callable[..., SlackDriver]]:
    """Serve the app with some settings changed: `serve_with(ignore_channels=…)` gives a driver."""
    started: list[tuple[ServerThread, SlackDriver]] = []

    def serve(**changes: object) -> SlackDriver:
        changed = Services(
            settings=dataclasses.replace(services.settings, **changes),  # type: ignore[arg-type]
            engine=services.engine,
            new_session=services.new_session,
            clock=services.clock,
        )
        app = create_app(changed)
        server = ServerThread(build_asgi(app, changed)).__enter__()
        driver = SlackDriver(
            server.url, SIGNING_SECRET, response_url=slack.response_url, then=capture_now(changed, follow_ups)
        )
        started.append((server, driver))
        apps.append(app)
        return driver

    apps: list[App] = []
    yield serve
    for app in apps:
        _drain(app)
    for server, driver in started:
        driver.close()
        server.__exit__()


@pytest.fixture
def follow_ups() -> Iterator[ThreadPoolExecutor]:
    """Where the captures' Slack calls run in tests: beside the test, as they run beside the
    capture in a worker, so a test may hold Slack while it looks at what was captured."""
    executor = ThreadPoolExecutor(4, thread_name_prefix="peershelf-follow-up")
    yield executor
    executor.shutdown(wait=True)


@pytest.fixture
def driver(app_url: str, slack: FakeSlack, services: Services, follow_ups: ThreadPoolExecutor) -> Iterator[SlackDriver]:
    then = capture_now(services, follow_ups)
    driver = SlackDriver(app_url, SIGNING_SECRET, response_url=slack.response_url, then=then)
    yield driver
    driver.close()


@pytest.fixture
def quiet(app_url: str, slack: FakeSlack) -> Iterator[SlackDriver]:
    """A driver after whose answers nothing is captured: messages wait in the capture queue until
    the test runs a CaptureWorker (to look at what happens while one is queued, or half captured)."""
    driver = SlackDriver(app_url, SIGNING_SECRET, response_url=slack.response_url)
    yield driver
    driver.close()


def capture_now(services: Services, follow_ups: ThreadPoolExecutor) -> Callable[[], object]:
    """What a worker does within a second of Slack's answer (capturing queued messages), done as
    soon as the answer is in, so that a test can look at its result."""
    return CaptureWorker(services, follow_up=follow_ups.submit).drain


def _loopback(host: object) -> bool:
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """No test reaches out, not even DNS: anything but loopback fails loudly."""
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            raise OSError(f"tests do not reach the network ({address[0]})")
        real_connect(sock, address)

    def numeric(host: str) -> bool:  # an address however written: no lookup needed
        try:
            socket.inet_aton(host)
        except OSError:
            return _loopback(host) or ":" in host
        return True

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not numeric(host.decode() if isinstance(host, bytes) else str(host)):
            raise socket.gaierror(socket.EAI_NONAME, f"tests do not look up {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign, assignment]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]
    socket.getaddrinfo = real_getaddrinfo


def offline_resolver(host: str, port: int) -> list[IPAddress]:
    """Name resolution for tests: the loopback page server only. No test reaches out, not even DNS."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    if host in ("localhost", "pages.test"):
        return [ipaddress.ip_address("127.0.0.1")]
    raise FetchFailed(f"{host}: no network in tests", retryable=True)


@pytest.fixture(scope="session")
def pages() -> Iterator[PageServer]:
    with page_server() as server:
        yield server


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    fetcher = Fetcher(timeout=5, max_bytes=2_000_000, allow_private=True, resolver=offline_resolver)
    yield fetcher
    fetcher.close()


@pytest.fixture
def worker(services: Services, fetcher: Fetcher) -> MetadataWorker:
    return MetadataWorker(services, fetcher)
