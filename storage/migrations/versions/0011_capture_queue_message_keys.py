"""Capture queue: a key per message, so a message's edit or deletion is captured after it

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 23:50:18.444990
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("capture_queue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_capture_queue_message_key"), ["message_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("capture_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capture_queue_message_key"))
        batch_op.drop_column("message_key")
