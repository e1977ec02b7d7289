"""Who is in which of the bot's channels, and when each workspace's are next read from Slack

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 10:30:00.000000

The weekly digest will pick items from the channels a person is in ("popular in #eng-python,
where you are"), so Peershelf keeps the members of the conversations the bot is in
(`channel_member`, from conversations.members and the join and leave events), and when each
workspace's are next due to be read again (`workspace.members_due_at`; None, as every existing
workspace starts: at once).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_member",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("seen_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_member")),
        sa.UniqueConstraint(
            "team_id", "channel_id", "user_id", name=op.f("uq_channel_member_team_id_channel_id_user_id")
        ),
    )
    with op.batch_alter_table("channel_member", schema=None) as batch_op:
        batch_op.create_index("ix_channel_member_team_user", ["team_id", "user_id"], unique=False)
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("members_due_at", storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("members_due_at")
    with op.batch_alter_table("channel_member", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_member_team_user")
    op.drop_table("channel_member")
