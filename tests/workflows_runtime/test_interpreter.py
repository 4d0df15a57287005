import time
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import Replayer

from tests.http_peer import HttpPeer
from tests.workflows_runtime.helpers import Runner, edge, eventually, node, running
from workflows_runtime.interpreter import ExecutionWorkflow
from workflows_runtime.models import (
    ExecutionRecord,
    ExecutionState,
)

FAST_RETRY = {"initial_interval_seconds": 0.05, "max_interval_seconds": 0.1}


class Run(Runner):
    """A runner that also knows the test's HTTP peer."""

    def __init__(self, client: Client, task_queue: str, peer: HttpPeer) -> None:
        super().__init__(client, task_queue)
        self.peer = peer

    async def record(self, execution: WorkflowHandle | None = None) -> ExecutionRecord:
        """The record of `execution`, or of the latest execution to be recorded."""
        if execution is not None:
            return await super().record(execution)
        await eventually(lambda: bool(self.records))
        return self.records[-1]


@pytest.fixture
async def run(
    temporal_client: Client, task_queue: str, http_peer: HttpPeer
) -> AsyncIterator[Run]:
    current = Run(temporal_client, task_queue, http_peer)
    async with running(temporal_client, task_queue, current):
        yield current


async def replays_deterministically(handle: WorkflowHandle, client: Client) -> None:
    replayer = Replayer(
        workflows=[ExecutionWorkflow], data_converter=client.data_converter
    )
    await replayer.replay_workflow(await handle.fetch_history())


async def event_types(handle: WorkflowHandle) -> list[EventType.ValueType]:
    return [event.event_type async for event in handle.fetch_history_events()]


async def test_a_linear_chain_runs_inline_and_returns_the_end_output(run: Run) -> None:
    definition = {
        "nodes": [
            node("start", "start"),
            node("double", "transform", output={"twice": "${[input.n, input.n]}"}),
            node(
                "done",
                "end",
                output={
                    "values": "${steps.double.output.twice}",
                    "text": "n=${input.n} in ${execution.workflow_id}",
                },
            ),
        ],
        "edges": [edge("start", "double"), edge("double", "done")],
    }
    handle = await run.start(definition, {"n": 2})

    assert await handle.result() == {"values": [2, 2], "text": "n=2 in wf-1"}
    record = await run.record()
    assert record.status == "completed"
    assert {n: s.status for n, s in record.nodes.items()} == dict.fromkeys(
        ["start", "double", "done"], "completed"
    )
    events = await event_types(handle)
    # Pure nodes need no activity and no timer; the final record is a local activity,
    # so the whole execution schedules nothing through the server.
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in events
    assert EventType.EVENT_TYPE_TIMER_STARTED not in events
    assert events.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 1


async def test_a_condition_takes_one_branch_and_skips_the_dead_path(run: Run) -> None:
    definition = {
        "nodes": [
            node("start", "start"),
            node("big", "condition", expression="input.amount > `100`"),
            node("approve", "transform", output="manual"),
            node("notify", "transform", output="notified ${steps.approve.output}"),
            node("auto", "transform", output="auto"),
            node(
                "join",
                "transform",
                output="${steps.approve.output || steps.auto.output}",
            ),
        ],
        "edges": [
            edge("start", "big"),
            edge("big", "approve", "true"),
            edge("approve", "notify"),
            edge("big", "auto", "false"),
            edge("notify", "join"),
            edge("auto", "join"),
        ],
    }
    handle = await run.start(definition, {"amount": 5})

    assert await handle.result() == {"join": "auto"}
    statuses = {n: s.status for n, s in (await run.record()).nodes.items()}
    assert statuses == {
        "start": "completed",
        "big": "completed",
        "approve": "skipped",
        "notify": "skipped",
        "auto": "completed",
        "join": "completed",
    }


async def test_parallel_http_calls_fan_out_and_join(run: Run) -> None:
    slow = {"url": f"{run.peer.url}/slow", "query": {"seconds": "0.5"}}
    definition = {
        "nodes": [
            node("start", "start"),
            node("left", "http", **slow),
            node("right", "http", **slow),
            node(
                "done",
                "end",
                output="${[steps.left.output.body, steps.right.output.body][*].slept}",
            ),
        ],
        "edges": [
            edge("start", "left"),
            edge("start", "right"),
            edge("left", "done"),
            edge("right", "done"),
        ],
    }
    handle = await run.start(definition)

    assert await handle.result() == [0.5, 0.5]
    nodes = (await run.record()).nodes
    left, right = nodes["left"], nodes["right"]
    assert (
        left.started_at and right.started_at and left.finished_at and right.finished_at
    )
    assert max(left.started_at, right.started_at) < min(
        left.finished_at, right.finished_at
    )


