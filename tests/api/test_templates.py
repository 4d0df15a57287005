import asyncio
import json
from typing import Any

import pytest

from api.templates_seed import STARTER_TEMPLATES
from tests.service import Service

pytestmark = pytest.mark.database

GREETING: dict[str, Any] = {
    "name": "Greeting",
    "description": "Say hello",
    "category": "demo",
    "parameters": [
        {"name": "greeting", "type": "string", "required": True, "max_length": 20},
        {"name": "times", "type": "number", "default": 2, "min": 1, "max": 5},
        {"name": "loud", "type": "boolean", "default": False},
        {"name": "tags", "type": "array", "default": ["a"]},
        {"name": "extra", "type": "object", "default": {"k": 1}},
        {"name": "tone", "type": "string", "enum": ["warm", "dry"], "default": "warm"},
    ],
    "definition": {
        "nodes": [
            {"id": "start", "type": "start", "data": {}},
            {
                "id": "say",
                "type": "transform",
                "data": {
                    "output": {
                        "text": "{{greeting}}, ${input.name}! ({{tone}} x{{times}})",
                        "times": "{{times}}",
                        "loud": "{{ loud }}",
                        "tags": "{{tags}}",
                        "extra": "{{extra}}",
                    }
                },
            },
        ],
        "edges": [{"source": "start", "target": "say"}],
    },
}


async def create_template(
    service: Service, headers: dict[str, str], **changes: Any
) -> dict[str, Any]:
    response = await service.client.post(
        "/api/templates", json={**GREETING, **changes}, headers=headers
    )
    assert response.status_code == 201, response.text
    template: dict[str, Any] = response.json()["data"]
    return template


async def instantiate(
    service: Service, headers: dict[str, str], template_id: str, **parameters: Any
) -> Any:
    return await service.client.post(
        f"/api/templates/{template_id}/instantiate",
        json={"name": "From template", "parameters": parameters},
        headers=headers,
    )


async def test_a_created_template_reads_back_with_its_parameters(
    service: Service,
) -> None:
    headers = await service.register_and_login()

    template = await create_template(service, headers)

    read = await service.client.get(f"/api/templates/{template['id']}", headers=headers)
    assert read.status_code == 200
    data = read.json()["data"]
    assert data["definition"] == GREETING["definition"]
    assert [p["name"] for p in data["parameters"]] == [
        "greeting",
        "times",
        "loud",
        "tags",
        "extra",
        "tone",
    ]
    assert data["is_public"] is False
    assert data["owner_id"] is not None


