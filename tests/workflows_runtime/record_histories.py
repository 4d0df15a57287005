"""Record the histories that `test_replay.py` replays.

Run `.venv/bin/python -m tests.workflows_runtime.record_histories` after a deliberate
change to the interpreter's commands (and only then): it starts a dev server, runs one
execution per scenario below, covering every node type, and rewrites
`tests/workflows_runtime/histories/*.json`. A replay failure on histories recorded
before a change means executions running at deploy time would break.
"""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from embedded.temporal_server import start_dev_server
from tests.http_peer import start_http_peer
from tests.workflows_runtime.helpers import Runner, edge, eventually, node, running
from workflows_runtime.interpreter import ExecutionWorkflow
from workflows_runtime.models import APPROVE_UPDATE, ApprovalDecision

HISTORIES = Path(__file__).parent / "histories"
FAST = {"initial_interval_seconds": 0.05, "max_interval_seconds": 0.1}
GREET = {"nodes": [node("done", "end", output="hello ${input.name}")]}

Drive = Callable[[WorkflowHandle], Awaitable[None]]


def inline_nodes() -> dict[str, Any]:
    schema = {"type": "object", "required": ["tier"]}
    return {
        "nodes": [
            node("start", "start", input_schema=schema),
            node("check", "validate", schema=schema, value="${input}"),
            node("tier", "switch", expression="input.tier"),
            node("big", "condition", expression="input.amount > `10`"),
            node("gold", "transform", output="gold"),
            node("other", "transform", output="other"),
            node("stop", "fail", code="Stop", message="stopped"),
            node("caught", "transform", output="${steps.stop.error.type}"),
            node("done", "end", output="${[steps.caught.output, steps.big.output]}"),
        ],
        "edges": [
            edge("start", "check"),
            edge("check", "tier"),
            edge("check", "big"),
            edge("tier", "gold", "gold"),
            edge("tier", "other", "default"),
            edge("gold", "stop"),
            edge("stop", "caught", "error"),
            edge("caught", "done"),
            edge("other", "done"),
            edge("big", "done", "true"),
        ],
    }


def http_with_retries(peer_url: str) -> dict[str, Any]:
    key = uuid.uuid4().hex
    url = f"{peer_url}/flaky/{key}?fail=1"
    return {"nodes": [node("call", "http", url=url, retry=FAST)]}


def waits() -> dict[str, Any]:
    return {
        "nodes": [
            node("nap", "delay", seconds=0.1),
            node("ask", "approval", message="go?"),
            node("late", "approval", timeout_seconds=0.1),
            node("done", "end", output="${steps.ask.output.approved}"),
        ],
        "edges": [
            edge("nap", "ask"),
            edge("ask", "late", "approved"),
            edge("late", "done", "timeout"),
        ],
    }


def children() -> dict[str, Any]:
    return {
        "nodes": [
            node("one", "sub_workflow", workflow_id="greet", input={"name": "Ada"}),
            node(
                "each",
                "foreach",
                items=["a", "b", "c"],
                workflow_id="greet",
                input={"name": "${item}"},
                max_concurrency=2,
            ),
        ],
    }


async def approve_when_waiting(handle: WorkflowHandle) -> None:
    async def waiting() -> bool:
        state = await handle.query(ExecutionWorkflow.state)
        return "ask" in state.nodes and state.nodes["ask"].status == "waiting"

    await eventually(waiting)
    decision = ApprovalDecision(node_id="ask", approved=True, by="recorder")
    await handle.execute_update(APPROVE_UPDATE, decision)


async def cancel_when_sleeping(handle: WorkflowHandle) -> None:
    async def sleeping() -> bool:
        state = await handle.query(ExecutionWorkflow.state)
        return "nap" in state.nodes and state.nodes["nap"].status == "running"

    await eventually(sleeping)
    await handle.cancel()


async def record_all(client: Client, peer_url: str) -> None:
    scenarios: dict[str, tuple[dict[str, Any], Any, Drive | None]] = {
        "inline_nodes": (inline_nodes(), {"tier": "gold", "amount": 20}, None),
        "http_with_retries": (http_with_retries(peer_url), None, None),
        "waits": (waits(), None, approve_when_waiting),
        "children": (children(), None, None),
        "cancelled_delay": (
            {"nodes": [node("nap", "delay", seconds=600)]},
            None,
            cancel_when_sleeping,
        ),
    }
    async with running(client, f"record-{uuid.uuid4()}") as runner:
        for name, (definition, input, drive) in scenarios.items():
            await _record(runner, name, definition, input, drive)


async def _record(
    runner: Runner,
    name: str,
    definition: dict[str, Any],
    input: Any,
    drive: Drive | None,
) -> None:
    handle = await runner.start(definition, input, workflows={"greet": GREET})
    if drive is not None:
        await drive(handle)
    await runner.record(handle)
    history = await handle.fetch_history()
    # Replay checks the workflow id too, so it is kept beside the events.
    saved = {"workflow_id": handle.id, "history": json.loads(history.to_json())}
    (HISTORIES / f"{name}.json").write_text(json.dumps(saved, indent=1) + "\n")
    print(f"recorded {name}: {len(history.events)} events")


async def main() -> None:
    server = start_dev_server()
    peer = start_http_peer()
    try:
        client = await Client.connect(
            server.address, data_converter=pydantic_data_converter
        )
        HISTORIES.mkdir(exist_ok=True)
        await record_all(client, peer.url)
    finally:
        peer.stop()
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
