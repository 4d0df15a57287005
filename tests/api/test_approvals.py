import asyncio
from typing import Any

import pytest

from tests.service import Service

pytestmark = pytest.mark.database

APPROVAL_FLOW = {
    "nodes": [
        {"id": "ask", "type": "approval", "data": {"message": "ship it?"}},
        {"id": "ship", "type": "end", "data": {"output": "${steps.ask.output}"}},
        {"id": "drop", "type": "end", "data": {"output": "rejected"}},
    ],
    "edges": [
        {"source": "ask", "target": "ship", "branch": "approved"},
        {"source": "ask", "target": "drop", "branch": "rejected"},
    ],
}


async def waiting_execution(service: Service, headers: dict[str, str]) -> str:
    workflow_id = await service.create_workflow(headers, APPROVAL_FLOW)
    execution_id = await service.execute(headers, workflow_id)
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        response = await service.client.get(
            f"/api/executions/{execution_id}", headers=headers
        )
        nodes = response.json()["data"]["nodes"]
        if nodes.get("ask", {}).get("status") == "waiting":
            return execution_id
        assert asyncio.get_running_loop().time() < deadline, nodes
        await asyncio.sleep(0.05)


async def approve(
    service: Service, headers: dict[str, str], execution_id: str, **body: Any
) -> Any:
    return await service.client.post(
        f"/api/executions/{execution_id}/approve",
        json={"node_id": "ask", "approved": True, **body},
        headers=headers,
    )


async def test_the_owner_approves_a_waiting_node(service: Service) -> None:
    headers = await service.register_and_login()
    execution_id = await waiting_execution(service, headers)

    response = await approve(service, headers, execution_id, comment="fine")

    assert response.status_code == 200, response.text
    decision = response.json()["data"]
    assert (decision["approved"], decision["comment"]) == (True, "fine")
    final = await service.wait_for_status(headers, execution_id, {"completed"})
    assert final["output"]["approved"] is True
    assert final["output"]["by"] == decision["by"]
    assert final["nodes"]["drop"]["status"] == "skipped"


async def test_a_second_decision_is_refused_as_not_waiting(service: Service) -> None:
    headers = await service.register_and_login()
    execution_id = await waiting_execution(service, headers)

    first = await approve(service, headers, execution_id, approved=False)
    second = await approve(service, headers, execution_id)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "NODE_NOT_WAITING"
    final = await service.wait_for_status(headers, execution_id, {"completed"})
    assert final["output"] == "rejected"
    late = await approve(service, headers, execution_id)
    assert late.json()["error"]["code"] == "NODE_NOT_WAITING"


async def test_a_decision_must_be_a_boolean(service: Service) -> None:
    headers = await service.register_and_login()
    execution_id = await waiting_execution(service, headers)

    response = await approve(service, headers, execution_id, approved="yes")

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.approved"
    refused = await approve(service, headers, execution_id, node_id="ship")
    assert "NodeNotWaiting" not in refused.json()["error"]["message"]


async def test_a_node_that_is_not_an_approval_is_not_waiting(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    execution_id = await waiting_execution(service, headers)

    response = await approve(service, headers, execution_id, node_id="ship")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "NODE_NOT_WAITING"


async def test_another_users_approval_is_not_found(service: Service) -> None:
    owner = await service.register_and_login()
    stranger = await service.register_and_login()
    execution_id = await waiting_execution(service, owner)

    response = await approve(service, stranger, execution_id)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
