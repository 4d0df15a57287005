import pytest

from tests.service import Service

pytestmark = pytest.mark.database

SIMPLE = {
    "nodes": [
        {"id": "start", "type": "start", "data": {}},
        {"id": "double", "type": "transform", "data": {"output": {"n": "${input.n}"}}},
        {"id": "end", "type": "end", "data": {"output": "${steps.double.output}"}},
    ],
    "edges": [
        {"source": "start", "target": "double"},
        {"source": "double", "target": "end"},
    ],
}


async def test_a_created_workflow_reads_back_as_version_1(service: Service) -> None:
    headers = await service.register_and_login()

    created = await service.client.post(
        "/api/workflows",
        json={"name": "Simple", "description": "d", "definition": SIMPLE},
        headers=headers,
    )

    assert created.status_code == 201
    workflow = created.json()["data"]
    assert workflow["version"] == 1
    read = await service.client.get(f"/api/workflows/{workflow['id']}", headers=headers)
    assert read.status_code == 200
    assert read.json()["data"]["definition"] == SIMPLE
    assert read.json()["data"]["name"] == "Simple"


async def test_an_invalid_definition_is_refused_naming_each_problem(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    broken = {
        "nodes": [
            {"id": "a", "type": "start", "data": {}},
            {"id": "b", "type": "teleport", "data": {}},
            {"id": "c", "type": "condition", "data": {"expression": "input.("}},
        ],
        "edges": [
            {"source": "a", "target": "ghost"},
            {"source": "c", "target": "a", "branch": "maybe"},
        ],
    }

    response = await service.client.post(
        "/api/workflows", json={"name": "Broken", "definition": broken}, headers=headers
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    named = {(d.get("node_id"), d.get("edge")) for d in error["details"]}
    assert ("b", None) in named
    assert ("c", None) in named
    assert any(edge == 0 for _, edge in named)
    assert any(edge == 1 for _, edge in named)


async def test_a_cycle_is_refused(service: Service) -> None:
    headers = await service.register_and_login()
    cyclic = {
        "nodes": [
            {"id": "a", "type": "transform", "data": {"output": 1}},
            {"id": "b", "type": "transform", "data": {"output": 2}},
        ],
        "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}],
    }

    response = await service.client.post(
        "/api/workflows", json={"name": "Loop", "definition": cyclic}, headers=headers
    )

    assert response.status_code == 422
    assert "cycle" in str(response.json()["error"]["details"]).lower()


async def test_another_users_workflow_is_not_found(service: Service) -> None:
    owner = await service.register_and_login()
    stranger = await service.register_and_login()
    workflow_id = await service.create_workflow(owner, SIMPLE)

    response = await service.client.get(
        f"/api/workflows/{workflow_id}", headers=stranger
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_workflows_need_a_token(service: Service) -> None:
    response = await service.client.post(
        "/api/workflows", json={"name": "x", "definition": SIMPLE}
    )

    assert response.status_code == 401
