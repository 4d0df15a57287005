"""A throwaway PostgreSQL database for one test session."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create a database with a unique name on the server at `server_url`, drop it
    after.

    `server_url` is a SQLAlchemy URL such as
    `postgresql+psycopg://postgres@127.0.0.1:5432/postgres`.
    """
    url = make_url(server_url)
    name = f"auterity_test_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
