"""Search on PostgreSQL: who may see a document, and how recent it is, inside its full-text index

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 03:10:00.000000

A word common to a tenth of a million items used to cost PostgreSQL a visit to every matching
row, to read its id and ask the item whether it is public. The document's tsvector now also holds
three marker lexemes, each with a space so that no text can produce one: its workspace
("team T…"), its audience ("public", "private", or "note U…" for a person's note) and its age
("recent N", N = id >> 14, a span of 16,384 documents). storage.search asks the GIN index for the
public matches of the newest spans first, so it reads about as many rows as it ranks.

`search_doc.is_public` mirrors the item's flag: set when a document is written and followed by a
trigger when the item's flag changes, so no code path can leave the index behind. SQLite's FTS5
index walks its matches newest first already and needs none of this.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENT = """
    to_tsvector('english', body) || array_to_tsvector(ARRAY[
        'team ' || team_id,
        CASE WHEN user_id IS NOT NULL THEN 'note ' || user_id WHEN is_public THEN 'public' ELSE 'private' END,
        'recent ' || (id >> 14)::text])
"""

TRIGGERS = [
    """
CREATE FUNCTION search_doc_audience() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.is_public := NEW.user_id IS NULL AND COALESCE((SELECT is_public FROM item WHERE id = NEW.item_id), false);
    RETURN NEW;
END $$
""",
    """
CREATE TRIGGER search_doc_audience BEFORE INSERT ON search_doc
    FOR EACH ROW EXECUTE FUNCTION search_doc_audience()
""",
    """
CREATE FUNCTION item_audience() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_doc SET is_public = NEW.is_public WHERE item_id = NEW.id AND user_id IS NULL;
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER item_audience AFTER UPDATE OF is_public ON item
    FOR EACH ROW WHEN (OLD.is_public IS DISTINCT FROM NEW.is_public) EXECUTE FUNCTION item_audience()
""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # The index and the generated column go first, so filling the new column rewrites rows only once.
    op.execute("DROP INDEX ix_search_doc_document")
    op.execute("ALTER TABLE search_doc DROP COLUMN document")
    op.execute("ALTER TABLE search_doc ADD COLUMN is_public BOOLEAN NOT NULL DEFAULT false")
    op.execute(
        "UPDATE search_doc SET is_public = true FROM item"
        " WHERE item.id = search_doc.item_id AND search_doc.user_id IS NULL AND item.is_public"
    )
    op.execute(f"ALTER TABLE search_doc ADD COLUMN document TSVECTOR GENERATED ALWAYS AS ({DOCUMENT}) STORED")
    op.execute("CREATE INDEX ix_search_doc_document ON search_doc USING GIN (document)")
    # A person's private items are looked up by item, and only those newer than a window of public
    # matches are read: the index answers both.
    op.execute("DROP INDEX ix_search_doc_item_id")
    op.execute("CREATE INDEX ix_search_doc_item_id ON search_doc (item_id, id)")
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER item_audience ON item")
    op.execute("DROP FUNCTION item_audience()")
    op.execute("DROP TRIGGER search_doc_audience ON search_doc")
    op.execute("DROP FUNCTION search_doc_audience()")
    op.execute("DROP INDEX ix_search_doc_item_id")
    op.execute("CREATE INDEX ix_search_doc_item_id ON search_doc (item_id)")
    op.execute("DROP INDEX ix_search_doc_document")
    op.execute("ALTER TABLE search_doc DROP COLUMN document")
    op.execute("ALTER TABLE search_doc DROP COLUMN is_public")
    op.execute(
        "ALTER TABLE search_doc ADD COLUMN document TSVECTOR GENERATED ALWAYS AS (to_tsvector('english', body)) STORED"
    )
    op.execute("CREATE INDEX ix_search_doc_document ON search_doc USING GIN (document)")
