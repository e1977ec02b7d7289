"""64-bit row ids

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 22:53:22.751161
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every row id, and every column that holds one. On SQLite an INTEGER PRIMARY KEY is 64-bit
# already, so only PostgreSQL changes: the columns, and the sequences that number new rows.
COLUMNS = [
    ("capture_queue", "id"),
    ("channel", "id"),
    ("curated_list", "id"),
    ("digest_delivery", "id"),
    ("feed", "id"),
    ("feed", "list_id"),
    ("feed_entry", "id"),
    ("feed_entry", "feed_id"),
    ("feed_entry", "item_id"),
    ("follow", "id"),
    ("interest", "id"),
    ("item", "id"),
    ("item_tag", "id"),
    ("item_tag", "item_id"),
    ("list_item", "id"),
    ("list_item", "list_id"),
    ("list_item", "item_id"),
    ("person", "id"),
    ("recommendation", "id"),
    ("recommendation", "item_id"),
    ("save", "id"),
    ("save", "item_id"),
    ("share", "id"),
    ("share", "item_id"),
    ("subscription", "id"),
    ("subscription", "list_id"),
    ("search_doc", "id"),
    ("search_doc", "item_id"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE BIGINT')
        if column == "id":
            op.execute(f"ALTER SEQUENCE IF EXISTS {table}_id_seq AS BIGINT")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        if column == "id":
            op.execute(f"ALTER SEQUENCE IF EXISTS {table}_id_seq AS INTEGER")
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE INTEGER')
