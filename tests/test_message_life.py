"""A real workspace's messages: edits, deletions, files, threads, bots and channels that change
(SPEC §4 Capture), sent as Slack documents these events and subtypes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlmodel import select

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from bot.services import capture as capture_module
from bot.services.capture import Message
from bot.services.shares import CaptureWorker, queue_message
from storage import captures
from storage import items as item_store
from storage.models import CaptureQueue, Channel, ItemTag
from tests.helpers import held_half_way, items, message, reply_text, saves, shares, wait_for

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
TS = "1764238600.000100"
GUIDE = "https://example.com/rust-guide"


def edited(new_text: str, old_text: str, *, user: str = ANA, channel: str = "C0GENERAL1", **inner: Any) -> dict:  # type: ignore[type-arg]
    """`message_changed` as Slack sends it: the whole new message, and the one before."""
    return {
        "type": "message",
        "subtype": "message_changed",
        "channel": channel,
        "channel_type": "channel",
        "hidden": True,
        "ts": "1764238700.000900",
        "event_ts": "1764238700.000900",
        "message": {"type": "message", "user": user, "text": new_text, "ts": TS,
                    "edited": {"user": user, "ts": "1764238700.000000"}, **inner},
        "previous_message": {"type": "message", "user": user, "text": old_text, "ts": TS},
    }  # fmt: skip


def deleted(old_text: str, *, user: str = ANA, channel: str = "C0GENERAL1", ts: str = TS) -> dict:  # type: ignore[type-arg]
    """`message_deleted` as Slack sends it: the ts deleted, and the message as it was."""
    return {
        "type": "message",
        "subtype": "message_deleted",
        "channel": channel,
        "channel_type": "channel",
        "hidden": True,
        "ts": "1764238800.000900",
        "deleted_ts": ts,
        "event_ts": "1764238800.000900",
        "previous_message": {"type": "message", "user": user, "text": old_text, "ts": ts},
    }


def tags_of(services: Services) -> dict[str, tuple[bool, str | None]]:
    with services.new_session() as session:
        rows = session.exec(select(ItemTag).where(ItemTag.source == "hashtag"))
        return {row.tag: (row.is_private, row.created_by) for row in rows}


def test_an_edit_that_adds_a_link_captures_it_and_one_that_removes_it_takes_the_share_away(
    driver: SlackDriver, services: Services
) -> None:
    driver.event(message("reading this later", ts=TS))
    assert items(services) == []
    driver.event(edited(f"reading this later <{GUIDE}> #mustread", "reading this later"))
    [item] = items(services)
    [share] = shares(services)
    assert (item.url, share.message_ts, share.user_id) == (GUIDE, TS, ANA)
    assert "reading this later" in (share.context or "")
    assert "mustread" in tags_of(services)

    driver.event(edited("never mind", f"reading this later <{GUIDE}> #mustread"))
    assert shares(services) == [] and items(services) == []  # nobody saved it: gone for everyone
    assert tags_of(services) == {}
    assert reply_text(driver.command("search rust guide", user=ANA)).startswith("Nothing you can see matches")


def test_an_edit_that_changes_only_words_keeps_the_share_and_its_new_words(
    driver: SlackDriver, services: Services
) -> None:
    driver.event(message(f"<{GUIDE}> #mustread #draft", ts=TS))
    driver.event(edited(f"the best intro <{GUIDE}> #mustread", f"<{GUIDE}> #mustread #draft"))
    [share] = shares(services)
    assert "the best intro" in (share.context or "")
    assert set(tags_of(services)) == {"mustread"}  # the hashtag taken out of the message goes too


def test_a_deleted_message_takes_its_share_away_but_not_what_others_saved_or_shared(
    driver: SlackDriver, services: Services
) -> None:
    driver.event(message(f"<{GUIDE}> #mustread", ts=TS))
    driver.event(message(f"also <{GUIDE}>", user=BEN, ts="1764238600.000200"))
    driver.event(message("<https://example.com/kept-by-carol>", ts="1764238600.000300"))
    [kept] = [i for i in items(services) if "kept-by-carol" in i.url]
    driver.command(f"save {kept.url}", user=CAROL)

    driver.event(deleted(f"<{GUIDE}> #mustread"))
    driver.event(deleted("<https://example.com/kept-by-carol>", ts="1764238600.000300"))
    assert [(s.user_id, s.message_ts) for s in shares(services)] == [(BEN, "1764238600.000200")]
    guide, carol_s = sorted(items(services), key=lambda i: i.url)[::-1]
    assert guide.url == GUIDE and guide.is_public  # Ben's public share still shows it
    assert tags_of(services) == {}  # Ana's hashtag went with her message
    assert carol_s.url == kept.url and not carol_s.is_public  # only on Carol's shelf now
    assert f"`{kept.id}`" in reply_text(driver.command("mine", user=CAROL))
    assert "can't find" in reply_text(driver.command(f"done {kept.id}", user=BEN))
    assert [s.user_id for s in saves(services)] == [CAROL]


def test_a_hashtag_two_people_wrote_stays_with_the_one_whose_message_remains(
    driver: SlackDriver, services: Services
) -> None:
    driver.event(message(f"<{GUIDE}> #mustread", ts=TS))
    driver.event(
        message(f"<{GUIDE}> #mustread", user=BEN, channel="G0PRIVATE1", channel_type="group", ts="1764238600.000200")
    )
    driver.event(deleted(f"<{GUIDE}> #mustread"))
    assert tags_of(services) == {"mustread": (True, BEN)}  # now only Ben's, written privately
    [item] = items(services)
    assert not item.is_public
    assert "#mustread" not in reply_text(driver.command(f"tag {GUIDE} #go", user=CAROL))


def test_a_thread_parent_deleted_under_its_replies_loses_its_share(driver: SlackDriver, services: Services) -> None:
    driver.event(message(f"<{GUIDE}> thoughts?", ts=TS))
    driver.event(message("<https://example.com/a-reply>", user=BEN, ts="1764238600.000500", thread_ts=TS))
    tombstone = edited("This message was deleted.", f"<{GUIDE}> thoughts?", subtype="tombstone", user="USLACKBOT")
    driver.event(tombstone)
    assert [i.url for i in items(services)] == ["https://example.com/a-reply"]


def test_files_threads_and_broadcasts_are_read_like_any_message(driver: SlackDriver, services: Services) -> None:
    driver.event(
        message(
            "slides from today <https://example.com/slides-notes>",
            ts="1764238600.000400",
            subtype="file_share",
            files=[{"id": "F0SLIDES01", "name": "slides.pdf", "mimetype": "application/pdf"}],
            upload=False,
        )
    )
    driver.event(message("<https://example.com/in-thread>", ts="1764238600.000500", thread_ts=TS))
    driver.event(
        message("<https://example.com/broadcast>", ts="1764238600.000600", thread_ts=TS, subtype="thread_broadcast")
    )
    driver.event(message("<https://example.com/joined>", ts="1764238600.000700", subtype="channel_join"))
    urls = {i.url for i in items(services)}
    assert urls == {
        "https://example.com/slides-notes",
        "https://example.com/in-thread",
        "https://example.com/broadcast",
    }
    assert {
        s.thread_ts for s in shares(services) if "thread" in (s.context or "") or "broadcast" in (s.context or "")
    } == {TS}


def bot_post(ts: str) -> dict:  # type: ignore[type-arg]
    return {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0RSSFEED1",
        "username": "RSS",
        "text": "New post: <https://example.com/from-a-feed>",
        "channel": "C0FEEDS001",
        "channel_type": "channel",
        "ts": ts,
    }


def test_bots_messages_are_captured_only_when_asked(
    driver: SlackDriver, services: Services, serve_with: Callable[..., SlackDriver]
) -> None:
    driver.event(bot_post("1764238600.000800"))
    workflow = {**message("<https://example.com/from-a-workflow>", ts="1764238600.000900"), "bot_id": "B0FLOW0001"}
    driver.event(workflow)
    assert items(services) == []

    bots = serve_with(capture_bots=True)
    bots.event(bot_post("1764238600.001000"))
    bots.event({**workflow, "ts": "1764238600.001100"})
    assert {(s.user_id, i.url) for s in shares(services) for i in items(services) if i.id == s.item_id} == {
        ("B0RSSFEED1", "https://example.com/from-a-feed"),
        (ANA, "https://example.com/from-a-workflow"),
    }


def test_an_unfurl_or_an_edit_of_a_message_without_links_queues_nothing(
    driver: SlackDriver, services: Services
) -> None:
    driver.event(message(f"<{GUIDE}>", ts=TS))
    unfurled = edited(f"<{GUIDE}>", f"<{GUIDE}>", attachments=[{"title": "Rust guide", "from_url": GUIDE}])
    driver.event(unfurled)
    driver.event(edited("lunch at 12?", "lunch at noon?"))
    driver.event(deleted("see you"))
    with services.new_session() as session:
        assert list(session.exec(select(CaptureQueue))) == []
    assert len(shares(services)) == 1


def test_a_channel_made_private_makes_what_was_shared_only_there_private(
    driver: SlackDriver, services: Services
) -> None:
    driver.event(message(f"<{GUIDE}> #mustread", channel="C0SECRET01", ts=TS))
    driver.event(message("<https://example.com/everywhere>", channel="C0SECRET01", ts="1764238600.000200"))
    driver.event(message("<https://example.com/everywhere>", user=BEN, ts="1764238600.000300"))
    assert all(i.is_public for i in items(services))

    converted = {"type": "message", "subtype": "channel_convert_to_private", "user": ANA, "channel": "C0SECRET01",
                 "channel_type": "group", "ts": "1764238900.000100",
                 "text": "made this channel *private*. Now, it can only be viewed or joined by invitation."}  # fmt: skip # noqa: E501
    assert driver.event(converted).status_code == 200
    public = {i.url: i.is_public for i in items(services)}
    assert public == {GUIDE: False, "https://example.com/everywhere": True}
    assert tags_of(services) == {"mustread": (True, ANA)}
    assert all(s.is_private for s in shares(services) if s.channel_id == "C0SECRET01")
    assert reply_text(driver.command("search rust", user=CAROL)).startswith("Nothing you can see matches")
    assert "rust-guide" in reply_text(driver.command("search rust", user=ANA))
    with services.new_session() as session:
        [channel] = session.exec(select(Channel).where(Channel.channel_id == "C0SECRET01"))
    assert channel.is_private


def test_a_renamed_channel_lends_its_new_topic(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    slack.add_channel("C0TEAM0001", "eng-python")
    driver.event(message("<https://example.com/first>", channel="C0TEAM0001", ts=TS))

    def cached() -> str | None:
        with services.new_session() as session:
            channel = session.exec(select(Channel)).first()
            return channel.default_topics if channel else None

    assert wait_for(cached) == "python"
    renamed = {"type": "message", "subtype": "channel_name", "user": ANA, "channel": "C0TEAM0001",
               "channel_type": "channel", "ts": "1764238900.000200", "old_name": "eng-python", "name": "eng-golang",
               "text": "has renamed the channel from \"eng-python\" to \"eng-golang\""}  # fmt: skip
    driver.event(renamed)
    assert cached() == "go"


def test_an_edit_waits_for_the_message_it_changes_whichever_worker_holds_it(services: Services) -> None:
    def queue(text: str, *, revised: bool = False, user: str = ANA, ts: str = TS) -> None:
        message = Message(team_id="T0PEERS01", channel_id="C0GENERAL1", channel_type="channel", user_id=user,
                          ts=ts, text=text, revised=revised)  # fmt: skip
        queue_message(services, message)

    queue(f"<{GUIDE}>")
    queue("never mind", revised=True)
    queue("<https://example.com/other>", user=BEN, ts="1764238600.000200")

    def claim(holder: str, limit: int = 10) -> list[str]:
        with services.new_session() as session:
            rows = captures.claim(session=session, now=services.clock(), lease=timedelta(minutes=2), limit=limit,
                                  holder=holder)  # fmt: skip
        return [json.loads(row.message)["text"] for row in rows]

    assert claim("worker-a", limit=1) == [f"<{GUIDE}>"]
    assert claim("worker-b") == ["<https://example.com/other>"]  # not the edit: its message is still held
    with services.transaction() as session:
        first = session.exec(select(CaptureQueue).order_by(CaptureQueue.id)).first()  # type: ignore[arg-type]
        assert first is not None
        captures.done(session=session, row_id=first.id or 0)
    assert claim("worker-b") == ["never mind"]


@pytest.mark.parametrize(
    "event",
    [
        message("<https://example.com/x>", ts="1764238600.000100", channel="C" + "X" * 40),
        message("<https://example.com/x>", ts="not-a-ts"),
        message("<https://example.com/x>", ts="1764238600.000100", user="u0lower"),
        {"type": "message", "subtype": "message_changed", "channel": "C0GENERAL1", "message": ["not", "a", "dict"]},
        {"type": "message", "subtype": "message_deleted", "channel": "C0GENERAL1", "deleted_ts": 1764238600},
        {"type": "message", "subtype": "channel_name", "channel": {"id": "C0GENERAL1"}, "name": "x"},
        {"type": "message", "subtype": "channel_convert_to_private", "channel": "C" + "X" * 40},
        {"type": "message", "subtype": "channel_name", "channel": "C0GENERAL1", "name": "x" * 1000},
    ],
)
def test_misshapen_message_events_are_answered_and_change_nothing(
    driver: SlackDriver,
    services: Services,
    event: dict,  # type: ignore[type-arg]
) -> None:
    assert driver.event(event).status_code == 200
    assert items(services) == [] and shares(services) == []
    with services.new_session() as session:
        assert list(session.exec(select(Channel))) == []
        assert list(session.exec(select(CaptureQueue))) == []


def made_private(channel: str = "C0GENERAL1") -> dict:  # type: ignore[type-arg]
    return {"type": "message", "subtype": "channel_convert_to_private", "user": ANA, "channel": channel,
            "channel_type": "group", "ts": "1764238900.000100",
            "text": "made this channel *private*. Now, it can only be viewed or joined by invitation."}  # fmt: skip


def only_ana_finds_the_guide(driver: SlackDriver, services: Services) -> None:
    guide = [i for i in items(services) if i.url == GUIDE]
    assert guide and not guide[0].is_public
    assert all(s.is_private for s in shares(services))
    assert tags_of(services) == {"mustread": (True, ANA)}
    assert reply_text(driver.command("search rust", user=CAROL)).startswith("Nothing you can see matches")
    assert reply_text(driver.command("search mustread", user=CAROL)).startswith("Nothing you can see matches")
    assert "rust-guide" in reply_text(driver.command("search rust", user=ANA))


def test_a_message_still_queued_when_its_channel_turns_private_is_captured_privately(
    quiet: SlackDriver, services: Services
) -> None:
    quiet.event(message(f"<{GUIDE}> #mustread", ts=TS))
    quiet.event(made_private())
    assert CaptureWorker(services).drain() == 1
    only_ana_finds_the_guide(quiet, services)


def channel_known_as_public(driver: SlackDriver, services: Services) -> None:
    """A first message captured in #general, after which Peershelf has asked Slack about it."""
    driver.event(message("<https://example.com/earlier>", ts="1764238600.000050"))

    def cached() -> bool:
        with services.new_session() as session:
            return session.exec(select(Channel).where(Channel.channel_id == "C0GENERAL1")).first() is not None

    assert wait_for(cached)


@pytest.mark.parametrize("known", [True, False], ids=["known-channel", "channel-never-asked-about"])
def test_a_channel_made_private_during_a_capture_waits_for_it_and_makes_its_share_private_too(
    driver: SlackDriver, quiet: SlackDriver, services: Services, monkeypatch: pytest.MonkeyPatch, known: bool
) -> None:
    if known:
        channel_known_as_public(driver, services)
    quiet.event(message(f"<{GUIDE}> #mustread", ts=TS))
    capture = CaptureWorker(services).drain  # held once the share is written
    waited = held_half_way(monkeypatch, item_store, "add_share", capture, then=partial(quiet.event, made_private()))
    assert waited
    only_ana_finds_the_guide(quiet, services)


def test_a_capture_during_a_channel_being_made_private_waits_for_it_and_is_private(
    driver: SlackDriver, quiet: SlackDriver, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel_known_as_public(driver, services)
    quiet.event(message(f"<{GUIDE}> #mustread", ts=TS))
    convert = partial(quiet.event, made_private())  # held once the channel's shares were made private
    waited = held_half_way(
        monkeypatch, capture_module, "reconcile_hashtags", convert, then=CaptureWorker(services).drain
    )
    assert waited
    only_ana_finds_the_guide(quiet, services)
