"""Who is in which channel: read from Slack (every page of it) when a workspace installs and weekly
after, kept current by join and leave events, shown only for channels known to be public, and
gone with the person who asks to be forgotten, the channel the bot leaves and the workspace that
leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

import storage.channels
from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import BOT_USER_ID, TEAM_ID, FakeSlack
from bot.services import Services
from bot.services.forgetting import forget_me
from bot.services.leaving import forget
from bot.services.members import members_of, public_channels_of, refresh_due_members, refresh_members
from storage.channels import set_members
from storage.models import ChannelMember
from storage.workspaces import claim_members, upsert_workspace
from tests.helpers import held_half_way, wait_for

ANA, BEN, CAROL = "U0ANA0001", "U0BEN0001", "U0CAROL01"
ENG, LEADS, GENERAL = "C0ENGPY001", "G0LEADS001", "C0GENERAL1"
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def workspace(slack: FakeSlack, services: Services) -> None:
    """#general (Ana and Ben), #eng-python (Ana, Ben and Carol) and a private channel (Ana, Carol)."""
    services.clock = lambda: NOON
    slack.add_user(CAROL, "Carol")
    slack.add_channel(GENERAL, "general", members=[ANA, BEN])
    slack.add_channel(ENG, "eng-python", members=[ANA, BEN, CAROL])
    slack.add_channel(LEADS, "leads", private=True, members=[ANA, CAROL])


def channels_of(services: Services, *people: str) -> dict[str, set[str]]:
    return public_channels_of(services, team_id=TEAM_ID, user_ids=list(people))


def rows(services: Services, team_id: str = TEAM_ID) -> set[tuple[str, str]]:
    with services.new_session() as session:
        found = session.exec(select(ChannelMember).where(ChannelMember.team_id == team_id))
        return {(m.channel_id, m.user_id) for m in found}


def membership(user: str, channel: str, *, joined: bool = True) -> dict[str, str]:
    kind = "member_joined_channel" if joined else "member_left_channel"
    return {"type": kind, "user": user, "channel": channel, "channel_type": channel[0], "event_ts": "1765108800.000100"}


def test_a_refresh_knows_the_members_slack_reports_on_every_page(slack: FakeSlack, services: Services) -> None:
    slack.members_page = 2  # conversations.members pages through #eng-python: four names, two a call
    assert refresh_members(services, TEAM_ID) == 3
    assert members_of(services, team_id=TEAM_ID, channel_ids=[ENG, GENERAL]) == {
        ENG: {ANA, BEN, CAROL, BOT_USER_ID},
        GENERAL: {ANA, BEN, BOT_USER_ID},
    }
    assert channels_of(services, ANA, BEN, CAROL) == {ANA: {ENG, GENERAL}, BEN: {ENG, GENERAL}, CAROL: {ENG}}
    eng_calls = [c.params for c in slack.calls_to("conversations.members") if c.params["channel"] == ENG]
    assert [c.get("cursor") for c in eng_calls] == [None, "offset:2"]
    # users.conversations named the channels, private ones too (groups:read); no more was asked.
    assert "private_channel" in slack.calls_to("users.conversations")[0].params["types"]


def test_a_private_channels_members_never_show(slack: FakeSlack, services: Services) -> None:
    refresh_members(services, TEAM_ID)
    assert (LEADS, CAROL) in rows(services)  # Slack's word is kept ...
    assert channels_of(services, ANA, CAROL) == {ANA: {ENG, GENERAL}, CAROL: {ENG}}
    assert members_of(services, team_id=TEAM_ID, channel_ids=[LEADS]) == {}  # ... and never shown


def test_a_channel_made_private_drops_out_at_once(driver: SlackDriver, services: Services) -> None:
    refresh_members(services, TEAM_ID)
    assert ENG in channels_of(services, CAROL)[CAROL]
    made_private = {"type": "message", "subtype": "channel_convert_to_private", "channel": ENG, "user": ANA,
                    "channel_type": "channel", "ts": "1765108800.000200", "text": "made private"}  # fmt: skip
    assert driver.event(made_private).status_code == 200
    assert channels_of(services, ANA, CAROL) == {ANA: {GENERAL}}
    assert members_of(services, team_id=TEAM_ID, channel_ids=[ENG]) == {}


