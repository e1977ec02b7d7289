"""Weekly digests: slots in people's own time zones, sections, exactly once, and Slack's limits."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from bot.services.digests.delivery import LEASE, DigestPass, run_digests
from bot.services.digests.slots import current_slot
from bot.slack.client import web_client
from storage.models import DigestDelivery, Person
from tests.helpers import items, message, preview_text, reply_text

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
MONDAY_NOON_UTC = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
AFTERNOON = MONDAY_NOON_UTC + timedelta(hours=3)  # past 09:00 in Lisbon, Berlin and New York


@pytest.mark.parametrize(
    ("tz", "now", "slot"),
    [
        (
            "Asia/Tokyo",
            datetime(2026, 11, 30, 0, 30, tzinfo=UTC),
            datetime(2026, 11, 30, 0, 0, tzinfo=UTC),
        ),  # 09:30 JST
        ("Asia/Tokyo", datetime(2026, 11, 29, 23, 30, tzinfo=UTC), datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),  # 08:30
        ("America/New_York", datetime(2026, 11, 30, 14, 0, tzinfo=UTC), datetime(2026, 11, 30, 14, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 11, 30, 13, 59, tzinfo=UTC), datetime(2026, 11, 23, 14, 0, tzinfo=UTC)),
        # New York leaves daylight saving on 1 November 2026: 09:00 is 13:00 UTC the Monday before, 14:00 after.
        ("America/New_York", datetime(2026, 10, 27, 12, 0, tzinfo=UTC), datetime(2026, 10, 26, 13, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 11, 3, 12, 0, tzinfo=UTC), datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
        (None, datetime(2026, 11, 30, 9, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),  # unknown: UTC
        ("Not/AZone", datetime(2026, 11, 30, 9, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
    ],
)
def test_the_slot_is_monday_nine_in_each_persons_own_time_zone(tz: str | None, now: datetime, slot: datetime) -> None:
    assert current_slot(now, weekday=0, at=time(9, 0), tz_name=tz) == slot


def test_a_time_skipped_by_daylight_saving_moves_forward() -> None:
    # Europe/Berlin jumps from 02:00 to 03:00 on Sunday 29 March 2026.
    slot = current_slot(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), weekday=6, at=time(2, 30), tz_name="Europe/Berlin")
    assert slot == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def dms(slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    """The digests DM'd to `user` (not the recommendations and notices they also get)."""
    return [
        c.params
        for c in slack.calls_to("chat.postMessage")
        if c.params.get("channel") == user and "Your week on Peershelf" in json.dumps(c.params.get("blocks"))
    ]


def deliveries(services: Services) -> list[DigestDelivery]:
    with services.new_session() as session:
        return list(session.exec(select(DigestDelivery).order_by(DigestDelivery.id)))  # type: ignore[arg-type]


