"""Two API processes and two worker processes on one task queue, PostgreSQL and Redis.

Runs with `make test-scaleout` (and in `.ci/run`); skipped unless TEST_POSTGRES_URL
names a PostgreSQL server.
"""

import asyncio
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from api.db.migrate import upgrade
from api.db.models import Execution
from api.db.session import create_engine
from embedded.temporal_server import DevServer
from tests.http_peer import HttpPeer
from tests.postgres import fresh_postgres_database
from tests.processes import Process, counting_workflow, start_api, start_worker
from tests.service import make_settings

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.skipif(
        not os.environ.get("TEST_POSTGRES_URL"),
        reason="needs PostgreSQL: set TEST_POSTGRES_URL (make test-scaleout does)",
    ),
]

EXECUTIONS = 200
CONCURRENT_STARTS = 4
# Each http call holds its activity this long, so the stopped worker has some running.
CALL_SECONDS = 0.3
STOP_AFTER_COMPLETED = 60


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database(os.environ["TEST_POSTGRES_URL"]) as url:
        upgrade(url)
        yield url


@pytest.fixture
async def topology(
    postgres_url: str, temporal_server: DevServer, tmp_path: Path
) -> AsyncIterator[tuple[list[Process], list[Process]]]:
    settings = make_settings(
        postgres_url,
        temporal_server.address,
        redis_url=os.environ.get("REDIS_URL"),
        rate_limit_per_minute=100_000,
        rate_limit_per_hour=1_000_000,
    )
    processes: list[Process] = []
    try:
        workers = [start_worker(settings, tmp_path) for _ in range(2)]
        processes += workers
        apis = [start_api(settings, tmp_path) for _ in range(2)]
        processes += apis
        yield apis, workers
    finally:
        for process in processes:
            process.stop()


async def test_two_apis_and_two_workers_run_every_execution_exactly_once(
    topology: tuple[list[Process], list[Process]],
    postgres_url: str,
    temporal_client: Client,
    http_peer: HttpPeer,
) -> None:
    apis, workers = topology
    clients = [httpx.AsyncClient(base_url=api.url, timeout=30) for api in apis]
    engine = create_engine(postgres_url)
    try:
        headers, workflow_id = await _user_with_workflow(clients[0], http_peer)
        starting = asyncio.create_task(_start_all(clients, headers, workflow_id))

        await _wait_for_completed(engine, STOP_AFTER_COMPLETED)
        stopped_at = datetime.now(UTC)
        exit_code = await asyncio.to_thread(workers[0].stop)

        started = await starting
        await _wait_for_completed(engine, EXECUTIONS)
        statuses = await _statuses(engine)
    finally:
        for client in clients:
            await client.aclose()
        await engine.dispose()

    # Every execution started once, through both APIs, and completed exactly once.
    execution_ids = [execution_id for execution_id, _ in started]
    assert len(set(execution_ids)) == EXECUTIONS
    assert statuses == {"completed": EXECUTIONS}
    assert all(http_peer.counts[id_] == 1 for id_ in execution_ids)

    # The stopped worker drained: it exited cleanly after finishing what it held.
    assert exit_code == 0
    log = "\n".join(workers[0].log_lines())
    assert log.index("worker stopping") < log.index("worker stopped")

    calls = await _http_activities(temporal_client, [t for _, t in started])
    identity = {w.pid: f"{w.pid}@{socket.gethostname()}" for w in workers}
    by_worker = Counter(started_by for started_by, _ in calls)
    assert by_worker[identity[workers[0].pid]] > 0
    assert by_worker[identity[workers[1].pid]] > 0
    drained = [
        completed
        for started_by, completed in calls
        if started_by == identity[workers[0].pid] and completed > stopped_at
    ]
    assert drained, "no activity was running on the stopped worker at SIGTERM"


async def _user_with_workflow(
    client: httpx.AsyncClient, http_peer: HttpPeer
) -> tuple[dict[str, str], str]:
    email = f"scale-{time.monotonic_ns()}@example.com"
    credentials = {"email": email, "password": "s3cret-pass"}
    response = await client.post(
        "/api/auth/register", json={**credentials, "name": "Scale"}
    )
    assert response.status_code == 201, response.text
    response = await client.post("/api/auth/login", json=credentials)
    headers = {"Authorization": f"Bearer {response.json()['data']['access_token']}"}
    response = await client.post(
        "/api/workflows",
        json={
            "name": "Scale out",
            "definition": counting_workflow(http_peer.url, CALL_SECONDS),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return headers, response.json()["data"]["id"]


async def _start_all(
    clients: list[httpx.AsyncClient], headers: dict[str, str], workflow_id: str
) -> list[tuple[str, str]]:
    """Start every execution, spread over the APIs; (execution id, Temporal id)."""
    gate = asyncio.Semaphore(CONCURRENT_STARTS)

    async def start(index: int) -> tuple[str, str]:
        async with gate:
            response = await clients[index % len(clients)].post(
                f"/api/workflows/{workflow_id}/execute",
                json={"input": {}},
                headers=headers,
            )
        assert response.status_code == 202, response.text
        data = response.json()["data"]
        return data["id"], data["temporal_workflow_id"]

    return list(await asyncio.gather(*(start(i) for i in range(EXECUTIONS))))


async def _wait_for_completed(
    engine: AsyncEngine, count: int, timeout: float = 90.0
) -> None:
    deadline = time.monotonic() + timeout
    query = select(func.count()).where(Execution.status == "completed")
    while True:
        async with engine.connect() as connection:
            done = await connection.scalar(query)
        if done is not None and done >= count:
            return
        assert time.monotonic() < deadline, f"only {done} of {count} completed"
        await asyncio.sleep(0.2)


async def _statuses(engine: AsyncEngine) -> dict[str, int]:
    query = select(Execution.status, func.count().label("n")).group_by(Execution.status)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return {row.status: row.n for row in rows}


async def _http_activities(
    client: Client, workflow_ids: list[str]
) -> list[tuple[str, datetime]]:
    """(identity of the worker that ran it, completion time) of every http call."""
    gate = asyncio.Semaphore(16)

    async def calls_of(workflow_id: str) -> list[tuple[str, datetime]]:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        scheduled, started, found = set(), {}, []
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attributes = event.activity_task_scheduled_event_attributes
                if attributes.activity_type.name == "send_http_request":
                    scheduled.add(event.event_id)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attributes = event.activity_task_started_event_attributes
                started[attributes.scheduled_event_id] = attributes.identity
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                attributes = event.activity_task_completed_event_attributes
                if attributes.scheduled_event_id in scheduled:
                    completed = event.event_time.ToDatetime(tzinfo=UTC)
                    found.append((started[attributes.scheduled_event_id], completed))
        return found

    per_execution = await asyncio.gather(*(calls_of(w) for w in workflow_ids))
    assert all(len(calls) == 1 for calls in per_execution)
    return [call for calls in per_execution for call in calls]
