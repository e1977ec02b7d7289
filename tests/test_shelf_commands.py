"""/shelf save, save book, mine, done and search, as people type them."""

from __future__ import annotations

import pytest

from bot.demo.driver import SlackDriver
from bot.services import Services
from tests.helpers import items, reply_text, saves


def test_save_with_tags_and_a_note_then_find_it_on_my_shelf(driver: SlackDriver, services: Services) -> None:
    reply = reply_text(driver.command("save https://example.com/testing-guide #testing #python read before sprint"))
    [item] = items(services)
    assert reply.startswith(
        "Saved <https://example.com/testing-guide|https://example.com/testing-guide> "
        f"to your shelf with your note (item `{item.id}`)."
    )
    [save] = saves(services)
    assert (save.user_id, save.note, save.status, save.source) == (
        "U0ANA0001",
        "read before sprint",
        "unread",
        "command",
    )
    assert not item.is_public  # saved, not shared: private to the saver

    mine = reply_text(driver.command("mine"))
    assert "*Your shelf* — 1 unread, 0 done" in mine
    assert f"`{item.id}`" in mine
    assert f"`{item.id}`" in reply_text(driver.command("mine #testing"))
    assert "Nothing on your shelf tagged #design" in reply_text(driver.command("mine #design"))
    assert f"`{item.id}`" in reply_text(driver.command("search sprint"))  # my own note
    assert "Nothing you can see matches" in reply_text(driver.command("search sprint", user="U0BEN0001"))


@pytest.mark.parametrize(
    "typed",
    ["<https://example.com/a>", "<https://example.com/a|example.com/a>", "example.com/a", "https://example.com/a#top"],
)
def test_urls_arrive_in_any_form(driver: SlackDriver, services: Services, typed: str) -> None:
    reply_text(driver.command(f"save {typed}"))
    assert [item.canonical_url for item in items(services)] == ["https://example.com/a"]


def test_saving_twice_says_already_on_your_shelf(driver: SlackDriver, services: Services) -> None:
    driver.command("save https://example.com/a")
    assert "already on your shelf" in reply_text(driver.command("save https://example.com/a"))
    assert len(saves(services)) == 1


def test_done_by_number_or_url_marks_read_and_mine_lists_unread_first(driver: SlackDriver, services: Services) -> None:
    driver.command("save https://example.com/first")
    driver.command("save https://example.com/second")
    first, second = items(services)
    assert "Marked" in reply_text(driver.command(f"done {first.id}"))
    assert "already marked done" in reply_text(driver.command("done https://example.com/first"))
    mine = reply_text(driver.command("mine"))
    assert "1 unread, 1 done" in mine
    assert mine.index(f"`{second.id}`") < mine.index(f"`{first.id}`")
    assert "✓ done" in mine


def test_done_on_something_not_saved_yet_puts_it_on_the_shelf_as_done(driver: SlackDriver, services: Services) -> None:
    driver.command("save https://example.com/x", user="U0BEN0001")
    driver.event(
        {
            "type": "message",
            "channel": "C0GENERAL1",
            "channel_type": "channel",
            "user": "U0BEN0001",
            "text": "<https://example.com/x>",
            "ts": "1764238100.000100",
        }
    )
    [item] = items(services)
    reply_text(driver.command(f"done {item.id}"))
    assert [(s.user_id, s.status) for s in saves(services, "U0ANA0001")] == [("U0ANA0001", "done")]


def test_save_a_book_without_a_link(driver: SlackDriver, services: Services) -> None:
    reply = reply_text(driver.command('save book "Thinking in Systems" by Donella Meadows'))
    [book] = items(services)
    assert (book.kind, book.title, book.author, book.fetch_state) == (
        "book",
        "Thinking in Systems",
        "Donella Meadows",
        "none",
    )
    assert "Saved *Thinking in Systems*" in reply
    driver.command("save book “Thinking in Systems” by Donella Meadows", user="U0BEN0001")
    assert len(items(services)) == 1  # the same book, one item


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("save", "Give me a link to save"),
        ("save not-a-link", "Give me a link to save"),
        ("save book", "double quotes"),
        ("save book Thinking in Systems", "double quotes"),
        ('save book "Thinking in Systems" Donella', "name the author with `by`"),
        ("done", "Usage: `/shelf done ITEM`"),
        ("done banana", "neither an item number nor a link"),
        ("done 99999", "can't find item `99999`"),
        ("search", "Tell me what to look for"),
        ("mine everything", "Usage: `/shelf mine [#tag]`"),
    ],
)
def test_malformed_input_gets_the_subcommands_usage_and_changes_nothing(
    driver: SlackDriver, services: Services, text: str, expected: str
) -> None:
    assert expected in reply_text(driver.command(text))
    assert items(services) == [] and saves(services) == []


