"""`/shelf forget me`: a confirmation, then none of the person's rows are left, while colleagues
keep what they saved and the links shared in the open, which no longer name them."""

from __future__ import annotations

import json
from functools import partial

import pytest

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from bot.services.shares import CAPTURE_LEASE, CaptureWorker
from storage import captures as capture_queue
from storage import items as item_store
from storage.models import CaptureQueue
from tests.helpers import held_half_way, items, message, reply_text, rows_mentioning, shares, wait_for

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
PUBLIC = "https://example.com/public-talk"
PRIVATE = "https://example.com/private-memo"


def ana_uses_everything(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    slack.add_user(CAROL, "Carol")
    driver.event(message(f"<{PUBLIC}> #mustread great talk", ts="1764238600.000100"))
    driver.event(
        message(f"<{PRIVATE}> #secretplan", channel="G0PRIVATE1", channel_type="group", ts="1764238600.000200")
    )
    driver.command("save https://example.com/ana-only my own note", user=ANA)
    driver.command(f"save {PUBLIC}", user=BEN)
    driver.command(f"tag {PUBLIC} #leadership", user=ANA)
    driver.command("interests #rust", user=ANA)
    driver.command(f"follow <@{BEN}>", user=ANA)
    driver.command(f"follow <@{ANA}>", user=CAROL)
    driver.command('list new "Ana reads"', user=ANA)
    driver.command(f'list add "Ana reads" {PUBLIC} a favourite', user=ANA)
    driver.command('subscribe "Ana reads"', user=BEN)
    driver.command('list new "Ben reads"', user=BEN)
    driver.command('subscribe "Ben reads"', user=ANA)
    driver.command(f"recommend <@{BEN}> {PRIVATE} have a look", user=ANA)
    driver.command(f"recommend <@{ANA}> {PUBLIC}", user=CAROL)
    driver.command("digest day fri", user=ANA)
    driver.command("roundup on", user=ANA)
    driver.event({"type": "member_joined_channel", "user": ANA, "channel": "C0GENERAL1", "channel_type": "C"})
    driver.event(message("<https://example.com/not-for-ana>", user=BEN, ts="1764238600.000300"))
    not_for_ana = next(i.id for i in items(services) if i.url.endswith("not-for-ana"))
    driver.press("pick_not_for_me", str(not_for_ana), user=ANA)  # on a pick in her digest


def test_forget_me_asks_first_and_keeps_everything_until_confirmed(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    ana_uses_everything(driver, slack, services)
    before = rows_mentioning(services, ANA)
    response = driver.command("forget me", user=ANA)
    body = response.json()
    assert "/shelf export" in reply_text(response) and "no undo" in reply_text(response)
    [button] = [
        e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"] if e.get("style") == "danger"
    ]
    assert button["action_id"] == "forget_me" and button["confirm"]["confirm"]["text"] == "Forget me"
    assert rows_mentioning(services, ANA) == before

    driver.press("forget_me_not", "keep", user=ANA)
    assert wait_for(lambda: any("Nothing was deleted" in str(c.params) for c in slack.responses()))
    assert rows_mentioning(services, ANA) == before
    for text in ("forget", "forget you", "forget @ana", 'forget "me"'):
        assert "/shelf forget me" in reply_text(driver.command(text, user=ANA))
    assert rows_mentioning(services, ANA) == before


def test_forgetting_leaves_no_row_of_the_person_and_keeps_what_colleagues_hold(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    ana_uses_everything(driver, slack, services)
    assert {"save", "share", "interest", "follow", "curated_list", "subscription", "recommendation", "person",
            "item_tag", "search_doc", "roundup", "channel_member",
            "dismissal"} <= set(rows_mentioning(services, ANA))  # fmt: skip

    assert driver.press("forget_me", "me", user=ANA).status_code == 200
    said = wait_for(lambda: [c.params for c in slack.responses() if "forgotten you" in json.dumps(c.params)])
    assert said and said[0]["replace_original"] is True
    assert rows_mentioning(services, ANA) == {}

    # Ben's save of the public talk and the public share stay; the share names nobody now.
    urls = {i.url: i for i in items(services)}
    assert set(urls) == {PUBLIC, "https://example.com/not-for-ana"}  # Ana's private memo and save are gone
    assert urls[PUBLIC].is_public
    [share] = [s for s in shares(services) if s.user_id != BEN]
    assert share.user_id == "" and share.context is None and share.permalink is not None
    assert f"`{urls[PUBLIC].id}`" in reply_text(driver.command("mine", user=BEN))
    assert "#mustread" in reply_text(driver.command("search great talk", user=CAROL)) or "public-talk" in reply_text(
        driver.command("search talk", user=CAROL)
    )
    assert "Nothing on your shelf" in reply_text(driver.command("mine", user=ANA))
    assert "Ana reads" not in reply_text(driver.command("lists", user=BEN))
    # Someone sharing the same link later gets no heads-up naming a forgotten colleague.
    driver.event(message(f"<{PUBLIC}>", user=CAROL, ts="1764238600.000900"))
    [notice] = wait_for(lambda: [c.params for c in slack.calls if "Heads-up" in json.dumps(c.params)])
    assert "was already shared <https://acme-learning.slack.com/archives/C0GENERAL1/" in str(notice["text"])
    assert "<@" not in str(notice["text"])


def claim(services: Services) -> list[CaptureQueue]:
    """What a capture worker claims before capturing (CaptureWorker.run_once's first step)."""
    with services.new_session() as session:
        return capture_queue.claim(
            session=session, now=services.clock(), lease=CAPTURE_LEASE, limit=10, holder=services.holder
        )


def test_a_message_claimed_before_its_author_is_forgotten_is_never_captured(
    quiet: SlackDriver, services: Services
) -> None:
    quiet.event(message(f"<{PUBLIC}> #mustread great talk", ts="1764238600.000100"))
    quiet.event(message(f"<{PRIVATE}> #secretplan", channel="G0PRIVATE1", channel_type="group", ts="1764238600.000200"))
    claimed = claim(services)
    assert len(claimed) == 2

    assert quiet.press("forget_me", "me", user=ANA).status_code == 200
    worker = CaptureWorker(services)
    for row in claimed:  # the worker goes on with what it holds
        worker.capture(row)
    assert rows_mentioning(services, ANA) == {}
    assert items(services) == [] and shares(services) == []
    assert reply_text(quiet.command("search great talk", user=BEN)).startswith("Nothing you can see matches")


def test_forgetting_waits_for_a_capture_under_way_and_then_takes_it_too(
    quiet: SlackDriver, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet.event(message(f"<{PRIVATE}> #secretplan", channel="G0PRIVATE1", channel_type="group", ts="1764238600.000200"))
    [row] = claim(services)
    capture = partial(CaptureWorker(services).capture, row)  # held once its share is written
    forget = partial(quiet.press, "forget_me", "me", user=ANA)
    assert held_half_way(monkeypatch, item_store, "add_share", capture, then=forget)  # forgetting waited
    assert rows_mentioning(services, ANA) == {}
    assert items(services) == [] and shares(services) == []
