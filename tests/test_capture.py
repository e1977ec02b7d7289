"""Capture through the real endpoint: links in messages become items and shares, privately where due."""

from __future__ import annotations

from typing import Any

import pytest

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from bot.services.pages import MetadataWorker
from tests.helpers import items, message, reply_text, shares, wait_for
from tests.pageserver import PageServer


def test_link_in_a_public_message_is_captured_and_findable_after_its_page_is_read(
    driver: SlackDriver, services: Services, pages: PageServer, worker: MetadataWorker
) -> None:
    url = f"{pages.url}/pages/002"
    response = driver.event(message(f"Nice explainer <{url}> #javascript", ts="1764237600.000100"))
    assert response.status_code == 200
    [item] = items(services)
    assert (item.url, item.is_public, item.fetch_state) == (url, True, "pending")
    [share] = shares(services)
    assert (share.user_id, share.channel_id, share.is_private) == ("U0ANA0001", "C0GENERAL1", False)
    # The workspace's address is asked of Slack once Slack has its answer; the permalink follows.
    permalink = wait_for(lambda: shares(services)[0].permalink)
    assert permalink == "https://acme-learning.slack.com/archives/C0GENERAL1/p1764237600000100"
    assert share.context == f"Nice explainer {url} #javascript"

    assert worker.drain() == 1
    [item] = items(services)
    assert item.fetch_state == "done"
    assert item.title == "This API is so Fetching!"
    assert item.kind == "article"
    reply = reply_text(driver.command("search fetching", user="U0BEN0001"))
    assert "This API is so Fetching!" in reply
    assert f"`{item.id}`" in reply
    assert "This API is so Fetching!" in reply_text(driver.command("search #javascript", user="U0BEN0001"))


def test_links_in_rich_text_blocks_are_captured(driver: SlackDriver, services: Services) -> None:
    blocks = [
        {
            "type": "rich_text",
            "block_id": "b1",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "Talk: "},
                        {"type": "link", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "text": "this talk"},
                    ],
                }
            ],
        }
    ]
    driver.event(message("Talk: this talk", ts="1764237600.000200", blocks=blocks))
    [item] = items(services)
    assert item.canonical_url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert item.kind == "video"


def test_the_same_page_shared_twice_is_one_item_with_two_shares(driver: SlackDriver, services: Services) -> None:
    driver.event(message("<https://Example.com/guide?utm_source=twitter#part-2>", ts="1764237600.000300"))
    driver.event(message("<https://example.com/guide>", user="U0BEN0001", ts="1764237600.000400"))
    [item] = items(services)
    assert item.canonical_url == "https://example.com/guide"
    assert [s.user_id for s in shares(services)] == ["U0ANA0001", "U0BEN0001"]


@pytest.mark.parametrize(
    "event",
    [
        {"subtype": "bot_message", "bot_id": "B0OTHER01", "user": None},
        {"bot_id": "B0OTHER01"},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
        {"subtype": "channel_topic"},
    ],
    ids=["bot-message", "bot-id", "edit", "deletion", "join", "topic"],
)
def test_bot_messages_edits_deletions_and_joins_are_not_captured(
    driver: SlackDriver,
    services: Services,
    event: dict,  # type: ignore[type-arg]
) -> None:
    response = driver.event(message("<https://example.com/x>", ts="1764237600.000500", **event))
    assert response.status_code == 200
    assert items(services) == []


def test_messages_of_ignored_channels_are_not_captured(
    serve_with: object, services: Services, slack: FakeSlack
) -> None:
    driver = serve_with(ignore_channels=frozenset({"C0RANDOM01"}))  # type: ignore[operator]
    driver.event(message("<https://example.com/a>", channel="C0RANDOM01", ts="1764237600.000600"))
    assert items(services) == []
    driver.event(message("<https://example.com/a>", ts="1764237600.000700"))
    assert len(items(services)) == 1


def test_a_link_shared_privately_is_seen_only_by_those_entitled(driver: SlackDriver, services: Services) -> None:
    driver.event(
        message("<https://example.com/secret-plan>", channel="G0PRIVATE1", channel_type="group", ts="1764237600.000800")
    )
    [item] = items(services)
    assert not item.is_public
    assert shares(services)[0].is_private
    assert f"`{item.id}`" in reply_text(driver.command("search secret", user="U0ANA0001"))
    assert f"`{item.id}`" not in reply_text(driver.command("search secret", user="U0BEN0001"))
    assert "can't find" in reply_text(driver.command(f"done {item.id}", user="U0BEN0001"))

    # Shared again in a public channel, it is public from then on.
    driver.event(message("<https://example.com/secret-plan>", user="U0BEN0001", ts="1764237600.000900"))
    assert items(services)[0].is_public
    assert f"`{item.id}`" in reply_text(driver.command("search secret", user="U0CAROL01"))