async def test_an_http_node_calls_the_peer_with_rendered_settings(run: Run) -> None:
    definition = {
        "nodes": [
            node(
                "call",
                "http",
                method="POST",
                url=f"{run.peer.url}/echo",
                headers={"X-User": "${input.user}"},
                query={"page": "${input.page}"},
                body={"user": "${input.user}"},
            )
        ],
        "edges": [],
    }
    handle = await run.start(definition, {"user": "ada", "page": 2})

    output = (await handle.result())["call"]
    assert output["status"] == 200
    echoed = output["body"]
    assert echoed["body"] == {"user": "ada"}
    assert echoed["query"] == {"page": "2"}
    assert echoed["headers"]["x-user"] == "ada"


async def test_a_flaky_call_is_retried_and_every_attempt_is_logged(run: Run) -> None:
    key = uuid.uuid4().hex
    flaky = node(
        "call", "http", url=f"{run.peer.url}/flaky/{key}?fail=2", retry=FAST_RETRY
    )
    handle = await run.start({"nodes": [flaky]})

    assert (await handle.result())["call"]["body"] == {"calls": 3}
    record = await run.record()
    assert record.nodes["call"].attempts == 3
    retries = [log for log in record.logs if log.event == "node_retry"]
    assert [log.attempt for log in retries] == [1, 2]
    assert all("HttpStatusError" in log.message for log in retries)
    await replays_deterministically(handle, run.client)


async def test_an_error_edge_handles_a_failure_after_retries(run: Run) -> None:
    definition = {
        "nodes": [
            node("call", "http", url=f"{run.peer.url}/status/500", retry=FAST_RETRY),
            node("use", "transform", output="${steps.call.output.body}"),
            node(
                "handle",
                "transform",
                output={
                    "type": "${steps.call.error.type}",
                    "status": "${steps.call.error.details.status}",
                },
            ),
        ],
        "edges": [edge("call", "use"), edge("call", "handle", "error")],
    }
    handle = await run.start(definition)

    assert await handle.result() == {
        "handle": {"type": "HttpStatusError", "status": 500}
    }
    record = await run.record()
    assert record.status == "completed"
    assert (record.nodes["call"].status, record.nodes["call"].attempts) == ("failed", 3)
    assert record.nodes["use"].status == "skipped"


async def test_on_error_continue_takes_the_normal_edges_with_the_error_set(
    run: Run,
) -> None:
    definition = {
        "nodes": [
            node("call", "http", url=f"{run.peer.url}/status/404", on_error="continue"),
            node("next", "transform", output="${steps.call.error.details.status}"),
        ],
        "edges": [edge("call", "next")],
    }
    handle = await run.start(definition)

    assert await handle.result() == {"next": 404}
    call = (await run.record()).nodes["call"]
    # A 404 is a client error: it is not retried.
    assert (call.status, call.attempts, call.output) == ("completed", 1, None)
    assert call.error and call.error.type == "HttpStatusError"


async def test_an_unhandled_failure_fails_the_execution(run: Run) -> None:
    definition = {
        "nodes": [
            node("call", "http", url=f"{run.peer.url}/status/404"),
            node("after", "transform", output=1),
        ],
        "edges": [edge("call", "after")],
    }
    handle = await run.start(definition)

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, ApplicationError)
    assert raised.value.cause.type == "HttpStatusError"
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
    record = await run.record()
    assert record.status == "failed"
    assert record.error and record.error.type == "HttpStatusError"
    assert record.nodes["after"].status == "pending"


async def test_an_expression_error_fails_the_execution_naming_the_expression(
    run: Run,
) -> None:
    bad = node("bad", "transform", output="${sort_by(input, &x)}")
    handle = await run.start({"nodes": [bad]}, [1, 2])

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, ApplicationError)
    assert raised.value.cause.type == "ExpressionError"
    assert "sort_by(input, &x)" in raised.value.cause.message


async def test_cancel_stops_a_slow_http_call(run: Run) -> None:
    definition = {
        "nodes": [
            node("start", "start"),
            node("wait", "http", url=f"{run.peer.url}/slow?seconds=30"),
            node("after", "transform", output=1),
        ],
        "edges": [edge("start", "wait"), edge("wait", "after")],
    }
    handle = await run.start(definition)

    async def waiting_on_the_call() -> bool:
        state = await handle.query(ExecutionWorkflow.state)
        return state.nodes.get("wait") is not None and state.nodes["wait"].attempts == 1

    await eventually(waiting_on_the_call)
    state: ExecutionState = await handle.query(ExecutionWorkflow.state)
    assert state.status == "running"
    assert state.nodes["start"].status == "completed"
    assert state.nodes["wait"].status == "running"

    started = time.monotonic()
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, CancelledError)
    assert time.monotonic() - started < 10
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED in await event_types(handle)
    record = await run.record()
    assert record.status == "cancelled"
    assert record.nodes["wait"].status == "cancelled"
    assert record.logs[-1].event == "execution_cancelled"
    await replays_deterministically(handle, run.client)
