"""Small helpers shared by the feature tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlmodel import select

from bot.services import Services
from storage.models import Item, Save, Share

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 5.0) -> T:
    """Poll `probe` until it returns something truthy (background work: lazy listeners, workers)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def held_half_way(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, first: Callable[[], object], then: Callable[[], object]
) -> bool:
    """Two transactions that meet: `first` runs in a thread until its first call of `owner.name`
    has run, and is held there (half-way through its transaction) while `then` starts in another;
    half a second later `first` goes on. True when `then` was still waiting by then, for `first`'s
    transaction to end. Both have finished when this returns (an error in either is raised here)."""
    inside, go = threading.Event(), threading.Event()
    real = getattr(owner, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if not inside.is_set():
            inside.set()
            go.wait(10)
        return result

    monkeypatch.setattr(owner, name, held)
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> threading.Thread:
        def target() -> None:
            try:
                work()
            except BaseException as error:  # raised in the test's own thread below
                errors.append(error)

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    one = run(first)
    assert inside.wait(10), f"{name} was never called"
    two = run(then)
    two.join(0.5)
    waited = two.is_alive()
    go.set()
    one.join(15)
    two.join(15)
    assert not one.is_alive() and not two.is_alive(), "still running"
    if errors:
        raise errors[0]
    monkeypatch.setattr(owner, name, real)
    return waited


def message(text: str, *, user: str = "U0ANA0001", channel: str = "C0GENERAL1", ts: str, **extra: Any) -> dict:  # type: ignore[type-arg]
    """A `message` event as Slack sends it for a channel the bot is in."""
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        **extra,
    }


def items(services: Services) -> list[Item]:
    with services.new_session() as session:
        return list(session.exec(select(Item).order_by(Item.id)))  # type: ignore[arg-type]


def shares(services: Services) -> list[Share]:
    with services.new_session() as session:
        return list(session.exec(select(Share).order_by(Share.id)))  # type: ignore[arg-type]


def saves(services: Services, user_id: str | None = None) -> list[Save]:
    with services.new_session() as session:
        statement = select(Save).order_by(Save.id)  # type: ignore[arg-type]
        if user_id:
            statement = statement.where(Save.user_id == user_id)
        return list(session.exec(statement))


def reply_text(response: Any) -> str:
    """The whole visible text of an ephemeral command reply (fallback text and blocks)."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_type"] == "ephemeral"
    return visible_text(body)


def preview_text(driver: Any, slack: Any, user: str) -> str:
    """`/shelf digest` as `user`: the preview that takes the place of the command's first answer."""
    before = len(slack.responses())
    answer = reply_text(driver.command("digest", user=user))
    assert "Putting together a preview" in answer, answer
    shown = wait_for(lambda: [c.params for c in slack.responses()[before:] if c.params.get("replace_original")])
    assert shown, "no preview after the answer"
    assert shown[0]["response_type"] == "ephemeral"
    return visible_text(shown[0])


def visible_text(body: dict[str, Any]) -> str:
    """The text a message shows: its fallback text and its blocks'."""
    parts = [body.get("text", "")]
    for block in body.get("blocks") or []:
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text", "")
            parts.append(text["text"] if isinstance(text, dict) else text)  # buttons carry plain_text objects
    return "\n".join(parts)


def rows_mentioning(services: Services, value: str) -> dict[str, int]:
    """How many rows of each table hold `value` in any text column (a team or user ID): every table
    in the database, the search index and Slack's installation tables included, read as text."""
    from sqlalchemy import String, Text, column, inspect, or_, select, table
    from sqlalchemy.types import NullType

    found: dict[str, int] = {}
    database = inspect(services.engine)
    with services.engine.connect() as connection:
        for name in database.get_table_names():
            if name.startswith(("search_doc_", "alembic")):
                continue  # FTS5's own shadow tables mirror search_doc
            # (FTS5's columns have no type: read them as text too.)
            columns = [c for c in database.get_columns(name) if isinstance(c["type"], String | Text | NullType)]
            if not columns:
                continue
            shape = table(name, *(column(c["name"]) for c in columns))
            clauses = [shape.c[c["name"]].contains(value) for c in columns]
            count = len(connection.execute(select(shape).where(or_(*clauses))).all())
            if count:
                found[name] = count
    return found
