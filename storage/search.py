"""Full-text search behind one function: SQLite FTS5 or PostgreSQL tsvector, same results.

The `search_doc` table is created by migration 0002 in the shape each backend wants and is kept
outside SQLModel's metadata. Documents are written by the application whenever what they index
changes (`index_item`, `index_note`), so both backends index the same text. On PostgreSQL a
document also carries who may see it and how recent it is, for its index (migration 0013).
"""

from __future__ import annotations

import math
import re

from sqlalchemy import text
from sqlmodel import Session

SEARCH_TABLE = "search_doc"
_WORD = re.compile(r"\w+", re.UNICODE)
# Matches are ranked by relevance among the most recently indexed ones, so a word that appears in
# a hundred thousand items costs no more than one in a few thousand.
RANK_WINDOW = 2000


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """For Alembic: leave the search table (and FTS5's shadow tables) out of model comparison."""
    if type_ == "table" and name is not None:
        return name != SEARCH_TABLE and not name.startswith(SEARCH_TABLE + "_")
    return True


def _replace(session: Session, *, team_id: str, item_id: int, user_id: str | None, body: str) -> None:
    user_clause = "user_id IS NULL" if user_id is None else "user_id = :user_id"
    params = {"item_id": item_id, "user_id": user_id, "team_id": team_id, "body": body}
    session.execute(text(f"DELETE FROM search_doc WHERE item_id = :item_id AND {user_clause}"), params)
    if body.strip():
        session.execute(
            text(
                "INSERT INTO search_doc (team_id, item_id, user_id, body) VALUES (:team_id, :item_id, :user_id, :body)"
            ),
            params,
        )


def index_item(session: Session, *, team_id: str, item_id: int, parts: list[str | None]) -> None:
    """(Re)write the shared document of an item: title, description, tags, site, author."""
    _replace(session, team_id=team_id, item_id=item_id, user_id=None, body=" ".join(p for p in parts if p))


def index_note(session: Session, *, team_id: str, item_id: int, user_id: str, note: str | None) -> None:
    """(Re)write a person's own note on an item; only they find the item by it."""
    _replace(session, team_id=team_id, item_id=item_id, user_id=user_id, body=note or "")


def forget_item(session: Session, *, item_id: int) -> None:
    session.execute(text("DELETE FROM search_doc WHERE item_id = :item_id"), {"item_id": item_id})


def matching_item_ids(session: Session, *, team_id: str, user_id: str, words: str, limit: int = 200) -> list[int]:
    """Items whose document (or the asker's own note) holds every word, best matches first.

    Relevance (bm25 on SQLite, ts_rank on PostgreSQL) orders the RANK_WINDOW newest matches the
    asker may see (public items, and private ones they shared, saved, recommended or were sent).
    """
    terms = _WORD.findall(words.lower())
    if not terms:
        return []
    ids = _ranked(session, team_id, user_id, terms, prefix=False, limit=limit)
    # The last word may be half typed ("kube"): when whole words find nothing, widen it to a prefix.
    # When they find something, every match holds the last word as typed, so it is a whole word.
    # Whole words first keeps common words cheap (a prefix can match a tenth of everything); one or
    # two letters would match everything.
    if not ids and len(terms[-1]) >= 3:
        ids = _ranked(session, team_id, user_id, terms, prefix=True, limit=limit)
    return list(dict.fromkeys(ids))[:limit]  # an item matched by its document and the asker's note counts once


# Only what the asker may see (storage.items.visible_to, written out for these hand-written
# queries), decided before the best are chosen: a cut made first would drop matches they may see.
_VISIBLE = (
    "(EXISTS (SELECT 1 FROM item WHERE item.id = search_doc.item_id AND item.is_public)"
    " OR EXISTS (SELECT 1 FROM share WHERE share.item_id = search_doc.item_id AND share.user_id = :user_id)"
    " OR EXISTS (SELECT 1 FROM save WHERE save.item_id = search_doc.item_id AND save.user_id = :user_id)"
    " OR EXISTS (SELECT 1 FROM recommendation WHERE recommendation.item_id = search_doc.item_id"
    " AND (recommendation.from_user_id = :user_id OR recommendation.to_user_id = :user_id)))"
)


def _ranked(session: Session, team_id: str, user_id: str, terms: list[str], *, prefix: bool, limit: int) -> list[int]:
    last = len(terms) - 1
    if session.get_bind().dialect.name != "sqlite":
        query = " & ".join(f"{t}:*" if prefix and i == last else t for i, t in enumerate(terms))
        return _ranked_postgres(session, team_id, user_id, query, limit=limit)
    # Each word quoted, so nothing people type is read as FTS5 syntax. FTS5 walks the matches
    # newest first, so the visibility test runs only until the window is full.
    params = {"team_id": team_id, "user_id": user_id, "limit": limit, "window": RANK_WINDOW}
    params["query"] = " ".join(f'"{t}"*' if prefix and i == last else f'"{t}"' for i, t in enumerate(terms))
    sql = (
        "SELECT item_id FROM (SELECT item_id, rank FROM search_doc WHERE search_doc MATCH :query "
        f"AND team_id = :team_id AND (user_id IS NULL OR user_id = :user_id) AND {_VISIBLE} "
        "ORDER BY rowid DESC LIMIT :window) ORDER BY rank LIMIT :limit"
    )
    return [int(row[0]) for row in session.execute(text(sql), params)]


