"""keep where each tag was written

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 21:17:05.771845
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_tag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_private", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Tags recorded before: a #hashtag whose writer shared the item only in private, and a channel's
    # topic on an item shared only in private, were written where not everyone could read them.
    op.execute(
        """
        UPDATE item_tag SET is_private = true
        WHERE (source = 'hashtag' AND NOT EXISTS (
                   SELECT 1 FROM share WHERE share.item_id = item_tag.item_id
                   AND share.user_id = item_tag.created_by AND NOT share.is_private))
           OR (source = 'channel' AND NOT EXISTS (
                   SELECT 1 FROM share WHERE share.item_id = item_tag.item_id AND NOT share.is_private))
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("item_tag", schema=None) as batch_op:
        batch_op.drop_column("is_private")
