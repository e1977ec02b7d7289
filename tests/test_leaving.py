"""Workspaces that leave: nothing calls Slack for them once the app is uninstalled or the bot token
revoked, a reinstall resumes, and every row goes SHELF_FORGET_AFTER_DAYS later (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import text

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import TEAM_ID as TEAM
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from bot.services.digests.delivery import run_digests
from bot.services.leaving import forget, forget_departed
from bot.services.recommendation_dms import resend_undelivered
from storage.models import BOTS_TABLE, INSTALLATIONS_TABLE, Item
from storage.workspaces import has_left, upsert_workspace
from tests.helpers import items, message, reply_text, rows_mentioning

ANA, BEN = "U0ANA0001", "U0BEN0001"
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
OTHER = "T0OTHER001"


def uninstalled() -> dict[str, str]:
    return {"type": "app_uninstalled"}


def revoked(*, bot: list[str] | None = None, oauth: list[str] | None = None) -> dict[str, object]:
    return {"type": "tokens_revoked", "tokens": {"oauth": oauth or [], "bot": bot or []}}


def a_busy_week(driver: SlackDriver, services: Services) -> None:
    """Something of every kind: shares, saves, tags, notes, lists, subscriptions, follows, interests."""
    services.clock = lambda: MONDAY_NOON - timedelta(days=3)
    driver.event(message("<https://example.com/rust-async> #rust", user=BEN, ts="1764500000.000100"))
    driver.event({"type": "message", "subtype": "message_changed", "channel": "C0GENERAL1", "channel_type": "channel",
                  "hidden": True, "ts": "1764500100.000100",
                  "message": {"type": "message", "user": BEN, "text": "a must <https://example.com/rust-async> #rust",
                              "ts": "1764500000.000100"},
                  "previous_message": {"type": "message", "user": BEN, "text": "<https://example.com/rust-async> #rust",
                                       "ts": "1764500000.000100"}})  # fmt: skip
    driver.command("interests #rust", user=ANA)
    driver.command(f"follow <@{BEN}>", user=ANA)
    driver.command('list new "Systems"', user=BEN)
    driver.command('list add "Systems" https://example.com/rust-async a classic', user=BEN)
    driver.command('subscribe "Systems"', user=ANA)
    driver.command("save https://example.com/ana-reads my own words", user=ANA)
    driver.command("digest day fri", user=ANA)


def left(services: Services, team_id: str = TEAM) -> bool:
    with services.new_session() as session:
        return has_left(session=session, team_id=team_id)


def test_after_an_uninstall_nothing_calls_slack_and_a_reinstall_resumes(
    driver: SlackDriver, services: Services, slack: FakeSlack
) -> None:
    a_busy_week(driver, services)
    assert reply_text(driver.command(f"recommend <@{ANA}> https://example.com/rust-async", user=BEN))
    driver.event(uninstalled())
    assert left(services)
    slack.reset_calls()
    later = MONDAY_NOON + timedelta(days=7)
    services.clock = lambda: later
    results = run_digests(services, now=later)
    assert sum(r.sent for r in results) == 0
    assert resend_undelivered(services) == 0
    assert slack.calls_to("chat.postMessage") == [] and slack.calls_to("views.publish") == []

    # Installed again before the data was forgotten: everything is still there and digests go out.
    with services.new_session() as session:
        upsert_workspace(session=session, team_id=TEAM, name="Peers", bot_user_id="U0BOT0001", now=later)
    assert not left(services)
    assert sum(r.sent for r in run_digests(services, now=later)) >= 1
    assert len(items(services)) == 2


def test_only_a_revoked_bot_token_counts_as_leaving(driver: SlackDriver, services: Services) -> None:
    driver.event(revoked(oauth=[ANA]))
    assert not left(services)
    driver.event(revoked(bot=["B0BOT0001"]))
    assert left(services)


@pytest.mark.parametrize("event", [{"type": "tokens_revoked", "tokens": "all"}, {"type": "tokens_revoked"}])
def test_a_malformed_revocation_changes_nothing(driver: SlackDriver, services: Services, event: dict) -> None:  # type: ignore[type-arg]
    assert driver.event(event).status_code == 200
    assert not left(services)


def test_a_departed_workspace_is_forgotten_row_by_row_after_the_grace_period(
    driver: SlackDriver, services: Services
) -> None:
    a_busy_week(driver, services)
    with services.transaction() as session:  # another workspace, which must keep its item
        session.add(Item(team_id=OTHER, canonical_url="https://example.com/x", url="https://example.com/x"))
    before = rows_mentioning(services, TEAM)
    assert {"item", "share", "save", "curated_list", "subscription", "follow", "interest", "person",
            "message_revision"} <= set(before)  # fmt: skip

    gone = MONDAY_NOON
    services.clock = lambda: gone
    driver.event(uninstalled())
    services.clock = lambda: gone + timedelta(days=29)
    assert forget_departed(services) == []
    assert rows_mentioning(services, TEAM)  # still within the 30 days: nothing deleted
    services.clock = lambda: gone + timedelta(days=30, minutes=1)
    assert forget_departed(services) == [TEAM]
    assert rows_mentioning(services, TEAM) == {}
    with services.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM list_item")).scalar() == 0
    assert [i.team_id for i in items(services)] == [OTHER]


def test_forgetting_a_workspace_now_removes_its_installation_too(services: Services) -> None:
    store = SQLAlchemyInstallationStore(
        client_id="1.2",
        engine=services.engine,
        bots_table_name=BOTS_TABLE,
        installations_table_name=INSTALLATIONS_TABLE,
    )
    store.save(
        Installation(app_id="A1", team_id=TEAM, user_id=ANA, bot_token="xoxb-1", bot_id="B1", bot_user_id="U0BOT0001")
    )
    assert forget(services, TEAM) > 0
    assert rows_mentioning(services, TEAM) == {}
    assert store.find_bot(enterprise_id=None, team_id=TEAM) is None


def test_a_revoked_bot_token_is_not_tried_again_by_every_digest_run(
    driver: SlackDriver, services: Services, slack: FakeSlack
) -> None:
    driver.event(revoked(bot=["B0BOT0001"]))
    slack.fail_with("auth.test", "token_revoked", times=100)
    slack.reset_calls()
    run_digests(services, now=MONDAY_NOON)
    run_digests(services, now=MONDAY_NOON + timedelta(hours=1))
    assert len(slack.calls_to("auth.test")) == 1  # asked once; the next day's run asks again
    run_digests(services, now=MONDAY_NOON + timedelta(days=1, minutes=1))
    assert len(slack.calls_to("auth.test")) == 2
