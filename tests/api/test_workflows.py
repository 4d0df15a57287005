from typing import Any

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


async def list_workflows(
    service: Service, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await service.client.get(
        "/api/workflows", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_list_pages_with_the_pagination_object(service: Service) -> None:
    headers = await service.register_and_login()
    for index in range(5):
        await service.create_workflow(headers, SIMPLE, name=f"wf {index}")

    body = await list_workflows(service, headers, page=2, limit=2, sort="name")

    assert body["success"] is True
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 5, "pages": 3}
    assert [w["name"] for w in body["data"]] == ["wf 2", "wf 3"]
    assert "definition" not in body["data"][0]
    past_the_end = await list_workflows(service, headers, page=4, limit=2)
    assert past_the_end["data"] == []


async def test_the_list_searches_filters_and_sorts(service: Service) -> None:
    headers = await service.register_and_login()
    stranger = await service.register_and_login()
    await service.create_workflow(stranger, SIMPLE, name="Lead intake")
    for name in ("Lead intake", "Lead scoring", "Parts lookup"):
        await service.create_workflow(headers, SIMPLE, name=name)
    paused = await service.client.post(
        "/api/workflows",
        json={"name": "Lead archive", "definition": SIMPLE, "is_active": False},
        headers=headers,
    )
    assert paused.status_code == 201

    searched = await list_workflows(service, headers, search="LEAD", sort="-name")
    active = await list_workflows(service, headers, search="lead", is_active=True)
    inactive = await list_workflows(service, headers, is_active=False)
    newest = await list_workflows(service, headers)

    assert [w["name"] for w in searched["data"]] == [
        "Lead scoring",
        "Lead intake",
        "Lead archive",
    ]
    assert searched["pagination"]["total"] == 3
    assert {w["name"] for w in active["data"]} == {"Lead intake", "Lead scoring"}
    assert [w["name"] for w in inactive["data"]] == ["Lead archive"]
    assert newest["data"][0]["name"] == "Lead archive"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"page": 0},
        {"page": "x"},
        {"page": 1_000_001},
        {"page": 2**63 - 1},
        {"page": 10**20},
        {"sort": "owner_id"},
    ],
)
async def test_the_list_refuses_bad_paging_and_sorting(
    service: Service, params: dict[str, Any]
) -> None:
    headers = await service.register_and_login()

    response = await service.client.get(
        "/api/workflows", params=params, headers=headers
    )

    assert response.status_code == 422
    field = f"query.{next(iter(params))}"
    assert field in [d["field"] for d in response.json()["error"]["details"]]


async def test_put_saves_a_new_version_and_keeps_the_old_one(service: Service) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)
    changed = {**SIMPLE, "nodes": [*SIMPLE["nodes"][:2], SIMPLE["nodes"][2]]}
    changed["nodes"][1] = {**SIMPLE["nodes"][1], "name": "Renamed node"}

    response = await service.client.put(
        f"/api/workflows/{workflow_id}",
        json={"name": "Simple v2", "definition": changed},
        headers=headers,
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["version"], data["name"]) == (2, "Simple v2")
    assert data["definition"] == changed
    versions = await service.client.get(
        f"/api/workflows/{workflow_id}/versions", headers=headers
    )
    body = versions.json()
    assert [v["version"] for v in body["data"]] == [2, 1]
    assert body["data"][1]["definition"] == SIMPLE
    assert body["pagination"]["total"] == 2
    first = await service.client.get(
        f"/api/workflows/{workflow_id}/versions/1", headers=headers
    )
    assert first.json()["data"]["definition"] == SIMPLE


async def test_put_without_a_definition_keeps_the_version(service: Service) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)

    response = await service.client.put(
        f"/api/workflows/{workflow_id}",
        json={"description": "now described", "is_active": False},
        headers=headers,
    )

    data = response.json()["data"]
    assert (data["version"], data["description"], data["is_active"]) == (
        1,
        "now described",
        False,
    )
    assert data["updated_at"] > data["created_at"]


@pytest.mark.parametrize("field", ["name", "description", "definition", "is_active"])
async def test_put_refuses_null_for_a_field_naming_it(
    service: Service, field: str
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)
    before = await service.client.get(f"/api/workflows/{workflow_id}", headers=headers)

    response = await service.client.put(
        f"/api/workflows/{workflow_id}", json={field: None}, headers=headers
    )

    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [detail["field"] for detail in details] == [f"body.{field}"]
    after = await service.client.get(f"/api/workflows/{workflow_id}", headers=headers)
    assert after.json()["data"] == before.json()["data"]