async def test_instantiate_substitutes_typed_values_into_a_new_workflow(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    template = await create_template(service, headers)

    response = await instantiate(
        service, headers, template["id"], greeting="Hello", times=3, loud=True
    )

    assert response.status_code == 201, response.text
    workflow = response.json()["data"]
    assert workflow["version"] == 1
    assert workflow["description"] == "Say hello"
    output = workflow["definition"]["nodes"][1]["data"]["output"]
    assert output == {
        "text": "Hello, ${input.name}! (warm x3)",
        "times": 3,
        "loud": True,
        "tags": ["a"],
        "extra": {"k": 1},
    }
    stored = await service.client.get(
        f"/api/workflows/{workflow['id']}", headers=headers
    )
    assert stored.json()["data"]["definition"] == workflow["definition"]


async def test_a_string_value_cannot_break_out_of_its_place(service: Service) -> None:
    headers = await service.register_and_login()
    template = await create_template(service, headers)
    hostile = '", "injected": true, "x": "'

    response = await instantiate(
        service, headers, template["id"], greeting=hostile[:20], tags=[hostile]
    )

    assert response.status_code == 201, response.text
    output = response.json()["data"]["definition"]["nodes"][1]["data"]["output"]
    assert "injected" not in output
    assert output["text"].startswith(hostile[:20])
    assert output["tags"] == [hostile]


async def test_instantiate_names_each_bad_parameter(service: Service) -> None:
    headers = await service.register_and_login()
    template = await create_template(service, headers)

    response = await service.client.post(
        f"/api/templates/{template['id']}/instantiate",
        json={
            "name": "Bad",
            "parameters": {"times": 9, "loud": "yes", "tone": "shouty", "nope": 1},
        },
        headers=headers,
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    fields = {detail["field"] for detail in error["details"]}
    assert fields == {
        "parameters.greeting",
        "parameters.times",
        "parameters.loud",
        "parameters.tone",
        "parameters.nope",
    }


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
async def test_instantiate_refuses_a_number_that_is_not_finite(
    service: Service, number: str
) -> None:
    headers = await service.register_and_login()
    template = await create_template(service, headers)

    response = await service.client.post(
        f"/api/templates/{template['id']}/instantiate",
        content='{"name": "N", "parameters": {"greeting": "hi", "times": X}}'.replace(
            "X", number
        ),
        headers={**headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [detail["field"] for detail in details] == ["parameters.times"]
    assert "finite" in details[0]["message"]


@pytest.mark.parametrize(
    "parameter, field",
    [
        ({"name": "times", "type": "number", "default": "NaN"}, "parameters.0.default"),
        ({"name": "times", "type": "array", "default": ["1e309"]}, "parameters.0"),
        ({"name": "times", "type": "number", "min": "-Infinity"}, "body.parameters.0"),
    ],
)
async def test_a_template_refuses_numbers_that_are_not_finite(
    service: Service, parameter: dict[str, Any], field: str
) -> None:
    headers = await service.register_and_login()
    # Written by hand: NaN and Infinity are not JSON, so no encoder sends them.
    text = json.dumps(parameter).replace('"NaN"', "NaN")
    text = text.replace('"1e309"', "1e309").replace('"-Infinity"', "-Infinity")
    body = '{"name": "T", "definition": {"nodes": [], "edges": []}, "parameters": [P]}'

    response = await service.client.post(
        "/api/templates",
        content=body.replace("P", text),
        headers={**headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    fields = [detail["field"] for detail in response.json()["error"]["details"]]
    assert any(f.startswith(field) for f in fields), fields


async def test_instantiate_refuses_a_result_over_the_limit_without_building_it(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    output = {"copies": ["{{p}}"] * 2000, "inline": "a {{p}} b"}
    template = await create_template(
        service,
        headers,
        parameters=[{"name": "p", "type": "string", "required": True}],
        definition={
            "nodes": [
                {"id": "start", "type": "start", "data": {}},
                {"id": "say", "type": "transform", "data": {"output": output}},
            ],
            "edges": [{"source": "start", "target": "say"}],
        },
    )
    loop = asyncio.get_running_loop()
    started = loop.time()

    # Filled in, this would be about 2 GB.
    response = await instantiate(service, headers, template["id"], p="x" * 1_000_000)

    assert response.status_code == 422, response.text
    assert loop.time() - started < 5
    detail = response.json()["error"]["details"][0]
    assert detail["code"] == "definition_too_large"
    assert "256 KB" in detail["message"]
    fits = await instantiate(service, headers, template["id"], p="x" * 100)
    assert fits.status_code == 201, fits.text


async def test_instantiate_refuses_a_definition_that_comes_out_invalid(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    definition = {
        "nodes": [{"id": "{{node}}", "type": "start", "data": {}}],
        "edges": [{"source": "start", "target": "{{node}}"}],
    }
    template = await create_template(
        service,
        headers,
        parameters=[{"name": "node", "type": "string", "required": True}],
        definition=definition,
    )

    response = await instantiate(service, headers, template["id"], node="other")

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["edge"] == 0


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"parameters": []}, "definition"),
        (
            {"parameters": [{"name": "greeting", "type": "number", "pattern": "x"}]},
            "body.parameters.0",
        ),
        (
            {"parameters": [{"name": "greeting", "type": "string", "default": 5}]},
            "parameters.0.default",
        ),
        ({"parameters": [{"name": "bad name", "type": "string"}]}, "body.parameters"),
    ],
)
async def test_an_inconsistent_template_is_refused(
    service: Service, changes: dict[str, Any], field: str
) -> None:
    headers = await service.register_and_login()

    response = await service.client.post(
        "/api/templates", json={**GREETING, **changes}, headers=headers
    )

    assert response.status_code == 422
    fields = [detail["field"] for detail in response.json()["error"]["details"]]
    assert any(f.startswith(field) for f in fields), fields


@pytest.mark.parametrize(
    "definition, fields",
    [
        ({"nodes": "lol", "edges": 5}, {"definition.nodes", "definition.edges"}),
        ({"edges": []}, {"definition.nodes"}),
        (
            {"nodes": [], "edges": [], "padding": "x" * (256 * 1024)},
            {"definition"},
        ),
    ],
)
async def test_a_template_whose_definition_is_no_definition_is_refused_on_save(
    service: Service, definition: dict[str, Any], fields: set[str]
) -> None:
    headers = await service.register_and_login()
    template = await create_template(service, headers)

    created = await service.client.post(
        "/api/templates",
        json={**GREETING, "parameters": [], "definition": definition},
        headers=headers,
    )
    updated = await service.client.put(
        f"/api/templates/{template['id']}",
        json={"parameters": [], "definition": definition},
        headers=headers,
    )

    for response in (created, updated):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert {detail["field"] for detail in error["details"]} == fields
    read = await service.client.get(f"/api/templates/{template['id']}", headers=headers)
    assert read.json()["data"]["definition"] == GREETING["definition"]


async def test_others_see_public_templates_but_change_only_their_own(
    service: Service,
) -> None:
    owner = await service.register_and_login()
    stranger = await service.register_and_login()
    public = await create_template(service, owner, is_public=True, name="Shared")
    private = await create_template(service, owner, name="Mine")

    seen = await service.client.get(f"/api/templates/{public['id']}", headers=stranger)
    hidden = await service.client.get(
        f"/api/templates/{private['id']}", headers=stranger
    )
    change = await service.client.put(
        f"/api/templates/{public['id']}", json={"name": "Taken"}, headers=stranger
    )
    remove = await service.client.delete(
        f"/api/templates/{private['id']}", headers=stranger
    )
    used = await instantiate(service, stranger, public["id"], greeting="Hi")

    assert seen.status_code == 200
    assert hidden.status_code == 404
    assert change.status_code == 403
    assert change.json()["error"]["code"] == "FORBIDDEN"
    assert remove.status_code == 404
    assert used.status_code == 201
    assert used.json()["data"]["owner_id"] != public["owner_id"]


async def test_the_owner_updates_and_deletes_a_template(service: Service) -> None:
    headers = await service.register_and_login()
    template = await create_template(service, headers)

    updated = await service.client.put(
        f"/api/templates/{template['id']}",
        json={"name": "Renamed", "category": "other", "is_public": True},
        headers=headers,
    )
    deleted = await service.client.delete(
        f"/api/templates/{template['id']}", headers=headers
    )
    gone = await service.client.get(f"/api/templates/{template['id']}", headers=headers)

    assert updated.status_code == 200
    data = updated.json()["data"]
    assert (data["name"], data["category"], data["is_public"]) == (
        "Renamed",
        "other",
        True,
    )
    assert data["parameters"] == template["parameters"]
    assert deleted.status_code == 200
    assert gone.status_code == 404


async def test_an_update_refuses_nulls_and_an_empty_one_changes_nothing(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    template = await create_template(service, headers)
    url = f"/api/templates/{template['id']}"

    nulled = await service.client.put(url, json={"name": None}, headers=headers)
    empty = await service.client.put(url, json={}, headers=headers)

    assert nulled.status_code == 422
    assert nulled.json()["error"]["details"][0]["field"] == "body.name"
    assert empty.status_code == 200
    assert empty.json()["data"] == template


async def test_an_update_that_drops_a_used_parameter_is_refused(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    template = await create_template(service, headers)

    response = await service.client.put(
        f"/api/templates/{template['id']}", json={"parameters": []}, headers=headers
    )

    assert response.status_code == 422


async def test_the_list_filters_by_category_and_search_and_pages(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    for index in range(3):
        await create_template(
            service, headers, name=f"Zebra report {index}", category="Zebras"
        )

    first = await service.client.get(
        "/api/templates",
        params={"category": "zebras", "limit": 2},
        headers=headers,
    )
    searched = await service.client.get(
        "/api/templates", params={"search": "REPORT 1"}, headers=headers
    )
    starters = await service.client.get(
        "/api/templates", params={"limit": 100}, headers=headers
    )

    assert first.status_code == 200
    body = first.json()
    assert body["pagination"] == {"page": 1, "limit": 2, "total": 3, "pages": 2}
    assert [t["name"] for t in body["data"]] == ["Zebra report 0", "Zebra report 1"]
    assert "definition" not in body["data"][0]
    assert [t["name"] for t in searched.json()["data"]] == ["Zebra report 1"]
    names = {t["name"] for t in starters.json()["data"]}
    assert {starter["name"] for starter in STARTER_TEMPLATES} <= names


async def test_starter_templates_are_public_and_nobodys_to_change(
    service: Service,
) -> None:
    headers = await service.register_and_login()
    starter_id = STARTER_TEMPLATES[0]["id"]

    read = await service.client.get(f"/api/templates/{starter_id}", headers=headers)
    change = await service.client.delete(
        f"/api/templates/{starter_id}", headers=headers
    )

    assert read.status_code == 200
    assert read.json()["data"]["owner_id"] is None
    assert read.json()["data"]["is_public"] is True
    assert change.status_code == 403


async def test_templates_need_a_token(service: Service) -> None:
    response = await service.client.get("/api/templates")

    assert response.status_code == 401
    assert response.json()["success"] is False
