"""full-text search documents; workspace URL for permalinks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))

    # One search document per item (title, description, tags, site, author: user_id NULL) and one
    # per personal note (user_id set), searched through storage.search on either backend.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_doc USING fts5("
            "body, team_id UNINDEXED, item_id UNINDEXED, user_id UNINDEXED, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
    else:
        op.execute(
            "CREATE TABLE search_doc ("
            " id BIGSERIAL PRIMARY KEY,"
            " team_id VARCHAR(32) NOT NULL,"
            " item_id INTEGER NOT NULL REFERENCES item(id) ON DELETE CASCADE,"
            " user_id VARCHAR(32),"
            " body TEXT NOT NULL,"
            " document TSVECTOR GENERATED ALWAYS AS (to_tsvector('english', body)) STORED)"
        )
        op.execute("CREATE INDEX ix_search_doc_document ON search_doc USING GIN (document)")
        op.execute("CREATE INDEX ix_search_doc_item_id ON search_doc (item_id)")
        op.execute("CREATE INDEX ix_search_doc_team_id ON search_doc (team_id)")


def downgrade() -> None:
    op.execute("DROP TABLE search_doc")
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("url")
