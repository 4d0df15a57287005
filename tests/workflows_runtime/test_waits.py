"""`delay` and `approval`: durable waits, their timeouts and their cancellation."""

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from tests.workflows_runtime.helpers import Runner, edge, eventually, node, running
from workflows_runtime.interpreter import ExecutionWorkflow
from workflows_runtime.models import APPROVE_UPDATE, ApprovalDecision, ApprovalOutput

TEST_SERVER = Path(__file__).resolve().parents[2] / ".venv/bin/temporal-test-server"
WEEK = 7 * 24 * 3600
THREE_DAYS = 3 * 24 * 3600


def approval_flow(timeout: float | None = None) -> dict:
    ask = node("ask", "approval", message="ship ${input.order}?")
    if timeout is not None:
        ask["data"]["timeout_seconds"] = timeout
    return {
        "nodes": [
            ask,
            node("ship", "transform", output="shipped"),
            node("drop", "transform", output="dropped"),
            node("late", "transform", output="expired"),
        ],
        "edges": [
            edge("ask", "ship", "approved"),
            edge("ask", "drop", "rejected"),
            edge("ask", "late", "timeout"),
        ],
    }


async def waiting(handle, node_id: str) -> bool:
    state = await handle.query(ExecutionWorkflow.state)
    return state.nodes.get(node_id) is not None and (
        state.nodes[node_id].status == "waiting"
    )


def decision(approved: bool, node_id: str = "ask") -> ApprovalDecision:
    return ApprovalDecision(node_id=node_id, approved=approved, comment="ok", by="u1")


async def test_a_delay_sleeps_on_a_durable_timer(runner: Runner) -> None:
    nap = node("nap", "delay", seconds=0.2)
    handle = await runner.start({"nodes": [nap]})

    assert await handle.result() == {"nap": {"slept_seconds": 0.2}}
    events = [e.event_type async for e in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_TIMER_FIRED in events


async def test_a_delay_until_a_past_instant_does_not_sleep(runner: Runner) -> None:
    nap = node("nap", "delay", until="${input.at}")
    handle = await runner.start({"nodes": [nap]}, {"at": "2001-01-01T00:00:00Z"})

    assert await handle.result() == {"nap": {"slept_seconds": 0.0}}


@pytest.mark.parametrize(
    "settings, input",
    [
        ({"seconds": "${input.s}"}, {"s": 1e308}),
        ({"until": "${input.at}"}, {"at": "9999-01-01T00:00:00Z"}),
    ],
    ids=["seconds", "until"],
)
async def test_a_delay_of_more_than_ten_years_fails_the_node(
    runner: Runner, settings: dict, input: dict
) -> None:
    handle = await runner.start({"nodes": [node("nap", "delay", **settings)]}, input)

    with pytest.raises(WorkflowFailureError):
        await handle.result()
    error = (await runner.record(handle)).nodes["nap"].error
    assert error is not None and error.type == "InvalidSetting"
    assert "ten years" in error.message


async def test_an_approval_takes_the_branch_of_the_decision(runner: Runner) -> None:
    handle = await runner.start(approval_flow(), {"order": "A1"})
    await eventually(lambda: waiting(handle, "ask"))

    output = await handle.execute_update(
        APPROVE_UPDATE, decision(False), result_type=ApprovalOutput
    )

    assert (output.approved, output.by, output.comment) == (False, "u1", "ok")
    assert await handle.result() == {"drop": "dropped"}
    record = await runner.record(handle)
    assert record.nodes["ask"].output["by"] == "u1"
    waits = [log for log in record.logs if log.event == "node_waiting"]
    assert waits and "ship A1?" in waits[0].message


async def test_a_decision_for_a_node_that_is_not_waiting_is_refused(
    runner: Runner,
) -> None:
    handle = await runner.start(approval_flow(), {"order": "A1"})
    await eventually(lambda: waiting(handle, "ask"))

    for wrong in ("ship", "nobody"):
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(APPROVE_UPDATE, decision(True, wrong))
    await handle.execute_update(APPROVE_UPDATE, decision(True))
    # Refused by the validator, or by the server once the execution has finished.
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await handle.execute_update(APPROVE_UPDATE, decision(False))

    assert await handle.result() == {"ship": "shipped"}


async def test_an_approval_without_a_decision_times_out(runner: Runner) -> None:
    handle = await runner.start(approval_flow(timeout=0.2), {"order": "A1"})

    assert await handle.result() == {"late": "expired"}
    output = (await runner.record(handle)).nodes["ask"].output
    assert output == {"approved": False, "comment": None, "by": None, "at": None}


@pytest.mark.parametrize(
    "waiter",
    [node("wait", "delay", seconds=600), node("wait", "approval")],
    ids=["delay", "approval"],
)
async def test_cancel_stops_a_wait(runner: Runner, waiter: dict) -> None:
    handle = await runner.start({"nodes": [waiter]})
    await eventually(lambda: _started(handle))

    await handle.cancel()

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, CancelledError)
    assert (await runner.record(handle)).nodes["wait"].status == "cancelled"


async def _started(handle) -> bool:
    state = await handle.query(ExecutionWorkflow.state)
    return state.nodes.get("wait") is not None and state.nodes["wait"].status in (
        "running",
        "waiting",
    )


async def test_a_node_over_its_timeout_fails_and_can_be_routed(
    runner: Runner,
) -> None:
    definition = {
        "nodes": [
            node("nap", "delay", seconds=600, timeout_seconds=0.2),
            node("gave_up", "transform", output="${steps.nap.error.type}"),
        ],
        "edges": [edge("nap", "gave_up", "error")],
    }
    handle = await runner.start(definition)

    assert await handle.result() == {"gave_up": "NodeTimeout"}


@pytest.fixture
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(TEST_SERVER),
    )
    yield env
    await env.shutdown()


async def test_a_week_long_delay_and_a_three_day_approval_finish_in_seconds(
    skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    definition = {
        "nodes": [
            node("week", "delay", seconds=WEEK),
            node("ask", "approval", timeout_seconds=THREE_DAYS),
            node("done", "end", output="${steps.ask.output.approved}"),
        ],
        "edges": [edge("week", "ask"), edge("ask", "done", "timeout")],
    }
    started = time.monotonic()
    async with running(skipping_env.client, task_queue) as runner:
        handle = await runner.start(definition)

        assert await handle.result() is False

    assert time.monotonic() - started < 30
    history = await handle.fetch_history()
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToSeconds()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    assert timers == [WEEK, THREE_DAYS]
