"""Nodes that run workflows as Temporal child workflows: `sub_workflow`, `foreach`.

A child is another `ExecutionWorkflow` running the version of the named workflow that
was current when the top execution started (the API pins them all in
`ExecutionParams.workflows`). Children keep no execution row of their own; cancelling
the parent cancels them, because awaiting a child that is cancelled asks Temporal to
cancel it and waits for that.
"""

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import (
    ApplicationError,
    ChildWorkflowError,
    is_cancelled_exception,
)

from workflows_runtime.definition import Node
from workflows_runtime.errors import NodeFailure
from workflows_runtime.expressions import render, to_text
from workflows_runtime.inputs import check_input
from workflows_runtime.limits import MAX_FOREACH_ITEMS
from workflows_runtime.models import (
    EXECUTION_WORKFLOW,
    ExecutionParams,
    PinnedWorkflow,
)
from workflows_runtime.scope import NodeResult, Scope

DEFAULT_FOREACH_CONCURRENCY = 10


async def run_sub_workflow(node: Node, scope: Scope) -> NodeResult:
    """Run the named workflow once with the rendered `input`; its output is ours."""
    child_input = render(node.data.get("input", {}), scope.context)
    child_id = _child_prefix(node, scope)
    return NodeResult(await _run_child(node, scope, child_input, child_id))


async def run_foreach(node: Node, scope: Scope) -> NodeResult:
    """Run the named workflow once per item, at most `max_concurrency` at a time.

    The output lists the children's outputs in item order. The first child to fail
    fails the node and cancels the children still running.
    """
    inputs = _item_inputs(node, scope)
    outputs: list[Any] = [None] * len(inputs)
    pending = iter(range(len(inputs)))
    prefix = _child_prefix(node, scope)

    async def work_through_items() -> None:
        # Every lane takes the next index from one shared iterator, in order.
        for index in pending:
            child_id = f"{prefix}/{index}"
            try:
                outputs[index] = await _run_child(node, scope, inputs[index], child_id)
            except NodeFailure as failure:
                raise _for_item(failure, index) from None

    lanes = node.data.get("max_concurrency", DEFAULT_FOREACH_CONCURRENCY)
    tasks = [
        asyncio.create_task(work_through_items())
        for _ in range(min(lanes, len(inputs)))
    ]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return NodeResult(outputs)


def _item_inputs(node: Node, scope: Scope) -> list[Any]:
    items = render(node.data["items"], scope.context)
    if not isinstance(items, list):
        message = f"items must evaluate to a list; got {to_text(items)[:200]}"
        raise NodeFailure("InvalidItems", message, non_retryable=True)
    if len(items) > MAX_FOREACH_ITEMS:
        message = (
            f"{len(items)} items; the limit for a foreach is {MAX_FOREACH_ITEMS} items"
        )
        raise NodeFailure("TooManyItems", message, non_retryable=True)
    template = node.data.get("input", "${item}")
    return [
        render(template, {**scope.context, "item": item, "index": index})
        for index, item in enumerate(items)
    ]


def _child_prefix(node: Node, scope: Scope) -> str:
    # Unique per node and attempt, and the same on replay.
    parent = workflow.info().workflow_id
    return f"{parent}/{node.id}/{scope.attempt(node.id)}"


async def _run_child(node: Node, scope: Scope, child_input: Any, child_id: str) -> Any:
    workflow_id = node.data["workflow_id"]
    pinned = _pinned(scope, workflow_id)
    problems = check_input(pinned.definition, child_input)
    if problems:
        summary = "; ".join(problem.message for problem in problems)
        message = f"input for workflow {workflow_id} refused: {summary}"
        details = [problem.model_dump(exclude_none=True) for problem in problems]
        raise NodeFailure("InvalidInput", message, details, non_retryable=True)
    params = ExecutionParams(
        execution_id=child_id,
        workflow_id=workflow_id,
        workflow_version=pinned.version,
        owner_id=scope.params.owner_id,
        definition=pinned.definition,
        input=child_input,
        started_at=workflow.now(),
        workflows=scope.params.workflows,
        record=False,
    )
    try:
        return await workflow.execute_child_workflow(
            EXECUTION_WORKFLOW, params, id=child_id
        )
    except ChildWorkflowError as error:
        if is_cancelled_exception(error):
            raise asyncio.CancelledError() from error
        raise _failure_from_child(workflow_id, child_id, error) from None


def _pinned(scope: Scope, workflow_id: str) -> PinnedWorkflow:
    pinned = scope.params.workflows.get(workflow_id)
    if pinned is None:
        # The API resolves every reference before starting; this is a stale start.
        message = f"workflow {workflow_id} was not resolved when the execution started"
        raise NodeFailure("WorkflowNotFound", message, non_retryable=True)
    return pinned


def _failure_from_child(
    workflow_id: str, child_id: str, error: ChildWorkflowError
) -> NodeFailure:
    cause = error.cause
    details: dict[str, Any] = {"child_workflow_id": child_id}
    if isinstance(cause, ApplicationError):
        child_details = list(cause.details)
        if child_details and isinstance(child_details[0], dict):
            details.update(child_details[0])
        message = f"workflow {workflow_id} failed: {cause.message}"
        return NodeFailure(cause.type or "ChildWorkflowFailed", message, details)
    message = f"workflow {workflow_id} failed: {cause or error}"
    return NodeFailure("ChildWorkflowFailed", message, details)


def _for_item(failure: NodeFailure, index: int) -> NodeFailure:
    details = {"index": index, "details": failure.details}
    return NodeFailure(
        failure.type,
        f"item {index}: {failure.message}",
        details,
        non_retryable=failure.non_retryable,
    )