def test_search_finds_words_in_any_order_and_by_prefix(driver: SlackDriver, services: Services) -> None:
    driver.command("save https://example.com/kubernetes-networking-explained")
    driver.command("save https://example.com/cooking-pasta")
    found = reply_text(driver.command("search networking kube"))
    assert "kubernetes-networking-explained" in found and "pasta" not in found
    assert "Nothing you can see matches" in reply_text(driver.command("search quantum"))


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ('"unbalanced', "A quote is missing its partner"),
        ("AND OR NOT", "Nothing you can see matches `AND OR NOT`"),
        ("*", "Nothing you can see matches `*`"),
        ("kube*", "kubernetes-networking-explained"),  # an asterisk is not syntax, but the prefix still finds it
        ("title:x", "Nothing you can see matches `title:x`"),
        ("NEAR(a b)", "Nothing you can see matches `NEAR(a b)`"),
        ("networking OR pasta", "Nothing you can see matches"),  # every word must match: OR is a word
        ("💥", "Nothing you can see matches `💥`"),
        ("a'b", "Nothing you can see matches `a'b`"),
    ],
)
def test_search_syntax_from_people_is_just_words(driver: SlackDriver, words: str, expected: str) -> None:
    driver.command("save https://example.com/kubernetes-networking-explained")
    assert expected in reply_text(driver.command(f"search {words}"))


@pytest.mark.parametrize(
    "text",
    [
        "done 99999999999999999999",
        "tag 99999999999999999999 #python",
        "recommend 99999999999999999999 @U0BEN0001",
        "save 99999999999999999999",
        "done ²",
    ],
)
def test_item_numbers_beyond_any_item_are_simply_not_found(driver: SlackDriver, text: str) -> None:
    reply = reply_text(driver.command(text))
    assert "can't find item" in reply or "Usage" in reply or "neither" in reply, reply
    assert "went wrong" not in reply


@pytest.mark.parametrize("text", ["save http://[::1", "save https://[nope]/x", "tag http://[::1 #python"])
def test_links_that_cannot_be_parsed_get_a_clear_reply(driver: SlackDriver, text: str) -> None:
    reply = reply_text(driver.command(text))
    assert "went wrong" not in reply, reply
    assert "can't be kept" in reply, reply


def test_a_link_too_long_to_keep_is_refused_clearly(driver: SlackDriver, services: Services) -> None:
    long = "https://example.com/" + "a" * 2100
    assert "longer than 2,048 characters" in reply_text(driver.command(f"save {long}"))
    assert items(services) == []
    # Tracking parameters are not part of the address kept, so this one fits once they are gone.
    fits = "https://example.com/ok?utm_source=" + "x" * 2100
    assert "Saved" in reply_text(driver.command(f"save {fits}"))
    [item] = items(services)
    assert item.url == item.canonical_url == "https://example.com/ok"


def test_search_finds_what_the_asker_may_see_however_many_private_matches_outrank_it(
    driver: SlackDriver, services: Services
) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.items import add_share, get_or_create_item, make_public
    from storage.models import Share

    start = datetime(2026, 11, 20, tzinfo=UTC)
    with services.new_session() as session:
        k8s = "https://example.com/k8s"
        public, _ = get_or_create_item(session=session, team_id="T0PEERS01", canonical_url=k8s, url=k8s,
                                       kind="article", title="Kubernetes", now=start)  # fmt: skip
        make_public(session=session, item=public)
        for n in range(250):  # newer, and better matches, but shared privately by Ana
            url = f"https://example.com/private-{n}"
            item, _ = get_or_create_item(session=session, team_id="T0PEERS01", canonical_url=url, url=url,
                                         kind="article", title="Kubernetes kubernetes kubernetes notes",
                                         now=start + timedelta(minutes=n + 1))  # fmt: skip
            add_share(session=session, share=Share(team_id="T0PEERS01", item_id=item.id or 0, user_id="U0ANA0001",
                                                   channel_id="G0PRIVATE1", channel_type="group", is_private=True,
                                                   message_ts=f"1764237600.{n:06d}"))  # fmt: skip
        session.commit()
    found = reply_text(driver.command("search kubernetes", user="U0BEN0001"))
    assert f"`{public.id}`" in found and "1 match" in found
    assert "private-" not in found


def test_item_numbers_past_32_bits_work_on_both_backends(driver: SlackDriver, services: Services) -> None:
    from datetime import UTC, datetime

    from storage.models import Item

    big = 3_000_000_000  # a workspace that has seen more than 2^31 items (or rows of any kind)
    with services.new_session() as session:
        now = datetime(2026, 11, 27, tzinfo=UTC)
        session.add(Item(id=big, team_id="T0PEERS01", canonical_url="https://example.com/big", is_public=True,
                         url="https://example.com/big", kind="article", title="Big numbers", created_at=now,
                         updated_at=now))  # fmt: skip
        session.commit()
    assert "Tagged" in reply_text(driver.command(f"tag {big} #python", user="U0BEN0001"))
    assert f"`{big}`" in reply_text(driver.command("search #python", user="U0BEN0001"))
    assert "can't find" in reply_text(driver.command(f"done {2**63}", user="U0BEN0001"))  # past 64 bits: no such item
