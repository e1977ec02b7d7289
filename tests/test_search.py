"""Search over a long history: the same answer as reading every document, on both backends."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.services import Services
from storage import search
from storage.items import make_public
from storage.models import Item, Recommendation, Save, Share, Workspace

TEAM, OTHER_TEAM, ASKER, OTHER = "T0PEERS01", "T0OTHER01", "U0ASK0001", "U0OTH0001"
NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _item(session: Session, n: int, *, team: str = TEAM, public: bool) -> Item:
    url = f"https://example.com/{team.lower()}/{n}"
    item = Item(team_id=team, canonical_url=url, url=url, kind="article", is_public=public, created_at=NOW,
                updated_at=NOW)  # fmt: skip
    session.add(item)
    session.flush()
    return item


def _history(session: Session, rng: random.Random) -> dict[int, tuple[int, str | None, str]]:
    """Items of every audience, their words drawn at random; what was indexed, by document order."""
    session.add(Workspace(team_id=TEAM))
    session.add(Workspace(team_id=OTHER_TEAM))
    written: list[tuple[int, str | None, str]] = []  # item id, note's writer, words
    for n in range(600):
        words = " ".join(w for w in ("quokka", "zephyr", "lattice") if rng.random() < 0.5) or "plain"
        words += " quokka" * rng.randint(0, 2) if "quokka" in words else ""
        audience = rng.choice(["public", "public", "hidden", "shared", "saved", "sent", "noted", "elsewhere"])
        team = OTHER_TEAM if audience == "elsewhere" else TEAM
        item = _item(session, n, team=team, public=audience in ("public", "elsewhere"))
        assert item.id is not None
        if audience == "shared":
            session.add(Share(team_id=TEAM, item_id=item.id, user_id=ASKER, channel_id="D0ASK0001", channel_type="im",
                              is_private=True, message_ts=f"1764400000.{n:06d}"))  # fmt: skip
        elif audience in ("saved", "noted"):  # a note is written on one's save
            session.add(Save(team_id=TEAM, user_id=ASKER, item_id=item.id, saved_at=NOW))
        elif audience == "sent":
            session.add(Recommendation(team_id=TEAM, item_id=item.id, from_user_id=OTHER, to_user_id=ASKER))
        session.flush()
        search.index_item(session, team_id=team, item_id=item.id, parts=[f"Item {n}", words])
        written.append((item.id, None, words))
        if audience == "noted" or (team == TEAM and rng.random() < 0.1):  # a note: only its writer finds the item by it
            writer = ASKER if audience == "noted" else OTHER
            search.index_note(session, team_id=TEAM, item_id=item.id, user_id=writer, note="zephyr quokka")
            written.append((item.id, writer, "zephyr quokka"))
    if session.get_bind().dialect.name != "sqlite":
        # Spread the documents over many spans of the index, as a long history would be.
        session.execute(text("UPDATE search_doc SET id = id * 997 + 1000000000"))
    row_id = "rowid" if session.get_bind().dialect.name == "sqlite" else "id"
    rows = session.execute(text(f"SELECT {row_id}, item_id, user_id FROM search_doc")).all()
    order = {(item_id, user_id): int(doc_id) for doc_id, item_id, user_id in rows}
    return {order[(item_id, writer)]: (item_id, writer, words) for item_id, writer, words in written}


def _visible(session: Session, item_id: int) -> bool:
    item = session.get(Item, item_id)
    assert item is not None
    if item.team_id != TEAM:
        return False
    if item.is_public:
        return True
    for statement in (
        "SELECT 1 FROM share WHERE item_id = :i AND user_id = :u",
        "SELECT 1 FROM save WHERE item_id = :i AND user_id = :u",
        "SELECT 1 FROM recommendation WHERE item_id = :i AND (from_user_id = :u OR to_user_id = :u)",
    ):
        if session.execute(text(statement), {"i": item_id, "u": ASKER}).first():
            return True
    return False


@pytest.mark.parametrize("window", [40, 250])
def test_search_ranks_the_newest_matches_the_asker_may_see_as_reading_everything_would(
    services: Services, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    monkeypatch.setattr(search, "RANK_WINDOW", window)
    with services.new_session() as session:
        documents = _history(session, random.Random(5))
        session.commit()
    queries = {"quokka": {"quokka"}, "zephyr lattice": {"zephyr", "lattice"}, "latt": {"lattice"},
               "lattice quokka zephyr": {"quokka", "zephyr", "lattice"}}  # fmt: skip
    for query, words in queries.items():
        with services.new_session() as session:
            expected: list[int] = []  # the window, newest first
            for doc_id in sorted(documents, reverse=True):
                item_id, writer, body = documents[doc_id]
                if words <= set(body.split()) and writer in (None, ASKER) and _visible(session, item_id):
                    expected.append(item_id)
            expected = expected[:window]
            found = search.matching_item_ids(session, team_id=TEAM, user_id=ASKER, words=query, limit=window)
        assert found, query
        assert set(found) == set(expected), query  # none missed, none the asker may not see
        assert len(found) == len(set(expected))


def test_search_follows_an_item_into_and_out_of_public_view(services: Services) -> None:
    with services.new_session() as session:
        item = _item(session, 1, public=False)
        assert item.id is not None
        search.index_item(session, team_id=TEAM, item_id=item.id, parts=["Quokka field notes"])
        session.commit()
        assert search.matching_item_ids(session, team_id=TEAM, user_id=ASKER, words="quokka") == []
        make_public(session=session, item=item)  # someone shared it in a public channel
        session.commit()
        assert search.matching_item_ids(session, team_id=TEAM, user_id=ASKER, words="quokka") == [item.id]
        item.is_public = False  # the channel became private
        session.add(item)
        session.commit()
        assert search.matching_item_ids(session, team_id=TEAM, user_id=ASKER, words="quokka") == []


def test_a_half_typed_last_word_is_widened_only_when_whole_words_find_nothing(services: Services) -> None:
    with services.new_session() as session:
        ids = []
        for n, title in enumerate(["Kube tips", "Kubernetes networking", "Kubernetes storage"]):
            item = _item(session, n, public=True)
            assert item.id is not None
            search.index_item(session, team_id=TEAM, item_id=item.id, parts=[title])
            ids.append(item.id)
        session.commit()
        assert search.matching_item_ids(session, team_id=TEAM, user_id=ASKER, words="kube") == [ids[0]]
        assert set(search.matching_item_ids(session, team_id=TEAM, user_id=ASKER, words="kuber")) == set(ids[1:])
        assert search.matching_item_ids(session, team_id=TEAM, user_id=ASKER, words="ku") == []
