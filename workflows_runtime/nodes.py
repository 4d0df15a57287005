"""The registry of runners, and the node types that run inline in the workflow.

Inline types are pure: they finish within the workflow task that starts them and
record nothing in Temporal's history. The other families live beside this module:
`http_node` (an activity), `waits` (timers and approvals) and `children` (child
workflows).
"""

from collections.abc import Iterable
from typing import Any

from workflows_runtime import children, http_node, waits
from workflows_runtime.definition import Node
from workflows_runtime.errors import NodeFailure
from workflows_runtime.expressions import evaluate, is_truthy, render, to_text
from workflows_runtime.node_checks import schema_validator
from workflows_runtime.node_types import DEFAULT_BRANCH
from workflows_runtime.scope import NodeResult, Runner, Scope

# Types whose `timeout_seconds` bounds the whole attempt; `http` and `approval` give
# it a meaning of their own, and inline types cannot outlive one workflow task.
DEADLINE_TYPES = frozenset({"delay", "sub_workflow", "foreach"})
MAX_REPORTED_SCHEMA_ERRORS = 20


def continue_branches(node_type: str) -> frozenset[str | None]:
    """Edges a node takes when it failed with `on_error: continue` (output null)."""
    if node_type == "condition":
        return frozenset({"false"})
    if node_type == "switch":
        return frozenset({DEFAULT_BRANCH})
    return frozenset({None})


async def _run_start(node: Node, scope: Scope) -> NodeResult:
    return NodeResult(scope.context["input"])


async def _run_transform(node: Node, scope: Scope) -> NodeResult:
    return NodeResult(render(node.data.get("output"), scope.context))


async def _run_condition(node: Node, scope: Scope) -> NodeResult:
    passed = is_truthy(_expression_value(node, scope))
    return NodeResult(passed, frozenset({"true" if passed else "false"}))


async def _run_switch(node: Node, scope: Scope) -> NodeResult:
    value = _expression_value(node, scope)
    label = to_text(value)
    if label not in scope.outgoing_branches(node.id):
        label = DEFAULT_BRANCH
    return NodeResult(value, frozenset({label}))


def _expression_value(node: Node, scope: Scope) -> Any:
    # A bare string is a JMESPath expression; a `${...}` template is rendered first.
    expression = node.data["expression"]
    if isinstance(expression, str) and "${" not in expression:
        return evaluate(expression, scope.context)
    return render(expression, scope.context)


async def _run_validate(node: Node, scope: Scope) -> NodeResult:
    value = render(node.data["value"], scope.context)
    validator = schema_validator(node.data["schema"])
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if not errors:
        return NodeResult(value)
    problems = [
        {"path": _value_path(error.absolute_path), "message": error.message}
        for error in errors[:MAX_REPORTED_SCHEMA_ERRORS]
    ]
    summary = "; ".join(f"{p['path']}: {p['message']}" for p in problems[:3])
    message = f"the value does not match the schema ({len(errors)} errors): {summary}"
    raise NodeFailure("ValidationFailed", message, problems, non_retryable=True)


def _value_path(parts: Iterable[str | int]) -> str:
    return "value" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts
    )


async def _run_fail(node: Node, scope: Scope) -> NodeResult:
    code = render(node.data.get("code") or "WorkflowFailed", scope.context)
    message = render(node.data["message"], scope.context)
    details = render(node.data.get("details"), scope.context)
    raise NodeFailure(to_text(code), to_text(message), details, non_retryable=True)


async def _run_end(node: Node, scope: Scope) -> NodeResult:
    return NodeResult(render(node.data.get("output"), scope.context))


RUNNERS: dict[str, Runner] = {
    "start": _run_start,
    "transform": _run_transform,
    "condition": _run_condition,
    "switch": _run_switch,
    "http": http_node.run_http,
    "delay": waits.run_delay,
    "approval": waits.run_approval,
    "sub_workflow": children.run_sub_workflow,
    "foreach": children.run_foreach,
    "validate": _run_validate,
    "fail": _run_fail,
    "end": _run_end,
}