# PostgreSQL's GIN index gives its matches in no order, and reading each matching row to learn its
# age and audience cost 100-500 ms for a common word at 1M items. So each document also holds
# marker lexemes (migration 0013): its workspace, its audience and its span of 2**14 documents
# ("recent N"). Public matches and the asker's notes are asked for the two newest spans first, then
# for as many older spans as the matches so far say will fill the window (at least twice as many),
# and once that would list more than _MOST_SPANS (or, for a prefix, reach the oldest), for all that
# is left: the index does the narrowing, and about as many rows are read as are ranked. A prefix
# ("kube:*") is expanded by the index again in every query, so it starts with four spans. Private
# items are found through the few the asker shared, saved, recommended or was sent. A note is
# written on its writer's save, so its writer may see it.
_SPAN_BITS = 14
_MOST_SPANS = 64  # a longer list of spans costs the index more than reading what is left
_MATCHES = (
    "SELECT id, item_id, ts_rank(document, q) FROM search_doc, to_tsquery('english', :query) AS q "
    "WHERE document @@ q AND document @@ CAST(:markers AS tsquery) AND team_id = :team_id AND id < :below "
    "ORDER BY id DESC LIMIT :window"
)
_PRIVATE_MATCHES = (
    "SELECT id, item_id, ts_rank(document, q) FROM search_doc, to_tsquery('english', :query) AS q "
    "WHERE item_id = ANY(ARRAY(SELECT item_id FROM share WHERE team_id = :team_id AND user_id = :user_id"
    " UNION SELECT item_id FROM save WHERE team_id = :team_id AND user_id = :user_id"
    " UNION SELECT item_id FROM recommendation WHERE team_id = :team_id"
    " AND (from_user_id = :user_id OR to_user_id = :user_id))) "
    "AND id > :oldest AND user_id IS NULL AND NOT is_public AND document @@ q AND team_id = :team_id "
    "ORDER BY id DESC LIMIT :window"
)


def _lexeme(word: str) -> str:
    """A tsquery operand taken as it is (quoted), for a marker lexeme."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _ranked_postgres(session: Session, team_id: str, user_id: str, query: str, *, limit: int) -> list[int]:
    # A search over many matches is estimated costly enough for PostgreSQL to compile it (JIT),
    # which costs more than the query itself: 15-20 ms each time, measured at 1M items.
    session.execute(text("SET LOCAL jit = off"))
    params: dict[str, object] = {"team_id": team_id, "user_id": user_id, "query": query, "window": RANK_WINDOW}
    # Every document is of one workspace; its marker is worth asking for only when there are others
    # (it is the longest list in the index: a few ms to intersect at 1M documents).
    oldest_id, newest_id, others = session.execute(
        text("SELECT min(id), max(id), EXISTS (SELECT 1 FROM workspace WHERE team_id <> :team_id) FROM search_doc"),
        params,
    ).one()
    if newest_id is None:
        return []
    audience = f"('public' | {_lexeme('note ' + user_id)})"
    if others:
        audience = f"{_lexeme('team ' + team_id)} & {audience}"
    prefix = query.endswith(":*")
    found: list[tuple[int, int, float]] = []  # document id, item id, rank
    first, span = int(oldest_id) >> _SPAN_BITS, int(newest_id) >> _SPAN_BITS  # span: the newest not asked for
    count = 4 if prefix else 2
    while span >= first and len(found) < RANK_WINDOW:
        if count > _MOST_SPANS or (prefix and span - count < first):  # everything older, in one query
            count = span - first + 1
            markers, below = audience, (span + 1) << _SPAN_BITS
        else:
            spans = " | ".join(_lexeme(f"recent {n}") for n in range(span, max(span - count, first - 1), -1))
            markers, below = f"{audience} & ({spans})", int(newest_id) + 1
        for doc_id, item_id, rank in session.execute(text(_MATCHES), {**params, "markers": markers, "below": below}):
            found.append((int(doc_id), int(item_id), float(rank)))
        span -= count
        per_id = len(found) / (int(newest_id) + 1 - ((span + 1) << _SPAN_BITS))
        wanted = (RANK_WINDOW - len(found)) / per_id * 1.25 if found else float(newest_id)
        count = max(count * 2, math.ceil(wanted / (1 << _SPAN_BITS)))
    # Each query asked for older documents than the last, so `found` is newest first. Private
    # documents older than a full window of public ones cannot be in the window.
    oldest = found[RANK_WINDOW - 1][0] if len(found) >= RANK_WINDOW else 0
    for doc_id, item_id, rank in session.execute(text(_PRIVATE_MATCHES), {**params, "oldest": oldest}):
        found.append((int(doc_id), int(item_id), float(rank)))
    window = sorted(found, reverse=True)[:RANK_WINDOW]  # the newest the asker may see
    window.sort(key=lambda match: (-match[2], -match[0]))
    return [item_id for _, item_id, _ in window[:limit]]
