"""Storage helpers behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services import Services
from storage import digests
from storage.people import remember_person


def test_looking_people_up_by_id_matches_whole_ids_only(services: Services) -> None:
    longest = "W" + "0" * 31  # as long as an id column holds
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    with services.new_session() as session:
        for user_id in (longest, "U0ANA0001"):
            remember_person(session=session, team_id="T1", user_id=user_id, name=None, is_bot=False, tz=None, now=now)
        assert set(digests.people(session=session, team_id="T1", user_ids=[longest, "U0ANA0001"])) == {
            longest,
            "U0ANA0001",
        }
        assert digests.people(session=session, team_id="T1", user_ids=[longest + "1", "U0ANA"]) == {}
