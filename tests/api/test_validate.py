from typing import Any

import pytest

from tests.service import Service

pytestmark = pytest.mark.database


async def validate(
    service: Service, headers: dict[str, str], definition: Any
) -> dict[str, Any]:
    response = await service.client.post(
        "/api/workflows/validate", json={"definition": definition}, headers=headers
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_every_error_is_reported_at_once_and_nothing_is_stored(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    definition = {
        "nodes": [
            {"id": "a", "type": "http", "data": {}},
            {"id": "b", "type": "teleport", "data": {}},
        ],
        "edges": [{"source": "a", "target": "ghost"}],
    }

    result = await validate(service, headers, definition)

    assert result["valid"] is False
    codes = sorted(problem["code"] for problem in result["errors"])
    assert codes == ["missing_setting", "unknown_edge_target", "unknown_node_type"]
    listed = await service.client.get("/api/workflows", headers=headers)
    assert listed.json()["data"] == []


async def test_warnings_mark_unreachable_nodes_and_unsafe_step_reads(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    definition = {
        "nodes": [
            {"id": "start", "type": "start", "data": {}},
            {"id": "a", "type": "transform", "data": {"output": "${steps.b.output}"}},
            {"id": "b", "type": "transform", "data": {"output": "${steps.zz}"}},
        ],
        "edges": [{"source": "start", "target": "a"}],
    }

    result = await validate(service, headers, definition)

    assert (result["valid"], result["errors"]) == (True, [])
    warnings = {(w["code"], w["node_id"]) for w in result["warnings"]}
    assert warnings == {
        ("unreachable_node", "b"),
        ("step_not_upstream", "a"),
        ("unknown_step", "b"),
    }


async def test_a_reference_to_another_users_workflow_is_an_error(
    service: Service,
) -> None:
    owner = await service.register_and_login()
    stranger = await service.register_and_login()
    theirs = await service.create_workflow(
        stranger, {"nodes": [{"id": "x", "type": "end", "data": {}}]}
    )
    call = {"id": "call", "type": "sub_workflow", "data": {"workflow_id": theirs}}

    result = await validate(service, owner, {"nodes": [call]})

    assert result["valid"] is False
    assert [p["code"] for p in result["errors"]] == ["unknown_workflow"]


async def test_executing_a_workflow_that_reaches_itself_is_refused(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    leaf = await service.create_workflow(
        headers, {"nodes": [{"id": "x", "type": "end", "data": {"output": 1}}]}
    )
    caller = await service.create_workflow(
        headers,
        {"nodes": [{"id": "c", "type": "sub_workflow", "data": {"workflow_id": leaf}}]},
    )
    # Point the leaf back at its caller: a cycle through two workflows.
    response = await service.client.put(
        f"/api/workflows/{leaf}",
        json={
            "definition": {
                "nodes": [
                    {"id": "c", "type": "sub_workflow", "data": {"workflow_id": caller}}
                ]
            }
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text

    response = await service.client.post(
        f"/api/workflows/{caller}/execute", json={"input": {}}, headers=headers
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_WORKFLOW_REFERENCE"
    assert [d["code"] for d in error["details"]] == ["workflow_cycle"]
