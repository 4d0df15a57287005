import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus

from api.db.models import Execution
from api.db.session import create_engine
from tests.http_peer import HttpPeer
from tests.service import Service, running_service

pytestmark = pytest.mark.database


def call_then_end(url: str) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "start", "type": "start", "data": {}},
            {"id": "call", "type": "http", "data": {"url": url, "timeout_seconds": 60}},
            {
                "id": "end",
                "type": "end",
                "data": {"output": "${steps.call.output.body}"},
            },
        ],
        "edges": [
            {"source": "start", "target": "call"},
            {"source": "call", "target": "end"},
        ],
    }


async def test_cancel_stops_a_slow_http_call(
    service: Service, http_peer: HttpPeer, temporal_client: Client
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(
        headers, call_then_end(f"{http_peer.url}/slow?seconds=30")
    )
    execution_id = await service.execute(headers, workflow_id)
    await wait_for_node(service, headers, execution_id, "call", "running")

    started = time.monotonic()
    response = await service.client.post(
        f"/api/executions/{execution_id}/cancel", headers=headers
    )

    assert response.status_code == 200
    final = await service.wait_for_status(headers, execution_id, {"cancelled"})
    assert time.monotonic() - started < 15
    assert final["nodes"]["call"]["status"] == "cancelled"
    assert final["nodes"]["end"]["status"] in {"pending", "skipped", "cancelled"}
    handle = temporal_client.get_workflow_handle(final["temporal_workflow_id"])
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED


async def test_cancelling_a_finished_execution_is_refused(
    service: Service, http_peer: HttpPeer
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(
        headers, call_then_end(f"{http_peer.url}/json")
    )
    execution_id = await service.execute(headers, workflow_id)
    await service.wait_for_status(headers, execution_id, {"completed"})

    response = await service.client.post(
        f"/api/executions/{execution_id}/cancel", headers=headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "EXECUTION_ALREADY_FINISHED"


async def test_a_non_2xx_answer_fails_the_execution(
    service: Service, http_peer: HttpPeer
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(
        headers, call_then_end(f"{http_peer.url}/status/404")
    )

    execution_id = await service.execute(headers, workflow_id)

    final = await service.wait_for_status(
        headers, execution_id, {"failed", "completed"}
    )
    assert final["status"] == "failed"
    assert final["nodes"]["call"]["status"] == "failed"
    assert final["nodes"]["call"]["error"]["type"] == "HttpStatusError"
    assert final["error"]["type"] == "HttpStatusError"


async def test_input_that_fails_the_start_schema_starts_nothing(
    service: Service, database_url: str
) -> None:
    headers = await service.register_and_login()
    definition = {
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "data": {
                    "input_schema": {
                        "type": "object",
                        "required": ["customer"],
                        "properties": {"customer": {"type": "string"}},
                    }
                },
            }
        ],
        "edges": [],
    }
    workflow_id = await service.create_workflow(headers, definition)

    response = await service.client.post(
        f"/api/workflows/{workflow_id}/execute",
        json={"input": {"customer": 7}},
        headers=headers,
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert await count_executions(database_url, workflow_id) == 0


async def test_another_users_execution_is_not_found(
    service: Service, http_peer: HttpPeer
) -> None:
    owner = await service.register_and_login()
    stranger = await service.register_and_login()
    workflow_id = await service.create_workflow(
        owner, call_then_end(f"{http_peer.url}/json")
    )
    execution_id = await service.execute(owner, workflow_id)

    for path in ("", "/logs"):
        response = await service.client.get(
            f"/api/executions/{execution_id}{path}", headers=stranger
        )
        assert response.status_code == 404
    cancel = await service.client.post(
        f"/api/executions/{execution_id}/cancel", headers=stranger
    )
    assert cancel.status_code == 404
    response = await service.client.post(
        f"/api/workflows/{workflow_id}/execute", json={"input": {}}, headers=stranger
    )
    assert response.status_code == 404


async def test_with_no_worker_status_answers_pending_within_seconds(
    service: Service, http_peer: HttpPeer, temporal_client: Client
) -> None:
    settings = service.settings.model_copy(update={"task_queue": "nobody-polls-this"})
    async with running_service(settings, temporal_client, with_worker=False) as idle:
        headers = await idle.register_and_login()
        workflow_id = await idle.create_workflow(
            headers, call_then_end(f"{http_peer.url}/json")
        )
        execution_id = await idle.execute(headers, workflow_id)

        started = time.monotonic()
        response = await idle.client.get(
            f"/api/executions/{execution_id}", headers=headers
        )

        assert response.status_code == 200
        assert response.json()["data"]["status"] == "pending"
        assert time.monotonic() - started < settings.temporal_rpc_timeout_seconds + 2
        execution = response.json()["data"]
        handle = temporal_client.get_workflow_handle(execution["temporal_workflow_id"])
        await handle.terminate("no worker will ever run it")


async def wait_for_node(
    service: Service, headers: dict[str, str], execution_id: str, node: str, status: str
) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = await service.client.get(
            f"/api/executions/{execution_id}", headers=headers
        )
        nodes = response.json()["data"]["nodes"]
        if nodes.get(node, {}).get("status") == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"node {node} never became {status}")


async def count_executions(database_url: str, workflow_id: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).where(Execution.workflow_id == workflow_id)
            )
    finally:
        await engine.dispose()
    return int(count or 0)
