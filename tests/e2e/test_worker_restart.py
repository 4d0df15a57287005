"""Killing the worker process mid-execution loses nothing.

A real `python worker.py` runs three executions into a `delay`, an `approval` wait
and a `foreach` whose children sleep; it is killed with SIGKILL and a new process
takes over. Each execution must finish with the output it would have had, and no
`http` node that had completed may call its peer again.
"""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetStickyTaskQueueRequest
from temporalio.client import Client

from embedded.temporal_server import DevServer
from tests.http_peer import HttpPeer
from tests.service import TEST_SECRET, Service, make_settings, running_service

pytestmark = pytest.mark.database

ROOT = Path(__file__).resolve().parents[2]
NAP_SECONDS = 3


@contextmanager
def worker_process(service: Service) -> Iterator[subprocess.Popen[bytes]]:
    settings = service.settings
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TASK_QUEUE": settings.task_queue,
        "HTTP_ALLOW_HOSTS": "127.0.0.1",
        "JWT_SECRET": TEST_SECRET,
    }
    process = subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def counted_call(peer: HttpPeer, key: str) -> dict[str, Any]:
    return {"id": "call", "type": "http", "data": {"url": f"{peer.url}/count/{key}"}}


def then(first: dict[str, Any], *rest: dict[str, Any]) -> dict[str, Any]:
    nodes = [first, *rest]
    edges = [
        {"source": a["id"], "target": b["id"], "branch": b.pop("after", None)}
        for a, b in zip(nodes, nodes[1:], strict=False)
    ]
    return {"nodes": nodes, "edges": edges}


def end(output: Any) -> dict[str, Any]:
    return {"id": "end", "type": "end", "data": {"output": output}}


def nap() -> dict[str, Any]:
    return {"id": "nap", "type": "delay", "data": {"seconds": NAP_SECONDS}}


async def node_status(
    service: Service, headers: dict[str, str], execution_id: str, node_id: str
) -> str | None:
    response = await service.client.get(
        f"/api/executions/{execution_id}", headers=headers
    )
    node = response.json()["data"]["nodes"].get(node_id)
    return node["status"] if node else None


async def until(check: Any, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "deadline passed"
        await asyncio.sleep(0.05)


async def forget_the_dead_worker(client: Client, workflow_ids: list[str]) -> None:
    # Without this, each workflow's next task waits out the dead worker's sticky
    # queue timeout (10 s) before any worker may take it; nothing else changes.
    for workflow_id in workflow_ids:
        await client.workflow_service.reset_sticky_task_queue(
            ResetStickyTaskQueueRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id),
            )
        )


async def approve_once_a_worker_answers(
    service: Service, headers: dict[str, str], execution_id: str
) -> None:
    # Until the new process polls, the API answers 503; the same decision resent
    # joins the pending update instead of making a second one.
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        response = await service.client.post(
            f"/api/executions/{execution_id}/approve",
            json={"node_id": "ask", "approved": True, "comment": "after restart"},
            headers=headers,
        )
        if response.status_code != 503:
            break
        assert asyncio.get_running_loop().time() < deadline, response.text
    assert response.status_code == 200, response.text


async def test_a_killed_worker_loses_no_delay_approval_or_foreach(
    database_url: str,
    temporal_server: DevServer,
    temporal_client: Client,
    http_peer: HttpPeer,
) -> None:
    settings = make_settings(database_url, temporal_server.address)
    async with running_service(settings, temporal_client, with_worker=False) as svc:
        headers = await svc.register_and_login()
        key = uuid.uuid4().hex
        count = "${steps.call.output.body.count}"
        child = await svc.create_workflow(
            headers,
            then(
                counted_call(http_peer, f"{key}-${{input}}"),
                nap(),
                end({"item": "${input}", "calls": count}),
            ),
        )
        delayed = then(counted_call(http_peer, f"{key}-delay"), nap(), end(count))
        approved = then(
            counted_call(http_peer, f"{key}-approval"),
            {"id": "ask", "type": "approval", "data": {}},
            {**end("${steps.ask.output.comment}"), "after": "approved"},
        )
        looped = then(
            counted_call(http_peer, f"{key}-foreach"),
            {
                "id": "each",
                "type": "foreach",
                "data": {"items": [1, 2, 3], "workflow_id": child},
            },
            end("${steps.each.output[*].calls}"),
        )

        with worker_process(svc) as first:
            ids = {
                name: await svc.execute(
                    headers, await svc.create_workflow(headers, definition)
                )
                for name, definition in (
                    ("delay", delayed),
                    ("approval", approved),
                    ("foreach", looped),
                )
            }

            async def all_inside_their_waits() -> bool:
                return (
                    await node_status(svc, headers, ids["delay"], "nap") == "running"
                    and await node_status(svc, headers, ids["approval"], "ask")
                    == "waiting"
                    and all(
                        http_peer.counts[f"{key}-{item}"] == 1 for item in (1, 2, 3)
                    )
                )

            await until(all_inside_their_waits)
            first.send_signal(signal.SIGKILL)
            first.wait()

        calls_before = {k: n for k, n in http_peer.counts.items() if key in k}
        temporal_ids = [
            (await svc.client.get(f"/api/executions/{i}", headers=headers)).json()[
                "data"
            ]["temporal_workflow_id"]
            for i in ids.values()
        ]
        foreach_id = temporal_ids[2]
        children = [f"{foreach_id}/each/1/{index}" for index in range(3)]
        await forget_the_dead_worker(temporal_client, temporal_ids + children)

        with worker_process(svc):
            await approve_once_a_worker_answers(svc, headers, ids["approval"])
            finals = {
                name: await svc.wait_for_status(
                    headers, execution_id, {"completed", "failed"}, timeout=30
                )
                for name, execution_id in ids.items()
            }

    assert {name: final["output"] for name, final in finals.items()} == {
        "delay": 1,
        "approval": "after restart",
        "foreach": [1, 1, 1],
    }
    assert calls_before == dict.fromkeys(calls_before, 1)
    assert len(calls_before) == 6
    assert {k: n for k, n in http_peer.counts.items() if key in k} == calls_before
