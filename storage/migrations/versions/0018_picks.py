"""Picked for you: what each person waved off, each workspace's fitted weights, pages' keywords

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 15:00:00.000000

The weekly digest picks items for everyone from what they and their colleagues share and save
(bot.services.picks). *Not for me* on a pick is remembered per person (`dismissal`); how much each
signal counts is fitted per workspace on its own earlier weeks (`pick_model`). A page's own
keywords and tags are kept (`item.keywords`): they say what it is about in the author's words.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keywords", sa.Text(), nullable=True))
    op.create_table(
        "dismissal",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_dismissal_item_id_item"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dismissal")),
        sa.UniqueConstraint("team_id", "user_id", "item_id", name=op.f("uq_dismissal_team_id_user_id_item_id")),
    )
    with op.batch_alter_table("dismissal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dismissal_item_id"), ["item_id"], unique=False)
    op.create_table(
        "pick_model",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("weights", sa.Text(), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("positives", sa.Integer(), nullable=False),
        sa.Column("fitted_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_pick_model")),
    )


def downgrade() -> None:
    op.drop_table("pick_model")
    with op.batch_alter_table("dismissal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dismissal_item_id"))
    op.drop_table("dismissal")
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("keywords")