@pytest.fixture
def week(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    """A week in a small workspace: Ana follows Ben, subscribes to Carol's list, likes #rust."""
    slack.add_user(CAROL, "Carol", tz="Asia/Tokyo")
    services.clock = lambda: MONDAY_NOON_UTC - timedelta(days=3)
    driver.command("interests #rust", user=ANA)
    driver.command(f"follow <@{BEN}>", user=ANA)
    driver.command('list new "Systems"', user=CAROL)
    driver.command('subscribe "Systems"', user=ANA)
    driver.event(message("<https://example.com/rust-async-book>", user=BEN, ts="1764500000.000100"))
    driver.event(message("<https://example.com/rust-async-book>", user=CAROL, ts="1764500000.000200"))
    driver.event(message("<https://example.com/ana-own-rust-post>", user=ANA, ts="1764500000.000300"))
    for n, who in enumerate((CAROL, "U0DAVE0001")):  # popular in #rust this week, from people Ana does not follow
        driver.event(message("<https://example.com/the-rust-borrow-checker-explained>", user=who, ts=f"1764500001.{n}"))
    driver.event(message("<https://example.com/distributed-systems-reading>", user=CAROL, ts="1764500000.000400"))
    systems = next(i.id for i in items(services) if "distributed" in i.url)
    driver.command(f'list add "Systems" {systems} a classic', user=CAROL)
    driver.event(message("<https://example.com/postmortem-culture>", user=CAROL, ts="1764500000.000500"))
    postmortem = next(i.id for i in items(services) if "postmortem" in i.url)
    driver.command(f"recommend <@{ANA}> {postmortem} for the incident review", user=CAROL)
    driver.command("save https://example.com/old-unread-thing", user=ANA)
    driver.command('list new "Someday"', user=ANA)
    driver.command('subscribe "Someday"', user=BEN)  # Ben has a digest, but nothing in it this week


def run_pass(services: Services, at: datetime, **kwargs: Any) -> Any:
    services.clock = lambda: at
    return DigestPass(services, web_client(services.settings), pace_seconds=0).run("T0PEERS01", now=at, **kwargs)


def test_a_digest_holds_its_sections_in_order_without_ones_own_shares(
    week: None, services: Services, slack: FakeSlack
) -> None:
    result = run_pass(services, MONDAY_NOON_UTC)
    [digest] = dms(slack, ANA)
    text = json.dumps(digest["blocks"], ensure_ascii=False)
    order = ["Recommended to you", "New in lists you subscribe to", "New from people you follow",
             "Top of the week in your interests", "Still on your shelf"]  # fmt: skip
    positions = [text.index(title) for title in order]
    assert positions == sorted(positions)
    assert "postmortem-culture" in text and "recommended by <@U0CAROL01>" in text
    assert "distributed-systems-reading" in text and "in _Systems_" in text
    assert "rust-async-book" in text and "shared by <@U0BEN0001>" in text
    assert "the-rust-borrow-checker-explained" in text and "2 people" in text
    assert "ana-own-rust-post" not in text  # her own share never fills her own sections
    assert "old-unread-thing" in text
    assert text.count("rust-async-book") == 2  # one card (link + Save/Done/Recommend values), not two
    assert len(digest["blocks"]) <= 50
    assert result.sent >= 1


def test_each_person_gets_one_digest_a_week_and_empty_ones_are_skipped(
    week: None, services: Services, slack: FakeSlack
) -> None:
    run_pass(services, MONDAY_NOON_UTC)
    run_pass(services, MONDAY_NOON_UTC + timedelta(hours=3))  # 15:00 UTC: past 09:00 in New York, Ben's
    assert len(dms(slack, ANA)) == 1
    statuses = {d.user_id: d.status for d in deliveries(services)}
    assert statuses[ANA] == "sent"
    # Ben typed no setting that brings anything: his digest is what was picked for him.
    [ben] = dms(slack, BEN)
    assert [s["text"]["text"] for s in ben["blocks"] if s["type"] == "section" and "*" in s["text"]["text"][:1]] == [
        "*Picked for you*"
    ]
    # A week on, nothing new reached the open and nothing waits for him: nothing is sent.
    next_week = MONDAY_NOON_UTC + timedelta(days=7)
    run_pass(services, next_week)
    run_pass(services, next_week + timedelta(hours=3))
    assert len(dms(slack, BEN)) == 1
    assert [d.status for d in deliveries(services) if d.user_id == BEN] == ["sent", "skipped"]
    assert "U0ERIN001" not in statuses  # nothing a digest could hold, and took no part: not even considered


def test_before_the_slot_nothing_is_sent_and_after_the_next_slot_last_week_is_not(
    week: None, services: Services, slack: FakeSlack
) -> None:
    run_pass(services, MONDAY_NOON_UTC - timedelta(hours=4))  # Monday 08:00 UTC: Ana's slot (09:00 UTC) is ahead
    # and last Monday's was before anyone here started: nothing for that week. Only Carol's
    # 09:00 in Tokyo has come (she shared: her picks are her digest).
    assert [d.user_id for d in deliveries(services)] == [CAROL]
    run_pass(services, MONDAY_NOON_UTC + timedelta(days=7))  # the bot was away all week
    slots = [d.slot_at for d in deliveries(services) if d.user_id == ANA]
    assert slots == [MONDAY_NOON_UTC + timedelta(days=7, hours=-3)]  # this week's; the missed one is not sent late


def test_someone_new_since_their_slot_gets_their_first_digest_on_their_next_digest_day(
    driver: SlackDriver, services: Services, slack: FakeSlack
) -> None:
    wednesday = MONDAY_NOON_UTC + timedelta(days=2)
    services.clock = lambda: wednesday
    driver.command("save https://example.com/first-thing", user=ANA)
    run_pass(services, wednesday + timedelta(minutes=1))
    assert dms(slack, ANA) == [] and deliveries(services) == []  # no "weekly" digest a minute after a first save
    run_pass(services, MONDAY_NOON_UTC + timedelta(days=7))
    [digest] = dms(slack, ANA)
    assert "first-thing" in json.dumps(digest["blocks"])


def test_two_passes_at_once_send_one_digest_each(week: None, services: Services, slack: FakeSlack) -> None:
    start = threading.Barrier(2)

    def race() -> None:
        start.wait()
        DigestPass(services, web_client(services.settings), pace_seconds=0).run("T0PEERS01", now=MONDAY_NOON_UTC)

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(dms(slack, ANA)) == 1
    assert [d.status for d in deliveries(services) if d.user_id == ANA] == ["sent"]


def test_a_claim_left_by_a_crash_is_sent_by_the_next_pass(week: None, services: Services, slack: FakeSlack) -> None:
    slot = MONDAY_NOON_UTC - timedelta(hours=3)
    with services.new_session() as session:
        session.add(DigestDelivery(team_id="T0PEERS01", user_id=ANA, slot_at=slot, status="claimed",
                                   claimed_until=MONDAY_NOON_UTC - timedelta(minutes=1)))  # fmt: skip
        session.commit()
    run_pass(services, MONDAY_NOON_UTC)
    assert len(dms(slack, ANA)) == 1


def test_a_claim_held_by_a_pass_that_stopped_beating_is_sent_by_the_next_pass_at_once(
    week: None, services: Services, slack: FakeSlack
) -> None:
    from storage.claims import GRACE, beat

    slot = MONDAY_NOON_UTC - timedelta(hours=3)
    with services.new_session() as session:
        beat(session=session, holder="cron-pass", now=MONDAY_NOON_UTC - GRACE - timedelta(seconds=1))
        session.add(DigestDelivery(team_id="T0PEERS01", user_id=ANA, slot_at=slot, status="claimed",
                                   claimed_until=MONDAY_NOON_UTC + LEASE, claimed_by="cron-pass"))  # fmt: skip
        session.commit()
    run_pass(services, MONDAY_NOON_UTC)
    assert len(dms(slack, ANA)) == 1
    [ana] = [d for d in deliveries(services) if d.user_id == ANA]
    assert ana.status == "sent"


def test_a_claim_held_by_a_live_pass_is_left_to_it(week: None, services: Services, slack: FakeSlack) -> None:
    from storage.claims import beat

    slot = MONDAY_NOON_UTC - timedelta(hours=3)
    with services.new_session() as session:
        beat(session=session, holder="cron-pass", now=MONDAY_NOON_UTC - timedelta(seconds=2))
        session.add(DigestDelivery(team_id="T0PEERS01", user_id=ANA, slot_at=slot, status="claimed",
                                   claimed_until=MONDAY_NOON_UTC + LEASE, claimed_by="cron-pass"))  # fmt: skip
        session.commit()
    run_pass(services, MONDAY_NOON_UTC)
    assert dms(slack, ANA) == []


def test_a_digest_whose_send_may_have_happened_is_never_sent_twice(
    week: None, services: Services, slack: FakeSlack
) -> None:
    slot = MONDAY_NOON_UTC - timedelta(hours=3)
    with services.new_session() as session:
        session.add(DigestDelivery(team_id="T0PEERS01", user_id=ANA, slot_at=slot, status="sending",
                                   claimed_until=MONDAY_NOON_UTC - timedelta(hours=1)))  # fmt: skip
        session.commit()
    run_pass(services, MONDAY_NOON_UTC)
    assert dms(slack, ANA) == []


@pytest.fixture
def people(driver: SlackDriver, services: Services, slack: FakeSlack) -> list[str]:
    """Four people (Ben in New York, the others in Europe) with a save each: four digests due this afternoon."""
    everyone = [ANA, BEN, "U0DAVE0001", "U0ERIN001"]
    for who in everyone[2:]:
        slack.add_user(who, who[2:6].title())
    services.clock = lambda: MONDAY_NOON_UTC - timedelta(days=1)
    for n, who in enumerate(everyone):
        driver.command(f"save https://example.com/reading-{n}", user=who)
    return everyone


def test_a_bulk_pass_records_each_digest_and_a_crash_midway_resends_none(
    people: list[str], services: Services, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = web_client(services.settings)
    post = client.chat_postMessage
    tried: list[str] = []

    def dies_on_the_second(**kwargs: Any) -> Any:
        tried.append(kwargs["channel"])
        if len(tried) == 2:
            raise RuntimeError("the process was killed")
        return post(**kwargs)

    monkeypatch.setattr(client, "chat_postMessage", dies_on_the_second)
    services.clock = lambda: AFTERNOON
    with pytest.raises(RuntimeError):
        DigestPass(services, client, pace_seconds=0).run("T0PEERS01", now=AFTERNOON)
    first, second = tried
    status = {d.user_id: d.status for d in deliveries(services)}
    assert status[first] == "sent" and status[second] == "sending"  # may have gone out: never again
    assert all(status[p] == "claimed" for p in people if p not in tried)

    run_pass(services, AFTERNOON + LEASE + timedelta(minutes=1))  # the claims left behind expire
    assert dms(slack, second) == []
    assert all(len(dms(slack, p)) == 1 for p in people if p != second)
    finished = [d for d in deliveries(services) if d.user_id != second]
    assert all(d.status == "sent" and d.message_ts and d.attempts == 1 and d.sent_at for d in finished)


def test_a_pass_that_outlives_its_claims_leaves_the_rest_to_the_pass_that_took_them_over(
    people: list[str], services: Services, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = web_client(services.settings)
    post = slow.chat_postMessage

    def stalls_past_the_lease(**kwargs: Any) -> Any:
        posted = post(**kwargs)
        if not slow_sent:  # Slack keeps this pass waiting; meanwhile its other claims expire and are taken over
            run_pass(services, AFTERNOON + LEASE + timedelta(minutes=1))
        slow_sent.append(kwargs["channel"])
        return posted

    slow_sent: list[str] = []
    monkeypatch.setattr(slow, "chat_postMessage", stalls_past_the_lease)
    result = DigestPass(services, slow, pace_seconds=0).run("T0PEERS01", now=AFTERNOON)
    assert len(slow_sent) == 1 and result.sent == 1 and result.not_due == len(people) - 1
    assert all(len(dms(slack, who)) == 1 for who in people)
    assert all(d.status == "sent" for d in deliveries(services))


def test_many_time_zones_are_read_a_page_at_a_time_not_one_person_each(
    driver: SlackDriver, services: Services, slack: FakeSlack
) -> None:
    people = [f"U0P{n:07d}" for n in range(24)]
    for who in people:
        slack.add_user(who, who[-4:])
    organisation = "U0GRID0001"  # a colleague from another workspace of the organisation: not in users.list
    slack.add_user(organisation, "Grid")
    gone = "U0GONE0001"
    slack.add_user(gone, "Gone")
    services.clock = lambda: MONDAY_NOON_UTC - timedelta(days=8)
    for who in [*people, organisation, gone]:
        driver.command(f"save https://example.com/reading-{who}", user=who)
    slack.users[organisation].update(team_id="T0OTHER01", enterprise_user={"id": organisation})
    slack.users[gone]["deleted"] = True  # deactivated since
    for n, who in enumerate([*people, organisation]):  # since then, half of them moved to Tokyo
        slack.users[who]["tz"] = "Asia/Tokyo" if n % 2 else "America/New_York"
    slack.users_page = 10
    slack.reset_calls()

    run_pass(services, MONDAY_NOON_UTC + timedelta(hours=3))  # 15:00 UTC: past 09:00 in Tokyo and New York
    members = [u for u in slack.users.values() if u["team_id"] == "T0PEERS01"]
    assert len(slack.calls_to("users.list")) == -(-len(members) // 10)  # the directory, 10 people a page
    assert [c.params["user"] for c in slack.calls_to("users.info")] == [organisation]
    slots = {d.user_id: d.slot_at for d in deliveries(services)}
    tokyo, new_york = MONDAY_NOON_UTC - timedelta(hours=12), MONDAY_NOON_UTC + timedelta(hours=2)
    del slots[gone]  # still due: their profile from before stands
    assert slots == {who: tokyo if n % 2 else new_york for n, who in enumerate([*people, organisation])}

    slack.reset_calls()
    run_pass(services, MONDAY_NOON_UTC + timedelta(hours=3, minutes=1))  # a minute later: nobody asked about again
    assert slack.calls_to("users.list") == [] and slack.calls_to("users.info") == []


def test_rate_limits_are_waited_out_and_other_errors_retried(week: None, services: Services, slack: FakeSlack) -> None:
    slack.reset_calls()
    slack.fail("chat.postMessage", status=429, retry_after=1)
    run_pass(services, MONDAY_NOON_UTC)
    attempts = slack.calls_to("chat.postMessage")
    assert [a.params["channel"] for a in attempts[:2]] == [ANA, ANA] and attempts[1].at - attempts[0].at >= 0.95
    assert len(dms(slack, ANA)) == 2  # the 429'd attempt and the one that went through: one digest delivered

    with services.new_session() as session:
        for delivery in session.exec(select(DigestDelivery)):
            session.delete(delivery)
        session.commit()
    slack.reset_calls()
    slack.fail_with("chat.postMessage", "internal_error", times=1)
    failed = run_pass(services, MONDAY_NOON_UTC)
    assert failed.failed == 1 and [d.status for d in deliveries(services) if d.user_id == ANA] == ["failed"]
    run_pass(services, MONDAY_NOON_UTC + timedelta(minutes=1))
    assert [d.status for d in deliveries(services) if d.user_id == ANA] == ["sent"]


def test_a_huge_digest_stays_within_block_kit_limits(driver: SlackDriver, services: Services, slack: FakeSlack) -> None:
    services.clock = lambda: MONDAY_NOON_UTC - timedelta(days=1)
    for n in range(12):
        driver.command(f"save https://example.com/unread-{n}", user=ANA)
        driver.event(message(f"<https://example.com/by-ben-{n}>", user=BEN, ts=f"1764510000.{n:06d}"))
        driver.command(f"recommend <@{ANA}> https://example.com/by-ben-{n}", user=BEN)
    driver.command(f"follow <@{BEN}>", user=ANA)
    run_pass(services, MONDAY_NOON_UTC)
    [digest] = dms(slack, ANA)
    assert len(digest["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in digest["blocks"] if b["type"] == "section")


def test_digest_preview_and_settings(driver: SlackDriver, slack: FakeSlack, services: Services, week: None) -> None:
    preview = preview_text(driver, slack, ANA)
    assert "A preview of your next digest" in preview and "Recommended to you" in preview
    assert "Mondays at 09:00 (Europe/Lisbon)" in reply_text(driver.command("digest on", user=ANA))
    assert "Fridays at 09:00" in reply_text(driver.command("digest day fri", user=ANA))
    assert "Fridays at 16:30" in reply_text(driver.command("digest time 16:30", user=ANA))
    assert "isn't a day" in reply_text(driver.command("digest day someday", user=ANA))
    assert "isn't a time" in reply_text(driver.command("digest time 4pm", user=ANA))
    assert "Your digest is off" in reply_text(driver.command("digest off", user=ANA))
    with services.new_session() as session:
        ana = session.exec(select(Person).where(Person.user_id == ANA)).one()
    assert (ana.digest_enabled, ana.digest_day, ana.digest_time, ana.tz) == (False, 4, "16:30", "Europe/Lisbon")
    run_pass(services, datetime(2026, 12, 4, 17, 0, tzinfo=UTC))  # a Friday, after 16:30 in Lisbon
    assert [d for d in deliveries(services) if d.user_id == ANA] == []


def test_digest_run_serves_the_bots_workspace_and_dry_run_prints(
    week: None, services: Services, slack: FakeSlack
) -> None:
    [result] = run_digests(services, now=MONDAY_NOON_UTC, dry_run=True)
    assert deliveries(services) == []  # a dry run claims nothing
    [(user, _, shown)] = [p for p in result.previews if p[0] == ANA]
    from bot.slack.render import blocks_to_text

    text = blocks_to_text(shown)
    assert "Recommended to you" in text and "(https://example.com/postmortem-culture)" in text and "[Save]" in text


# Monday 09:00 first comes round at UTC+14 (Kiritimati): 19:00 UTC the Sunday before.
NEXT_MONDAY_ANYWHERE = datetime(2026, 12, 6, 19, 0, tzinfo=UTC)
TUESDAY = MONDAY_NOON_UTC + timedelta(days=1)


def test_a_pass_with_nothing_left_records_when_to_look_again_and_until_then_asks_slack_nothing(
    week: None, services: Services, slack: FakeSlack
) -> None:
    run_digests(services, now=AFTERNOON)  # sends Ana's and skips Ben's
    [busy] = run_digests(services, now=AFTERNOON + timedelta(minutes=1))
    assert busy.next_at == AFTERNOON + timedelta(hours=1)  # it is 09:00 at UTC-07:00 then: someone new could be due
    [settled] = run_digests(services, now=TUESDAY)  # Monday 09:00 has passed everywhere
    assert settled.next_at == NEXT_MONDAY_ANYWHERE  # it comes round first at UTC+14
    from storage import peek

    cron_sees = peek.recorded(services.settings.database_url, services.settings.digest_basis())  # without SQLAlchemy
    assert cron_sees is not None and cron_sees.next_at == NEXT_MONDAY_ANYWHERE
    slack.reset_calls()
    [quiet] = run_digests(services, now=TUESDAY + timedelta(days=2))
    assert (quiet.sent, quiet.next_at) == (0, NEXT_MONDAY_ANYWHERE)
    assert slack.calls == []  # not even auth.test
    run_digests(services, now=NEXT_MONDAY_ANYWHERE)
    assert slack.calls_to("auth.test")  # the recorded instant came: a full pass looked


def test_a_new_digest_day_sooner_than_the_recorded_instant_is_kept(
    driver: SlackDriver, week: None, services: Services, slack: FakeSlack
) -> None:
    run_digests(services, now=AFTERNOON)
    [settled] = run_digests(services, now=TUESDAY)
    assert settled.next_at == NEXT_MONDAY_ANYWHERE
    assert "Friday" in reply_text(driver.command("digest day friday", user=ANA))
    friday_noon = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # past 09:00 in Lisbon, two days before that instant
    run_digests(services, now=friday_noon)
    assert len(dms(slack, ANA)) == 2  # Monday's, and Friday's on her new day


def test_a_change_made_during_a_pass_is_not_overwritten_by_what_the_pass_found(services: Services) -> None:
    from storage import people, schedule

    basis = services.settings.digest_basis()
    seen = schedule.begin(services.engine, basis, now=MONDAY_NOON_UTC)
    with services.new_session() as session:  # meanwhile someone moves their digest
        people.set_digest(session=session, team_id="T0PEERS01", user_id=ANA, now=MONDAY_NOON_UTC, day=4)
    schedule.record(services.engine, basis, NEXT_MONDAY_ANYWHERE, seen=seen, now=MONDAY_NOON_UTC)
    with services.engine.connect() as connection:
        recorded = schedule.peek(connection, basis)
    assert recorded is not None and recorded.next_at < MONDAY_NOON_UTC  # the next pass looks


def test_a_digest_slack_refused_for_good_does_not_keep_every_pass_busy(
    week: None, services: Services, slack: FakeSlack
) -> None:
    slack.fail_with("chat.postMessage", "channel_not_found", times=100)
    for minute in range(6):
        run_digests(services, now=AFTERNOON + timedelta(minutes=minute))
    [after] = run_digests(services, now=TUESDAY)
    assert [d.attempts for d in deliveries(services) if d.user_id == ANA] == [5]
    assert after.next_at == NEXT_MONDAY_ANYWHERE


def test_the_weeks_top_is_read_once_per_pass_whatever_the_time_zones(
    week: None, services: Services, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.services.digests.delivery as delivery

    reads: list[datetime] = []
    real = delivery.week_before

    def counted(session: Any, *, team_id: str, slot: datetime) -> Any:
        reads.append(slot)
        return real(session, team_id=team_id, slot=slot)

    monkeypatch.setattr(delivery, "week_before", counted)
    run_pass(services, AFTERNOON)  # Ana's slot is 09:00 in Lisbon, Ben's 09:00 in New York
    assert {ANA, BEN} <= {d.user_id for d in deliveries(services)}
    assert reads == [MONDAY_NOON_UTC - timedelta(hours=12)]  # once, from the earliest slot (Carol's, in Tokyo)
