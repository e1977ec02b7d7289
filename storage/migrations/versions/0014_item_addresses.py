"""The other addresses an item answers to: the link it was shared as, and where it redirected

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 11:53:10.361059

An item used to be found only by its canonical URL, which it leaves once its page names another
address or its link redirects; the link as people share it then made a second item each time.
Each address an item leaves, or reaches by a redirect, is kept here, unique in its workspace.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_address",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_address_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_address")),
        sa.UniqueConstraint("team_id", "address", name=op.f("uq_item_address_team_id_address")),
    )
    with op.batch_alter_table("item_address", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_address_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_address", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_address_item_id"))

    op.drop_table("item_address")
