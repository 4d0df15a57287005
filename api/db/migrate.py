"""Apply the Alembic migrations: `make run`, the tests, `python -m api.db.migrate`."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from api.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    """Bring the database at `database_url` to the newest schema."""
    if database_url.startswith("sqlite"):
        _ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), "head")


def _ensure_sqlite_folder(database_url: str) -> None:
    path = database_url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    upgrade(get_settings().database_url)
