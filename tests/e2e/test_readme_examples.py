"""Every ```json example in the README's definition-language section runs as stated."""

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.http_peer import HttpPeer
from tests.service import Service
from workflows_runtime.node_types import NODE_TYPES

pytestmark = pytest.mark.database

README = Path(__file__).resolve().parents[2] / "README.md"
PLACEHOLDER_URL = "http://127.0.0.1:9000"


def examples() -> list[dict[str, Any]]:
    text = README.read_text()
    section = text.split("## The definition language", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)
    return [json.loads(block) for block in blocks]


EXAMPLES = examples()


def first_node_type(example: dict[str, Any]) -> str:
    return str(example["definition"]["nodes"][0]["type"])


def test_the_section_has_an_example_for_every_node_type() -> None:
    used = {n["type"] for e in EXAMPLES for n in e["definition"]["nodes"]}
    used |= {
        n["type"]
        for e in EXAMPLES
        for workflow in e.get("workflows", {}).values()
        for n in workflow["nodes"]
    }
    assert used == set(NODE_TYPES)


@pytest.mark.parametrize(
    "example",
    EXAMPLES,
    ids=[f"{i}-{first_node_type(e)}" for i, e in enumerate(EXAMPLES)],
)
async def test_a_readme_example_ends_with_its_stated_output(
    service: Service, http_peer: HttpPeer, example: dict[str, Any]
) -> None:
    headers = await service.register_and_login()
    text = json.dumps(example["definition"]).replace(PLACEHOLDER_URL, http_peer.url)
    for name, definition in example.get("workflows", {}).items():
        stored = await service.create_workflow(headers, definition, name=name)
        text = text.replace(f'"workflow_id": "{name}"', f'"workflow_id": "{stored}"')
    workflow_id = await service.create_workflow(headers, json.loads(text))
    execution_id = await service.execute(headers, workflow_id, example.get("input"))

    if "approve" in example:
        await approve_when_waiting(service, headers, execution_id, example["approve"])
    final = await service.wait_for_status(
        headers, execution_id, {"completed", "failed"}
    )

    assert (final["status"], final["output"]) == ("completed", example["output"])


async def approve_when_waiting(
    service: Service, headers: dict[str, str], execution_id: str, body: dict[str, Any]
) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    url = f"/api/executions/{execution_id}"
    while True:
        nodes = (await service.client.get(url, headers=headers)).json()["data"]["nodes"]
        if nodes.get(body["node_id"], {}).get("status") == "waiting":
            break
        assert asyncio.get_running_loop().time() < deadline, nodes
        await asyncio.sleep(0.05)
    response = await service.client.post(f"{url}/approve", json=body, headers=headers)
    assert response.status_code == 200, response.text
