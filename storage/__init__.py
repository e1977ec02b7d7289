"""Peershelf storage: SQLModel tables, engine set-up, queries and Alembic migrations."""
