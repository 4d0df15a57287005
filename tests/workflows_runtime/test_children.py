"""`sub_workflow` and `foreach`: child workflows on pinned definitions."""

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, CancelledError

from tests.workflows_runtime.helpers import Runner, edge, eventually, node
from workflows_runtime.interpreter import ExecutionWorkflow
from workflows_runtime.limits import MAX_FOREACH_ITEMS

GREET = {
    "nodes": [
        node(
            "start",
            "start",
            input_schema={"type": "object", "required": ["name"]},
        ),
        node("done", "end", output="hello ${input.name}"),
    ],
    "edges": [edge("start", "done")],
}
NAP = {"nodes": [node("nap", "delay", seconds="${input}")]}


async def test_a_sub_workflow_returns_its_childs_output(runner: Runner) -> None:
    call = node("call", "sub_workflow", workflow_id="greet", input={"name": "Ada"})
    handle = await runner.start({"nodes": [call]}, workflows={"greet": GREET})

    assert await handle.result() == {"call": "hello Ada"}
    # Only the parent keeps an execution record.
    await runner.record(handle)
    assert len(runner.records) == 1


async def test_a_child_refuses_input_failing_its_schema(runner: Runner) -> None:
    call = node("call", "sub_workflow", workflow_id="greet", input={"who": "Ada"})
    handle = await runner.start({"nodes": [call]}, workflows={"greet": GREET})

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, ApplicationError)
    assert raised.value.cause.type == "InvalidInput"


async def test_a_failing_child_fails_the_node_with_its_error(runner: Runner) -> None:
    broken = {"nodes": [node("boom", "fail", code="Broken", message="no")]}
    definition = {
        "nodes": [
            node("call", "sub_workflow", workflow_id="broken"),
            node("handled", "transform", output="${steps.call.error.type}"),
        ],
        "edges": [edge("call", "handled", "error")],
    }
    handle = await runner.start(definition, workflows={"broken": broken})

    assert await handle.result() == {"handled": "Broken"}


async def test_foreach_returns_outputs_in_item_order(runner: Runner) -> None:
    each = node(
        "each",
        "foreach",
        items="${input}",
        workflow_id="greet",
        input={"name": "${item}-${index}"},
        max_concurrency=2,
    )
    handle = await runner.start(
        {"nodes": [each]}, ["a", "b", "c"], workflows={"greet": GREET}
    )

    assert await handle.result() == {"each": ["hello a-0", "hello b-1", "hello c-2"]}


async def test_foreach_runs_at_most_max_concurrency_children_at_once(
    runner: Runner,
) -> None:
    each = node(
        "each", "foreach", items="${input}", workflow_id="nap", max_concurrency=2
    )
    # Later items sleep less, so order of completion differs from item order.
    handle = await runner.start(
        {"nodes": [each]}, [0.6, 0.4, 0.2, 0.1], workflows={"nap": NAP}
    )

    outputs = (await handle.result())["each"]
    assert [o["nap"]["slept_seconds"] for o in outputs] == [0.6, 0.4, 0.2, 0.1]
    spans = []
    async for child in runner.client.list_workflows(
        f"WorkflowId STARTS_WITH '{handle.id}/each/'"
    ):
        spans.append((child.start_time, child.close_time))
    assert len(spans) == 4
    for start, _ in spans:
        running_then = [s for s, c in spans if s <= start < c]
        assert len(running_then) <= 2


async def test_foreach_over_too_many_items_is_refused_naming_the_limit(
    runner: Runner,
) -> None:
    each = node("each", "foreach", items="${input}", workflow_id="greet")
    handle = await runner.start(
        {"nodes": [each]},
        list(range(MAX_FOREACH_ITEMS + 1)),
        workflows={"greet": GREET},
    )

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, ApplicationError)
    assert raised.value.cause.type == "TooManyItems"
    assert "1000 items" in str(raised.value.cause)


async def test_cancel_cancels_the_children(runner: Runner) -> None:
    each = node("each", "foreach", items="${input}", workflow_id="nap")
    handle = await runner.start({"nodes": [each]}, [600, 600], workflows={"nap": NAP})
    children = [
        runner.client.get_workflow_handle(f"{handle.id}/each/1/{i}") for i in (0, 1)
    ]
    await eventually(lambda: _all_started(children))

    await handle.cancel()

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, CancelledError)
    for child in children:
        with pytest.raises(WorkflowFailureError) as child_raised:
            await child.result()
        assert isinstance(child_raised.value.cause, CancelledError)


async def _all_started(children: list[WorkflowHandle]) -> bool:
    for child in children:
        try:
            state = await child.query(ExecutionWorkflow.state)
        except Exception:
            return False
        if state.nodes.get("nap") is None or state.nodes["nap"].status != "running":
            return False
    return True
