"""Messages edited or deleted live, so that a history import page read before does not bring them back

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:30:00.000000

A page of the history import is read from Slack, then written: a message edited or deleted while
it was in hand would be written as it was. The live capture of its edit or deletion leaves a
`message_revision` row (for a day), and the page skips the messages revised since it was read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_revision",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("revised_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_revision")),
        sa.UniqueConstraint(
            "team_id", "channel_id", "message_ts", name=op.f("uq_message_revision_team_id_channel_id_message_ts")
        ),
    )
    with op.batch_alter_table("message_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_revision_revised_at"), ["revised_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_revision_revised_at"))
    op.drop_table("message_revision")