@pytest.mark.parametrize("channel_type", ["im", "mpim"])
def test_links_in_direct_and_group_messages_are_private(
    driver: SlackDriver, services: Services, channel_type: str
) -> None:
    channel = "D0ANA0001" if channel_type == "im" else "G0MPIM0001"
    driver.event(message("<https://example.com/dm>", channel=channel, channel_type=channel_type, ts="1764237601.0"))
    assert not items(services)[0].is_public


def test_an_isbn_in_a_message_is_captured_as_a_book(driver: SlackDriver, services: Services) -> None:
    driver.event(message("Loved ISBN 978-0-13-468599-1, go read it", ts="1764237601.000100"))
    [item] = items(services)
    assert (item.kind, item.isbn, item.canonical_url) == ("book", "9780134685991", "urn:isbn:9780134685991")


def test_resharing_a_publicly_shared_link_gets_a_private_heads_up(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.event(message("<https://example.com/popular>", ts="1764237602.000100"))
    driver.command("save https://example.com/popular", user="U0CAROL01")
    driver.event(message("<https://example.com/popular>", user="U0BEN0001", ts="1764237602.000200"))
    [notice] = wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    assert notice.params["user"] == "U0BEN0001"
    assert notice.params["channel"] == "C0GENERAL1"
    assert "already shared by <@U0ANA0001>" in notice.params["text"]
    assert "1 save." in notice.params["text"]
    assert slack.calls_to("chat.postMessage") == []  # never in the channel


def test_resharing_your_own_link_or_a_private_one_gets_no_heads_up(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.event(message("<https://example.com/mine>", ts="1764237603.000100"))
    driver.event(message("<https://example.com/mine> again", ts="1764237603.000200"))
    driver.event(message("<https://example.com/hush>", channel="G0PRIVATE1", channel_type="group", ts="1764237603.3"))
    driver.event(message("<https://example.com/hush>", user="U0BEN0001", ts="1764237603.000400"))
    driver.event(message("<https://example.com/sentinel>", ts="1764237603.000500"))
    driver.event(message("<https://example.com/sentinel>", user="U0BEN0001", ts="1764237603.000600"))
    wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    assert ["sentinel" in call.params["text"] for call in slack.calls_to("chat.postEphemeral")] == [True]


def test_the_first_messages_of_a_workspace_arriving_together_are_all_captured(
    driver: SlackDriver, services: Services
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def send(n: int) -> int:
        return driver.event(message(f"<https://example.com/race/{n}>", ts=f"1764237604.{n:06d}")).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, range(16))) == [200] * 16
    assert len(items(services)) == 16


def test_a_hashtag_written_in_private_is_seen_only_by_its_writer_when_the_link_goes_public(
    driver: SlackDriver, services: Services
) -> None:
    private = message("Draft for the board <https://example.com/q3-plan> #falcon-layoffs", channel="G0PRIVATE1",
                      channel_type="group", ts="1764237600.000800")  # fmt: skip
    driver.event(private)
    driver.event(message("Worth a read <https://example.com/q3-plan>", user="U0BEN0001", ts="1764237600.000900"))
    [item] = items(services)
    assert item.is_public  # the link itself is public now: Ben shared it in the open

    # Ana, who wrote the tag, still sees and finds it …
    assert "#falcon-layoffs" in reply_text(driver.command("search #falcon-layoffs", user="U0ANA0001"))
    # … nobody else does: not on the card, not by the tag, not by searching its words, not in top.
    for asker in ("U0BEN0001", "U0CAROL01"):
        found = reply_text(driver.command("search q3-plan", user=asker))
        assert f"`{item.id}`" in found and "falcon" not in found
        assert f"`{item.id}`" not in reply_text(driver.command("search #falcon-layoffs", user=asker))
        assert f"`{item.id}`" not in reply_text(driver.command("search falcon layoffs", user=asker))
        assert "q3-plan" not in reply_text(driver.command("top #falcon-layoffs", user=asker))
    # Nor can someone else remove it, or learn from the answer that it exists.
    assert "has no tag" in reply_text(driver.command(f"untag {item.id} #falcon-layoffs", user="U0BEN0001"))
    assert "#falcon-layoffs" in reply_text(driver.command("search #falcon-layoffs", user="U0ANA0001"))

    # Written in the open by someone, the same tag is everyone's.
    driver.event(message("<https://example.com/q3-plan> #falcon-layoffs", user="U0CAROL01", ts="1764237601.000100"))
    assert f"`{item.id}`" in reply_text(driver.command("search #falcon-layoffs", user="U0BEN0001"))


def test_a_message_whose_capture_fails_is_kept_and_captured_on_a_later_try(
    driver: SlackDriver, services: Services, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    import bot.services.shares
    from bot.services.shares import CaptureWorker
    from storage.captures import waiting

    real = bot.services.shares.capture_message
    failures = iter([RuntimeError("the database went away mid-capture")])

    def flaky(**kwargs: Any) -> Any:
        for failure in failures:
            raise failure
        return real(**kwargs)

    monkeypatch.setattr(bot.services.shares, "capture_message", flaky)
    assert driver.event(message("<https://example.com/kept-for-later>", ts="1764237700.000100")).status_code == 200
    assert items(services) == []  # not captured yet …
    with services.new_session() as session:
        assert waiting(session=session) == 1  # … but kept
    later = services.clock() + timedelta(minutes=3)
    services.clock = lambda: later
    assert CaptureWorker(services).drain() == 1
    assert [item.url for item in items(services)] == ["https://example.com/kept-for-later"]
    with services.new_session() as session:
        assert waiting(session=session) == 0


def test_a_capture_that_fails_half_way_leaves_nothing_of_itself_behind(
    driver: SlackDriver, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message's items, tags and shares are written together or not at all, on SQLite too
    (where a savepoint that begins a transaction would commit it when released)."""
    from storage import items as item_store

    real = item_store.add_share
    failures = iter([RuntimeError("the disk filled up between the item and its share")])

    def flaky(**kwargs: Any) -> bool:
        for failure in failures:
            raise failure
        return real(**kwargs)

    monkeypatch.setattr(item_store, "add_share", flaky)
    assert driver.event(message("<https://example.com/half-way> #mustread", ts="1764237700.000200")).status_code == 200
    assert items(services) == [] and shares(services) == []  # neither the item nor its hashtag
    assert reply_text(driver.command("search half way", user="U0BEN0001")).startswith("Nothing you can see matches")


def test_a_write_that_read_the_item_before_its_page_was_read_keeps_the_pages_title_findable(
    driver: SlackDriver, services: Services, pages: PageServer, worker: MetadataWorker
) -> None:
    """The search document is built from the item as it is when the write commits, not from the
    copy a session read before another one committed the page's title."""
    from storage import items as item_store
    from storage import tags as tag_store

    url = f"{pages.url}/pages/002"
    driver.event(message(f"Nice explainer <{url}>", ts="1764237800.000100"))
    [item] = items(services)
    with services.new_session() as session:  # as a capture of a second message does …
        loaded = item_store.item_by_url(session=session, team_id=item.team_id, canonical_url=item.canonical_url)
        assert loaded is not None and loaded.title is None
        assert worker.drain() == 1  # … while the page reader commits the page's title …
        tag_store.add_tags(session=session, item=loaded, tags=["mustread"], source="hashtag", now=services.clock())
        session.commit()  # … and then commits its tag
    reply = reply_text(driver.command("search fetching", user="U0BEN0001"))
    assert "This API is so Fetching!" in reply
    assert "This API is so Fetching!" in reply_text(driver.command("search #mustread", user="U0BEN0001"))


def test_a_capture_under_way_while_the_page_is_read_keeps_the_pages_title_findable(
    driver: SlackDriver, quiet: SlackDriver, services: Services, pages: PageServer, worker: MetadataWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from bot.services.shares import CaptureWorker
    from storage import items as item_store
    from tests.helpers import held_half_way

    url = f"{pages.url}/pages/002"
    driver.event(message(f"Nice explainer <{url}>", ts="1764237800.000100"))
    quiet.event(message(f"Agreed <{url}> #mustread", user="U0CAROL01", ts="1764237800.000200"))
    capture = CaptureWorker(services).drain  # held once it has found the item, title-less
    held_half_way(monkeypatch, item_store, "item_by_url", capture, then=worker.drain)
    [item] = items(services)
    assert item.title == "This API is so Fetching!" and len(shares(services)) == 2
    assert "This API is so Fetching!" in reply_text(driver.command("search fetching", user="U0BEN0001"))
