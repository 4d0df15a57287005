"""Nodes that wait durably: `delay` on a Temporal timer, `approval` on a decision.

Both waits live in Temporal's history, so a worker that dies while one is pending
loses nothing: another worker replays the history and keeps waiting.
"""

from typing import Any

from temporalio import workflow

from workflows_runtime.definition import Node
from workflows_runtime.errors import NodeFailure
from workflows_runtime.expressions import render, to_text
from workflows_runtime.limits import MAX_DURATION_SECONDS
from workflows_runtime.models import ApprovalOutput
from workflows_runtime.node_checks import parse_instant
from workflows_runtime.scope import NodeResult, Scope


async def run_delay(node: Node, scope: Scope) -> NodeResult:
    """Sleep `seconds`, or until the instant `until` (not at all if it has passed)."""
    seconds = _delay_seconds(node, scope)
    if seconds > 0:
        await workflow.sleep(seconds)
    return NodeResult({"slept_seconds": seconds})


def _delay_seconds(node: Node, scope: Scope) -> float:
    if "until" in node.data:
        until = render(node.data["until"], scope.context)
        try:
            moment = parse_instant(until)
        except (TypeError, ValueError):
            message = f"until must be an ISO 8601 date-time; got {to_text(until)}"
            raise NodeFailure("InvalidSetting", message, non_retryable=True) from None
        seconds: Any = max(0.0, (moment - workflow.now()).total_seconds())
    else:
        seconds = render(node.data.get("seconds"), scope.context)
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= MAX_DURATION_SECONDS
    ):
        message = (
            f"the delay must be from 0 to {MAX_DURATION_SECONDS} seconds (ten years); "
            f"got {to_text(seconds)}"
        )
        raise NodeFailure("InvalidSetting", message, non_retryable=True)
    return seconds


async def run_approval(node: Node, scope: Scope) -> NodeResult:
    """Wait for the owner's decision; take `approved`, `rejected` or `timeout`."""
    message = node.data.get("message")
    rendered = None if message is None else to_text(render(message, scope.context))
    timeout = node.data.get("timeout_seconds")
    decision = await scope.await_decision(node.id, timeout, rendered)
    if decision is None:
        output = ApprovalOutput(approved=False)
        return NodeResult(output.model_dump(mode="json"), frozenset({"timeout"}))
    branch = "approved" if decision.approved else "rejected"
    return NodeResult(decision.model_dump(mode="json"), frozenset({branch}))
