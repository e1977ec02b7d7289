"""Notes keyed by their message, not their permalink; typed links recorded in no channel

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 12:10:00.000000

A saved Slack message (a note) was keyed by its permalink, so anyone who typed or posted that
link reached the note and its words, even from a private channel. Notes are keyed
`urn:peershelf:note:<channel>:<ts>` now (storage.visibility.note_key), and remember who wrote the
message they quote (`item.quoted_user_id`, unknown for notes saved before this), so that their
words follow the message. A link typed into a command was recorded as a private share in the
channel it was typed in, where a roundup counted it; it is recorded in no channel now.
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTE = "urn:peershelf:note:"
OLD_KEY = "urn:peershelf:message:"
ITEM = sa.table(
    "item",
    *(sa.column(name) for name in ("team_id", "canonical_url", "url", "kind", "is_public", "fetch_state")),
    sa.column("fetch_attempts"),
    sa.column("created_at", storage.types.UTCDateTime()),
    sa.column("updated_at", storage.types.UTCDateTime()),
)
PERMALINK = re.compile(r"/archives/([A-Z0-9]+)/p(\d{7,})(?:[?#].*)?$")


def _message_of(key: str) -> tuple[str, str] | None:
    """(channel, ts) of an old note key: a permalink or urn:peershelf:message:<channel>:<ts>."""
    if key.startswith(OLD_KEY):
        channel, _, ts = key[len(OLD_KEY) :].partition(":")
        return (channel, ts) if channel and ts else None
    found = PERMALINK.search(key)
    if found is None:
        return None
    digits = found.group(2)
    return found.group(1), f"{digits[:-6]}.{digits[-6:]}"


def _rekey(rows: list[tuple[int, str, str]], new_key: object) -> None:
    bind = op.get_bind()
    item = sa.table("item", sa.column("id"), sa.column("team_id"), sa.column("canonical_url"))
    taken = {(team, key) for _, team, key in rows}
    for item_id, team_id, key in rows:
        target = new_key(key)  # type: ignore[operator]
        if target is None or (team_id, target) in taken:
            continue  # not a note's key after all, or two keys of one message: left as it was
        taken.add((team_id, target))
        bind.execute(sa.update(item).where(item.c.id == item_id).values(canonical_url=target))


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quoted_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    bind = op.get_bind()
    notes = bind.execute(
        sa.text(
            "SELECT id, team_id, canonical_url FROM item WHERE fetch_state = 'none' AND kind = 'other' "
            "AND (canonical_url LIKE 'urn:peershelf:message:%' OR canonical_url LIKE '%/archives/%')"
        )
    ).all()

    def note_key(key: str) -> str | None:
        message = _message_of(key)
        return f"{NOTE}{message[0]}:{message[1]}" if message else None

    _rekey([(int(i), str(t), str(k)) for i, t, k in notes], note_key)
    _part_links_from_notes()
    bind.execute(sa.text("UPDATE share SET channel_id = '' WHERE channel_type = 'command'"))


def _part_links_from_notes() -> None:
    """Shares that reached a note by its permalink (typed or posted) were never the note's: they
    move to an item of their own for that link. A note is then public only when its channel is
    known to be public, whatever a posted permalink made of it."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(
        sa.text(
            "SELECT item.id, item.team_id, item.url FROM item WHERE item.canonical_url LIKE 'urn:peershelf:note:%' "
            "AND EXISTS (SELECT 1 FROM share WHERE share.item_id = item.id)"
        )
    ).all()
    for note_id, team_id, url in rows:
        taken = bind.execute(
            sa.text("SELECT id FROM item WHERE team_id = :team AND canonical_url = :url"), {"team": team_id, "url": url}
        ).first()
        if taken is None:
            bind.execute(
                sa.insert(ITEM).values(
                    team_id=team_id, canonical_url=url, url=url, kind="other", is_public=False, fetch_state="none",
                    fetch_attempts=0, created_at=now, updated_at=now,
                )
            )  # fmt: skip
            taken = bind.execute(
                sa.text("SELECT id FROM item WHERE team_id = :team AND canonical_url = :url"),
                {"team": team_id, "url": url},
            ).first()
        assert taken is not None
        bind.execute(
            sa.text("UPDATE share SET item_id = :link WHERE item_id = :note"), {"link": taken[0], "note": note_id}
        )
        bind.execute(
            sa.text(
                "UPDATE item SET is_public = EXISTS (SELECT 1 FROM share WHERE share.item_id = item.id "
                "AND NOT share.is_private) WHERE id = :link"
            ),
            {"link": taken[0]},
        )
    bind.execute(
        sa.text(
            "UPDATE item SET is_public = EXISTS (SELECT 1 FROM channel WHERE channel.team_id = item.team_id"
            " AND NOT channel.is_private"
            " AND item.canonical_url LIKE 'urn:peershelf:note:' || channel.channel_id || ':%')"
            " WHERE canonical_url LIKE 'urn:peershelf:note:%'"
        )
    )


def downgrade() -> None:
    bind = op.get_bind()
    notes = bind.execute(
        sa.text("SELECT id, team_id, canonical_url FROM item WHERE canonical_url LIKE 'urn:peershelf:note:%'")
    ).all()
    _rekey([(int(i), str(t), str(k)) for i, t, k in notes], lambda key: OLD_KEY + key[len(NOTE) :])
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("quoted_user_id")
