"""Every command that takes an ITEM accepts any link: one nobody shared yet is captured on the spot
as a private share by the person typing (SPEC §4, ITEM)."""

from __future__ import annotations

from sqlmodel import select

from bot.demo.driver import SlackDriver
from bot.services import Services
from storage.models import ListItem
from tests.helpers import items, message, reply_text, saves, shares

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
NEW = "https://example.com/never-shared"


def test_recommending_a_link_nobody_shared_sends_it_and_keeps_it_private(
    driver: SlackDriver, services: Services
) -> None:
    reply = reply_text(driver.command(f"recommend <@{BEN}> {NEW} worth your time", user=ANA))
    assert reply.startswith(f"Sent <{NEW}|") and f"<@{BEN}>" in reply
    [item] = items(services)
    assert not item.is_public
    [share] = shares(services)
    assert (share.user_id, share.is_private, share.channel_type) == (ANA, True, "command")
    # The sender and the recipient see it; nobody else does.
    assert f"`{item.id}`" in reply_text(driver.command("search never", user=ANA))
    assert "Marked" in reply_text(driver.command(f"done {item.id}", user=BEN))
    assert "can't find" in reply_text(driver.command(f"done {item.id}", user=CAROL))
    assert f"`{item.id}`" not in reply_text(driver.command("search never", user=CAROL))
    # Typed again, it is the same item and no second share.
    driver.command(f"recommend <@{CAROL}> {NEW}", user=ANA)
    assert len(items(services)) == 1 and len(shares(services)) == 1


def test_done_and_tag_accept_a_new_link(driver: SlackDriver, services: Services) -> None:
    assert "Marked" in reply_text(driver.command(f"done <{NEW}>", user=ANA))
    [save] = saves(services, ANA)
    assert save.status == "done"
    assert "#leadership" in reply_text(driver.command("tag https://example.com/other #leadership", user=BEN))
    assert {i.url for i in items(services)} == {NEW, "https://example.com/other"}


def test_a_link_someone_shared_privately_stays_theirs_when_another_person_types_it(
    driver: SlackDriver, services: Services
) -> None:
    driver.event(
        message(f"<{NEW}> #secretplan our plan", channel="G0PRIVATE1", channel_type="group", ts="1764238600.4")
    )
    reply = reply_text(driver.command(f"tag {NEW} #python", user=CAROL))
    assert "#secretplan" not in reply and "our plan" not in reply
    [item] = items(services)
    assert not item.is_public
    assert {s.user_id for s in shares(services)} == {ANA, CAROL}


def test_a_curator_adding_a_new_link_to_a_list_publishes_it(driver: SlackDriver, services: Services) -> None:
    driver.command('list new "Onboarding"', user=ANA)
    reply = reply_text(driver.command(f'list add "Onboarding" {NEW} start here', user=ANA))
    assert reply.startswith(f"Added <{NEW}|")
    [item] = items(services)
    assert item.is_public
    # Taking off a link that was never added captures nothing.
    assert "can't find" in reply_text(driver.command('list remove "Onboarding" https://example.com/nope', user=ANA))
    assert len(items(services)) == 1
    with services.new_session() as session:
        assert len(list(session.exec(select(ListItem)))) == 1


def test_a_private_item_given_by_number_still_stays_off_lists(driver: SlackDriver, services: Services) -> None:
    driver.event(message(f"<{NEW}>", channel="G0PRIVATE1", channel_type="group", ts="1764238600.4"))
    driver.command('list new "Onboarding"', user=ANA)
    [item] = items(services)
    assert "only shared privately" in reply_text(driver.command(f'list add "Onboarding" {item.id}', user=ANA))
    assert not items(services)[0].is_public
