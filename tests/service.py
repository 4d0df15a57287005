"""The whole service in the test's event loop: API over HTTP, a worker, a database."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client

from activities.http import HttpActivities
from activities.records import RecordActivities
from api.app import create_app
from api.db.session import create_engine, session_factory
from api.settings import Settings
from embedded.temporal_server import free_port
from worker import build_worker

TEST_SECRET = "test-secret-" + "x" * 40


@dataclass
class Service:
    settings: Settings
    client: httpx.AsyncClient
    temporal: Client

    async def register_and_login(
        self, email: str | None = None, password: str = "s3cret-pass"
    ) -> dict[str, str]:
        """Headers carrying the access token of a freshly registered user."""
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        response = await self.client.post(
            "/api/auth/register",
            json={"email": email, "password": password, "name": "Test User"},
        )
        assert response.status_code == 201, response.text
        response = await self.client.post(
            "/api/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        token = response.json()["data"]["access_token"]
        return {"Authorization": f"Bearer {token}"}

    async def create_workflow(
        self, headers: dict[str, str], definition: dict[str, Any], name: str = "wf"
    ) -> str:
        response = await self.client.post(
            "/api/workflows",
            json={"name": name, "definition": definition},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        workflow_id: str = response.json()["data"]["id"]
        return workflow_id

    async def execute(
        self, headers: dict[str, str], workflow_id: str, input: Any = None
    ) -> str:
        response = await self.client.post(
            f"/api/workflows/{workflow_id}/execute",
            json={"input": input if input is not None else {}},
            headers=headers,
        )
        assert response.status_code == 202, response.text
        execution_id: str = response.json()["data"]["id"]
        return execution_id

    async def wait_for_status(
        self,
        headers: dict[str, str],
        execution_id: str,
        statuses: set[str],
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        """Poll the execution until its status is one of `statuses`, or fail."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await self.client.get(
                f"/api/executions/{execution_id}", headers=headers
            )
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()["data"]
            if data["status"] in statuses:
                return data
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"execution stayed {data['status']}: {data}")
            await asyncio.sleep(0.05)


def make_settings(
    database_url: str, temporal_address: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "temporal_address": temporal_address,
        "task_queue": f"test-{uuid.uuid4()}",
        "jwt_secret": TEST_SECRET,
        "http_allow_hosts": ["127.0.0.1"],
        # Tests poll fast; the rate-limit tests ask for small budgets themselves.
        "rate_limit_per_minute": 0,
        "rate_limit_per_hour": 0,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_api(settings: Settings) -> AsyncIterator[str]:
    """Serve the API with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def running_worker(client: Client, settings: Settings) -> AsyncIterator[None]:
    engine = create_engine(settings.database_url)
    http = HttpActivities(settings.http_allow_hosts)
    worker = build_worker(
        client, settings, http, RecordActivities(session_factory(engine))
    )
    try:
        async with worker:
            yield
    finally:
        await http.aclose()
        await engine.dispose()


@asynccontextmanager
async def running_service(
    settings: Settings, temporal: Client, with_worker: bool = True
) -> AsyncIterator[Service]:
    async with running_api(settings) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            service = Service(settings=settings, client=client, temporal=temporal)
            if not with_worker:
                yield service
                return
            async with running_worker(temporal, settings):
                yield service
