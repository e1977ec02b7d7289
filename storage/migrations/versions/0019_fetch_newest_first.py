"""The page reader takes the newest waiting pages first

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 21:00:00.000000

Pages are read in the order people will look for them: what was shared a moment ago, then a
history import from its latest message back (`storage.items.claim_items_for_fetch`). An index on
(fetch_state, created_at) lets the reader find them without sorting the whole backlog.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index("ix_item_fetch_newest", ["fetch_state", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index("ix_item_fetch_newest")
