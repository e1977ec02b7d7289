"""Notes keyed by their message, not their permalink; typed links recorded in no channel

Revision ID: 0016
Revises: 0013
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

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTE = "urn:peershelf:note:"
OLD_KEY = "urn:peershelf:message:"
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
    bind.execute(sa.text("UPDATE share SET channel_id = '' WHERE channel_type = 'command'"))


def downgrade() -> None:
    bind = op.get_bind()
    notes = bind.execute(
        sa.text("SELECT id, team_id, canonical_url FROM item WHERE canonical_url LIKE 'urn:peershelf:note:%'")
    ).all()
    _rekey([(int(i), str(t), str(k)) for i, t, k in notes], lambda key: OLD_KEY + key[len(NOTE) :])
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("quoted_user_id")
