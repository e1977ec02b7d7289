"""Apply the Alembic migrations shipped in `storage/migrations`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def revision(engine: Engine, message: str) -> Path | None:
    """Write a new migration comparing the models with the database at `engine` (which must be at
    the newest revision); returns its file, or None when the models and the database agree."""
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    number = max((int(head) for head in heads if head.isdigit()), default=0) + 1
    config = alembic_config(engine)

    def skip_if_empty(context: object, revision: object, directives: list[Any]) -> None:
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []

    script = command.revision(
        config, message=message, autogenerate=True, rev_id=f"{number:04d}", process_revision_directives=skip_if_empty
    )
    written = [found for found in (script if isinstance(script, list) else [script]) if found is not None]
    return Path(written[0].path) if written else None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
