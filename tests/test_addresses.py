"""A page is one item by every address it answers to: the link as written, the canonical address
its page names, and where the link redirected to, however and in whichever order it is shared."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from sqlmodel import Session, select

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.reading.links import canonical_url
from bot.services import Services
from bot.services.pages import MetadataWorker
from storage import items as item_store
from storage.models import Item, ItemAddress
from tests.helpers import items, message, reply_text, shares, wait_for
from tests.pageserver import PageServer

ANA, BEN, CAROL, DAN = "U0ANA0001", "U0BEN0001", "U0CAROL01", "U0DAN0001"
TEAM = "T0PEERS01"
LANDED = "https://example.com/landed"


def redirect(pages: PageServer, to: str) -> str:
    return f"{pages.url}/redirect?to={quote(to, safe='')}"


def heads_ups(slack: FakeSlack, user: str) -> list[str]:
    return [call.params["text"] for call in slack.calls_to("chat.postEphemeral") if call.params["user"] == user]


def test_a_link_that_redirects_is_one_item_however_often_it_is_shared(
    driver: SlackDriver, services: Services, slack: FakeSlack, pages: PageServer, worker: MetadataWorker
) -> None:
    link = redirect(pages, "/pages/001")
    driver.event(message(f"Good read <{link}>", user=ANA, ts="1764240000.000100"))
    assert worker.drain() == 1
    [item] = items(services)
    assert item.canonical_url == f"{pages.url}/pages/001"  # where it led, a page with no canonical of its own

    driver.event(message(f"<{link}>", user=BEN, ts="1764240000.000200"))
    assert [i.id for i in items(services)] == [item.id]
    assert [(s.user_id, s.item_id) for s in shares(services)] == [(ANA, item.id), (BEN, item.id)]
    [notice] = wait_for(lambda: heads_ups(slack, BEN))
    assert "already shared by <@U0ANA0001>" in notice
    assert worker.drain() == 0  # read once


def test_the_address_a_link_redirects_to_finds_its_item(
    driver: SlackDriver, services: Services, slack: FakeSlack, pages: PageServer, worker: MetadataWorker
) -> None:
    # The page names a canonical address on another site, which is not believed: the item keeps
    # the link as written, and answers to the address it led to as well.
    link = redirect(pages, "/pages/002")
    driver.event(message(f"<{link}>", user=ANA, ts="1764240100.000100"))
    assert worker.drain() == 1
    [item] = items(services)
    assert item.title == "This API is so Fetching!"

    driver.event(message(f"<{pages.url}/pages/002>", user=BEN, ts="1764240100.000200"))
    assert [i.id for i in items(services)] == [item.id]
    [notice] = wait_for(lambda: heads_ups(slack, BEN))
    assert "already shared by <@U0ANA0001>" in notice
    assert worker.drain() == 0


def test_links_that_redirect_to_a_home_page_stay_apart(
    driver: SlackDriver, services: Services, pages: PageServer, worker: MetadataWorker
) -> None:
    # A site that sends every article it no longer has to its home page: the home page is not
    # where those articles are, and does not become an address of any of them.
    gone = [f"{redirect(pages, '/')}&article={n}" for n in range(2)]
    for n, link in enumerate(gone):
        driver.event(message(f"<{link}>", user=ANA, ts=f"1764240150.{n:06d}"))
    assert worker.drain() == 2
    driver.event(message(f"<{pages.url}/>", user=BEN, ts="1764240150.000100"))
    assert len(items(services)) == 3
    assert [i.canonical_url for i in items(services)[:2]] == [canonical_url(link) for link in gone]


def test_a_link_that_redirects_to_an_address_too_long_to_keep_stays_at_its_link(
    driver: SlackDriver, services: Services, pages: PageServer, worker: MetadataWorker
) -> None:
    driver.event(message(f"<{pages.url}/to-long>", ts="1764240170.000100"))
    assert worker.drain() == 1
    [item] = items(services)
    assert (item.fetch_state, item.title, item.canonical_url) == ("done", "Café Société", f"{pages.url}/to-long")
    with services.new_session() as session:
        assert item_store.addresses_of(session=session, item_id=item.id or 0) == []


def test_a_page_naming_its_canonical_address_is_found_by_the_link_it_was_shared_as(
    driver: SlackDriver, services: Services, slack: FakeSlack, pages: PageServer, worker: MetadataWorker
) -> None:
    original = f"{pages.url}/canon/print-{uuid.uuid4().hex[:8]}"
    driver.event(message(f"<{original}>", user=BEN, ts="1764240200.000100"))
    saved = reply_text(driver.command(f"save {original}", user=BEN))
    assert worker.drain() == 1
    [item] = items(services)
    assert item.canonical_url == f"{pages.url}/canon/main"
    assert f"(item `{item.id}`)" in saved

    driver.event(message(f"<{original}>", user=ANA, ts="1764240200.000200"))
    assert [i.id for i in items(services)] == [item.id]
    [notice] = wait_for(lambda: heads_ups(slack, ANA))
    assert "already shared by <@U0BEN0001>" in notice and "1 save." in notice
    again = reply_text(driver.command(f"save {original}", user=BEN))
    assert f"is already on your shelf (item `{item.id}`)" in again
    assert "Marked" in reply_text(driver.command(f"done {original}", user=BEN))
    assert [i.id for i in items(services)] == [item.id]
    assert worker.drain() == 0


def test_sharing_the_canonical_address_after_the_original_is_the_same_item(
    driver: SlackDriver, services: Services, slack: FakeSlack, pages: PageServer, worker: MetadataWorker
) -> None:
    driver.event(message(f"<{pages.url}/canon/amp-{uuid.uuid4().hex[:8]}>", user=ANA, ts="1764240300.000100"))
    assert worker.drain() == 1
    driver.event(message(f"<{pages.url}/canon/main>", user=BEN, ts="1764240300.000200"))
    [item] = items(services)
    assert item.canonical_url == f"{pages.url}/canon/main"
    [notice] = wait_for(lambda: heads_ups(slack, BEN))
    assert "already shared by <@U0ANA0001>" in notice
    assert worker.drain() == 0


def test_items_that_turn_out_to_be_one_page_keep_every_address_they_answered_to(
    driver: SlackDriver, services: Services, pages: PageServer, worker: MetadataWorker
) -> None:
    run = uuid.uuid4().hex[:8]
    first, second = f"{pages.url}/canon/a-{run}", redirect(pages, f"/canon/b-{run}")
    driver.event(message(f"<{first}>", user=ANA, ts="1764240400.000100"))
    driver.event(message(f"<{second}>", user=BEN, ts="1764240400.000200"))
    assert len(items(services)) == 2
    assert worker.drain() == 2
    [item] = items(services)  # both name /canon/main: merged

    every = [first, second, f"{pages.url}/canon/b-{run}", f"{pages.url}/canon/main"]
    for n, address in enumerate(every):
        driver.event(message(f"<{address}>", user=CAROL, ts=f"1764240401.{n:06d}"))
    assert [i.id for i in items(services)] == [item.id]
    assert {s.item_id for s in shares(services)} == {item.id}
    assert worker.drain() == 0


def test_an_address_finds_only_what_the_asker_may_see(
    driver: SlackDriver, services: Services, slack: FakeSlack, pages: PageServer, worker: MetadataWorker
) -> None:
    link = redirect(pages, "/pages/001")
    driver.event(message(f"<{link}>", user=ANA, channel="G0PRIVATE1", channel_type="group", ts="1764240500.000100"))
    assert worker.drain() == 1
    [item] = items(services)
    assert not item.is_public

    # Nobody else finds it by its words. The link someone types is taken as typed links are: a
    # save, or a private share of the typist's own, of the same page (not a second item). The
    # item stays private, and whoever typed nothing still sees nothing.
    for asker in (BEN, CAROL, DAN):
        assert f"`{item.id}`" not in reply_text(driver.command("search frontend", user=asker))
    assert "Saved" in reply_text(driver.command(f"save {link}", user=CAROL))
    assert "Marked" in reply_text(driver.command(f"done {link}", user=BEN))
    assert [i.id for i in items(services)] == [item.id]
    assert not items(services)[0].is_public
    assert [(s.user_id, s.is_private) for s in shares(services)] == [(ANA, True), (BEN, True)]
    for asker in (BEN, CAROL):
        assert f"`{item.id}`" in reply_text(driver.command("search frontend", user=asker))
    assert f"`{item.id}`" not in reply_text(driver.command("search frontend", user=DAN))

    # Shared in the open by its original link, it is public from then on, with no heads-up
    # pointing at Ana's private share.
    driver.event(message(f"<{link}>", user=BEN, ts="1764240500.000200"))
    driver.event(message("<https://example.com/sentinel>", user=ANA, ts="1764240500.000300"))
    driver.event(message("<https://example.com/sentinel>", user=BEN, ts="1764240500.000400"))
    wait_for(lambda: heads_ups(slack, BEN))
    assert ["sentinel" in text for text in heads_ups(slack, BEN)] == [True]
    assert len(items(services)) == 2 and items(services)[0].is_public
    assert f"`{item.id}`" in reply_text(driver.command("search frontend", user=DAN))


def _item(session: Session, url: str) -> Item:
    item, _ = item_store.get_or_create_item(
        session=session, team_id=TEAM, canonical_url=url, url=url, kind="article", now=datetime.now(UTC)
    )
    return item


def _row(session: Session, item: Item) -> Item:
    """`item` as this session holds it."""
    found = session.get(Item, item.id)
    assert found is not None
    return found


def test_two_processes_recording_one_address_at_once_both_carry_on(services: Services) -> None:
    address = "https://example.com/landed"
    with services.transaction() as session:
        first, second = _item(session, "https://example.com/a"), _item(session, "https://example.com/b")
    recorded: list[bool] = []
    with services.new_session() as one, services.new_session() as other:
        # `one` is a page reader's transaction, which has written before it records the address.
        mine = _row(one, first)
        item_store.update_metadata(session=one, item=mine, values={"title": "Landed"})
        one.flush()
        assert item_store.add_address(session=one, item=mine, address=address)

        def meanwhile() -> None:  # looks first, finds nothing (`one` has not committed), then writes
            recorded.append(item_store.add_address(session=other, item=_row(other, second), address=address))
            other.commit()

        thread = threading.Thread(target=meanwhile)
        thread.start()
        time.sleep(0.5)  # `other` now waits on `one`'s write
        one.commit()
        thread.join(timeout=30)
    assert recorded == [False]
    with services.new_session() as session:
        found = item_store.item_by_url(session=session, team_id=TEAM, canonical_url=address)
        assert found is not None and found.id == first.id
        assert item_store.addresses_of(session=session, item_id=second.id or 0) == []


def test_a_merge_moves_every_address_of_the_item_merged_away(services: Services) -> None:
    with services.transaction() as session:
        keep, drop = _item(session, "https://example.com/kept"), _item(session, "https://example.com/dropped")
        item_store.add_address(session=session, item=keep, address="https://example.com/kept-amp")
        item_store.add_address(session=session, item=drop, address="https://example.com/dropped-amp")
        item_store.add_address(session=session, item=drop, address="https://example.com/landed")
    with services.transaction() as session:
        kept = item_store.move_to_url(
            session=session, item=_row(session, drop), canonical_url="https://example.com/kept-amp"
        )
        assert kept.id == keep.id
    with services.new_session() as session:
        assert sorted(item_store.addresses_of(session=session, item_id=keep.id or 0)) == [
            "https://example.com/dropped",
            "https://example.com/dropped-amp",
            "https://example.com/kept-amp",
            "https://example.com/landed",
        ]
        for url in ("kept", "kept-amp", "dropped", "dropped-amp", "landed"):
            found = item_store.item_by_url(session=session, team_id=TEAM, canonical_url=f"https://example.com/{url}")
            assert found is not None and found.id == keep.id
        assert len(list(session.exec(select(Item)))) == 1


def test_an_item_moving_to_one_of_its_own_addresses_keeps_the_one_it_leaves(services: Services) -> None:
    with services.transaction() as session:
        item = _item(session, "https://example.com/print")
        item_store.add_address(session=session, item=item, address="https://example.com/story")
    with services.transaction() as session:
        moved = item_store.move_to_url(
            session=session, item=_row(session, item), canonical_url="https://example.com/story"
        )
    assert (moved.id, moved.canonical_url) == (item.id, "https://example.com/story")
    with services.new_session() as session:
        assert item_store.addresses_of(session=session, item_id=item.id or 0) == ["https://example.com/print"]


def test_only_web_pages_answer_to_other_addresses(services: Services) -> None:
    with services.transaction() as session:
        book = _item(session, "urn:isbn:9780134685991")
        note = _item(session, "urn:peershelf:message:C0GENERAL1:1764240600.000100")
        page = _item(session, "https://example.com/page")
        assert not item_store.add_address(session=session, item=book, address="https://openlibrary.org/books/OL1M")
        assert not item_store.add_address(session=session, item=note, address="https://example.com/note")
        assert not item_store.add_address(session=session, item=page, address="urn:isbn:9780134685991")
        assert not item_store.add_address(session=session, item=page, address="https://example.com/" + "x" * 2048)
        assert not item_store.add_address(session=session, item=page, address="https://example.com/page")
    with services.new_session() as session:
        assert list(session.exec(select(ItemAddress))) == []


def test_a_workspace_forgotten_takes_its_addresses_along(services: Services) -> None:
    from storage.forget import forget_workspace

    with services.transaction() as session:
        item_store.add_address(session=session, item=_item(session, "https://example.com/a"), address=LANDED)
    with services.transaction() as session:
        forget_workspace(session=session, team_id=TEAM)
    with services.new_session() as session:
        assert list(session.exec(select(ItemAddress))) == []