async def test_an_empty_put_changes_nothing(service: Service) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)
    before = await service.client.get(f"/api/workflows/{workflow_id}", headers=headers)

    response = await service.client.put(
        f"/api/workflows/{workflow_id}", json={}, headers=headers
    )

    assert response.status_code == 200
    assert response.json()["data"] == before.json()["data"]
    versions = await service.client.get(
        f"/api/workflows/{workflow_id}/versions", headers=headers
    )
    assert versions.json()["pagination"]["total"] == 1


async def test_put_validates_the_definition_like_create(service: Service) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)
    stranger = await service.register_and_login()

    invalid = await service.client.put(
        f"/api/workflows/{workflow_id}",
        json={"definition": {"nodes": [{"id": "a", "type": "teleport"}]}},
        headers=headers,
    )
    foreign = await service.client.put(
        f"/api/workflows/{workflow_id}", json={"name": "mine"}, headers=stranger
    )

    assert invalid.status_code == 422
    assert invalid.json()["error"]["details"][0]["node_id"] == "a"
    assert foreign.status_code == 404
    read = await service.client.get(f"/api/workflows/{workflow_id}", headers=headers)
    assert read.json()["data"]["version"] == 1


async def test_a_deleted_workflow_is_gone_but_its_executions_stay_readable(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)
    execution_id = await service.execute(headers, workflow_id, {"n": 4})
    await service.wait_for_status(headers, execution_id, {"completed"})

    deleted = await service.client.delete(
        f"/api/workflows/{workflow_id}", headers=headers
    )

    assert deleted.status_code == 200
    assert deleted.json()["success"] is True
    for method, path in [
        ("GET", f"/api/workflows/{workflow_id}"),
        ("PUT", f"/api/workflows/{workflow_id}"),
        ("DELETE", f"/api/workflows/{workflow_id}"),
        ("GET", f"/api/workflows/{workflow_id}/versions"),
        ("POST", f"/api/workflows/{workflow_id}/execute"),
    ]:
        response = await service.client.request(
            method, path, json={"input": {}}, headers=headers
        )
        assert response.status_code == 404, (method, path)
    assert (await list_workflows(service, headers))["pagination"]["total"] == 0
    execution = await service.client.get(
        f"/api/executions/{execution_id}", headers=headers
    )
    assert execution.status_code == 200
    assert execution.json()["data"]["output"] == {"n": 4}
    assert execution.json()["data"]["workflow_version"] == 1


async def test_the_last_allowed_page_is_empty_on_every_list(service: Service) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)

    for path in (
        "/api/workflows",
        f"/api/workflows/{workflow_id}/versions",
        "/api/templates",
    ):
        last = await service.client.get(
            path, params={"page": 1_000_000, "limit": 100}, headers=headers
        )
        past = await service.client.get(path, params={"page": 10**20}, headers=headers)

        assert last.status_code == 200, last.text
        assert last.json()["data"] == []
        assert past.status_code == 422, past.text
        assert past.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("version", ["0", str(2**31), str(10**20)])
async def test_a_version_number_out_of_range_is_refused(
    service: Service, version: str
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)

    response = await service.client.get(
        f"/api/workflows/{workflow_id}/versions/{version}", headers=headers
    )

    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [detail["field"] for detail in details] == ["path.version"]


async def test_the_largest_version_number_is_simply_not_found(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)

    response = await service.client.get(
        f"/api/workflows/{workflow_id}/versions/{2**31 - 1}", headers=headers
    )

    assert response.status_code == 404


async def test_an_inactive_workflow_does_not_execute_until_reactivated(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(headers, SIMPLE)
    path = f"/api/workflows/{workflow_id}"
    await service.client.put(path, json={"is_active": False}, headers=headers)

    refused = await service.client.post(
        f"{path}/execute", json={"input": {"n": 1}}, headers=headers
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "WORKFLOW_INACTIVE"
    await service.client.put(path, json={"is_active": True}, headers=headers)
    execution_id = await service.execute(headers, workflow_id, {"n": 1})
    done = await service.wait_for_status(headers, execution_id, {"completed"})
    assert done["output"] == {"n": 1}
