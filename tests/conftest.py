"""Fixtures for the whole suite: a real Temporal dev server, database, HTTP peers."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.db.migrate import upgrade
from embedded.temporal_server import DevServer, start_dev_server
from tests.http_peer import HttpPeer, start_http_peer
from tests.postgres import fresh_postgres_database
from tests.service import Service, make_settings, running_service


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[DevServer]:
    server = start_dev_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def temporal_client(temporal_server: DevServer) -> Client:
    return await Client.connect(
        temporal_server.address, data_converter=pydantic_data_converter
    )


@pytest.fixture
def task_queue() -> str:
    """A fresh task queue per test, so no test's worker picks up another test's work."""
    return f"test-{uuid.uuid4()}"


@pytest.fixture(scope="session")
def http_peer() -> Iterator[HttpPeer]:
    peer = start_http_peer()
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database: SQLite by default, PostgreSQL with
    TEST_POSTGRES_URL.
    """
    postgres_url = os.environ.get("TEST_POSTGRES_URL")
    if postgres_url:
        with fresh_postgres_database(postgres_url) as url:
            upgrade(url)
            yield url
        return
    path: Path = tmp_path_factory.mktemp("db") / "auterity.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    yield url


@pytest.fixture
async def service(
    database_url: str, temporal_server: DevServer, temporal_client: Client
) -> AsyncIterator[Service]:
    """API on loopback and a worker on a fresh task queue, sharing one database."""
    settings = make_settings(database_url, temporal_server.address)
    async with running_service(settings, temporal_client) as running:
        yield running