def test_a_join_then_a_leave_change_the_channels_someone_is_in(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    refresh_members(services, TEAM_ID)
    assert channels_of(services, CAROL) == {CAROL: {ENG}}
    assert driver.event(membership(CAROL, GENERAL)).status_code == 200
    assert channels_of(services, CAROL) == {CAROL: {ENG, GENERAL}}
    assert driver.event(membership(CAROL, ENG, joined=False)).status_code == 200
    assert channels_of(services, CAROL) == {CAROL: {GENERAL}}
    assert not slack.calls_to("chat.postEphemeral") and not slack.calls_to("chat.postMessage")  # quietly


def test_a_channel_whose_privacy_is_unknown_counts_as_private(driver: SlackDriver, services: Services) -> None:
    driver.event(membership(ANA, "C0NEVERSEEN"))  # Slack was never asked about this channel
    assert ("C0NEVERSEEN", ANA) in rows(services)
    assert channels_of(services, ANA) == {}


def test_the_bot_joining_reads_the_channel_and_leaving_forgets_it(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    assert driver.event(membership(BOT_USER_ID, ENG)).status_code == 200
    assert wait_for(lambda: members_of(services, team_id=TEAM_ID, channel_ids=[ENG]))[ENG] >= {ANA, BEN, CAROL}
    assert [c.params["channel"] for c in slack.calls_to("conversations.members")] == [ENG]
    driver.event(membership(BOT_USER_ID, ENG, joined=False))
    assert not {row for row in rows(services) if row[0] == ENG}


def test_an_install_is_read_by_the_next_pass_and_then_weekly(slack: FakeSlack, services: Services) -> None:
    with services.new_session() as session:
        upsert_workspace(session=session, team_id=TEAM_ID, name="Acme", bot_user_id=BOT_USER_ID, now=NOON)
    assert refresh_due_members(services) == [TEAM_ID]
    assert members_of(services, team_id=TEAM_ID, channel_ids=[GENERAL]) == {GENERAL: {ANA, BEN, BOT_USER_ID}}
    slack.leave(GENERAL, BEN)
    slack.reset_calls()
    services.clock = lambda: NOON + timedelta(days=6)
    assert refresh_due_members(services) == [] and not slack.calls  # one query, no call to Slack
    services.clock = lambda: NOON + timedelta(days=7)
    assert refresh_due_members(services) == [TEAM_ID]
    assert members_of(services, team_id=TEAM_ID, channel_ids=[GENERAL]) == {GENERAL: {ANA, BOT_USER_ID}}


def test_a_reading_is_claimed_by_one_process_and_retried_when_slack_is_away(
    slack: FakeSlack, services: Services
) -> None:
    with services.new_session() as session:
        upsert_workspace(session=session, team_id=TEAM_ID, name="Acme", bot_user_id=BOT_USER_ID, now=NOON)
        assert claim_members(session=session, team_id=TEAM_ID, now=NOON, retry=timedelta(hours=1))
        assert not claim_members(session=session, team_id=TEAM_ID, now=NOON, retry=timedelta(hours=1))
    assert refresh_due_members(services) == []  # the other process holds it
    services.clock = lambda: NOON + timedelta(hours=1)  # it died without reading: due again
    slack.fail_with("users.conversations", "internal_error")
    assert refresh_due_members(services) == [] and rows(services) == set()
    services.clock = lambda: NOON + timedelta(hours=2)
    assert refresh_due_members(services) == [TEAM_ID]
    assert channels_of(services, CAROL) == {CAROL: {ENG}}


def test_forget_me_removes_the_persons_memberships(services: Services) -> None:
    refresh_members(services, TEAM_ID)
    forget_me(services, team_id=TEAM_ID, user_id=CAROL)
    assert not {row for row in rows(services) if row[1] == CAROL}
    assert channels_of(services, ANA, CAROL) == {ANA: {ENG, GENERAL}}


def test_a_workspace_that_leaves_takes_its_memberships(driver: SlackDriver, services: Services) -> None:
    refresh_members(services, TEAM_ID)
    with services.new_session() as session:
        set_members(session=session, team_id="T0OTHER001", channel_id=GENERAL, user_ids=[ANA], now=NOON)
    driver.event({"type": "app_uninstalled"})
    assert rows(services) == set()  # at once: nothing keeps them current any more
    assert rows(services, "T0OTHER001") == {(GENERAL, ANA)}
    forget(services, "T0OTHER001")
    assert rows(services, "T0OTHER001") == set()


@pytest.mark.parametrize("recorded", [[], [ANA, BEN, CAROL]], ids=["none-yet", "some"])
def test_two_refreshes_racing_leave_exactly_slacks_list(
    monkeypatch: pytest.MonkeyPatch, services: Services, recorded: list[str]
) -> None:
    with services.new_session() as session:
        set_members(session=session, team_id=TEAM_ID, channel_id=ENG, user_ids=recorded, now=NOON)

    def refresh(user_ids: list[str], channel_id: str = ENG) -> None:
        with services.new_session() as session:
            set_members(session=session, team_id=TEAM_ID, channel_id=channel_id, user_ids=user_ids, now=NOON)

    # The first is held half-way (its rows written, not committed) while the second, read later
    # from Slack after Ben left and Dara joined, waits for it, then replaces what it wrote.
    waited = held_half_way(
        monkeypatch, storage.channels, "_upsert_members",
        lambda: refresh([ANA, BEN, CAROL]), lambda: refresh([ANA, CAROL, "U0DARA001"]),
    )  # fmt: skip
    assert waited
    assert rows(services) == {(ENG, ANA), (ENG, CAROL), (ENG, "U0DARA001")}

    waited = held_half_way(
        monkeypatch, storage.channels, "_upsert_members", lambda: refresh([BEN, CAROL]), lambda: refresh([BEN, CAROL])
    )
    assert waited
    assert rows(services) == {(ENG, BEN), (ENG, CAROL)}

    # A channel with no rows yet, and no name in common: no row to wait on, and the channel's lock
    # alone keeps them in turn.
    waited = held_half_way(
        monkeypatch, storage.channels, "_upsert_members",
        lambda: refresh([BEN], GENERAL), lambda: refresh(["U0DARA001"], GENERAL),
    )  # fmt: skip
    assert waited
    assert {row for row in rows(services) if row[0] == GENERAL} == {(GENERAL, "U0DARA001")}
