"""The README's walk-through, step by step, through real HTTP."""

from typing import Any

import pytest
from temporalio.client import Client

from tests.http_peer import HttpPeer
from tests.service import Service, running_service

pytestmark = pytest.mark.database


def lead_scoring(peer_url: str) -> dict[str, Any]:
    """Call a scoring service, branch on its answer, return a computed output."""
    return {
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
            },
            {
                "id": "score",
                "type": "http",
                "data": {
                    "method": "GET",
                    "url": f"{peer_url}/json",
                    "query": {"customer": "${input.customer}", "score": "82"},
                },
            },
            {
                "id": "is_hot",
                "type": "condition",
                "data": {
                    "expression": "to_number(steps.score.output.body.score) >= `70`"
                },
            },
            {"id": "hot", "type": "transform", "data": {"output": {"tier": "hot"}}},
            {"id": "cold", "type": "transform", "data": {"output": {"tier": "cold"}}},
            {
                "id": "done",
                "type": "end",
                "data": {
                    "output": {
                        "customer": "${input.customer}",
                        "tier": "${steps.hot.output.tier || steps.cold.output.tier}",
                        "summary": "${input.customer} is ${steps.hot.output.tier || 'cold'}",  # noqa: E501
                    }
                },
            },
        ],
        "edges": [
            {"source": "start", "target": "score"},
            {"source": "score", "target": "is_hot"},
            {"source": "is_hot", "target": "hot", "branch": "true"},
            {"source": "is_hot", "target": "cold", "branch": "false"},
            {"source": "hot", "target": "done"},
            {"source": "cold", "target": "done"},
        ],
    }


async def test_a_user_runs_a_workflow_and_reads_its_status_and_logs(
    service: Service, http_peer: HttpPeer, temporal_client: Client
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, lead_scoring(http_peer.url))

    execution_id = await service.execute(headers, workflow_id, {"customer": "Ada"})

    final = await service.wait_for_status(
        headers, execution_id, {"completed", "failed"}
    )
    assert final["status"] == "completed", final
    assert final["output"] == {
        "customer": "Ada",
        "tier": "hot",
        "summary": "Ada is hot",
    }
    nodes = final["nodes"]
    assert nodes["score"]["status"] == "completed"
    assert nodes["score"]["output"]["body"] == {"customer": "Ada", "score": "82"}
    assert nodes["is_hot"]["output"] is True
    assert nodes["hot"]["status"] == "completed"
    assert nodes["cold"]["status"] == "skipped"
    assert final["finished_at"] is not None

    logs = await service.client.get(
        f"/api/executions/{execution_id}/logs", headers=headers
    )
    assert logs.status_code == 200
    events = [(e["event"], e["node_id"]) for e in logs.json()["data"]["logs"]]
    for node in ("start", "score", "is_hot", "hot", "done"):
        assert ("node_started", node) in events
        assert ("node_completed", node) in events
    assert ("node_skipped", "cold") in events
    assert all(e["timestamp"] for e in logs.json()["data"]["logs"])

    described = await temporal_client.get_workflow_handle(
        final["temporal_workflow_id"]
    ).describe()
    assert described.workflow_type == "ExecutionWorkflow"


async def test_a_finished_execution_reads_from_the_database_with_no_worker(
    service: Service, http_peer: HttpPeer, temporal_client: Client
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, lead_scoring(http_peer.url))
    execution_id = await service.execute(headers, workflow_id, {"customer": "Bo"})
    await service.wait_for_status(headers, execution_id, {"completed"})

    settings = service.settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    async with running_service(settings, temporal_client, with_worker=False) as offline:
        status = await offline.client.get(
            f"/api/executions/{execution_id}", headers=headers
        )
        logs = await offline.client.get(
            f"/api/executions/{execution_id}/logs", headers=headers
        )

    assert status.status_code == 200
    assert status.json()["data"]["status"] == "completed"
    assert status.json()["data"]["output"]["tier"] == "hot"
    assert logs.status_code == 200
    assert len(logs.json()["data"]["logs"]) >= 10
