"""What `POST /api/workflows/validate` adds to validation: warnings and references.

A warning marks a definition that saves and runs but probably not as meant: a node
not connected to the start node, or an expression reading a step that cannot have
finished when it runs.
"""

import re
from collections.abc import Iterator
from typing import Any

from workflows_runtime.definition import Definition, Node, Problem
from workflows_runtime.expressions import json_strings
from workflows_runtime.node_types import CHILD_NODE_TYPES

_STEP_REFERENCE = re.compile(r"""steps\s*\.\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_]\w*))""")


def referenced_workflows(definition: Definition) -> list[tuple[Node, str]]:
    """The `(node, workflow_id)` of each `sub_workflow` and `foreach` node."""
    return [
        (node, node.data["workflow_id"])
        for node in definition.nodes
        if node.type in CHILD_NODE_TYPES
        and isinstance(node.data.get("workflow_id"), str)
    ]


def definition_warnings(definition: Definition) -> list[Problem]:
    """Warnings for a definition that `validate_definition` accepted."""
    ancestors = _ancestors(definition)
    return _unreachable(definition, ancestors) + _step_references(definition, ancestors)


def _ancestors(definition: Definition) -> dict[str, set[str]]:
    parents: dict[str, set[str]] = {node.id: set() for node in definition.nodes}
    for edge in definition.edges:
        parents[edge.target].add(edge.source)
    found: dict[str, set[str]] = {}

    def visit(node_id: str) -> set[str]:
        if node_id not in found:
            found[node_id] = set()  # the graph is acyclic; this only guards recursion
            result: set[str] = set()
            for parent in parents[node_id]:
                result |= {parent} | visit(parent)
            found[node_id] = result
        return found[node_id]

    for node in definition.nodes:
        visit(node.id)
    return found


def _unreachable(
    definition: Definition, ancestors: dict[str, set[str]]
) -> list[Problem]:
    start = next((n.id for n in definition.nodes if n.type == "start"), None)
    if start is None:
        return []
    return [
        Problem(
            code="unreachable_node",
            message=(
                f"node {node.id!r} is not reachable from the start node "
                f"{start!r}; it runs as soon as the execution starts"
            ),
            node_id=node.id,
        )
        for node in definition.nodes
        if node.id != start and start not in ancestors[node.id]
    ]


def _step_references(
    definition: Definition, ancestors: dict[str, set[str]]
) -> list[Problem]:
    ids = {node.id for node in definition.nodes}
    problems = []
    for node in definition.nodes:
        for step in sorted(set(_steps_read(node.data))):
            if step not in ids:
                reason = "is not a node of this definition"
                code = "unknown_step"
            elif step not in ancestors[node.id]:
                reason = "is not upstream of it, so it may not have finished"
                code = "step_not_upstream"
            else:
                continue
            problems.append(
                Problem(
                    code=code,
                    message=f"node {node.id!r} reads steps.{step}, which {reason}",
                    node_id=node.id,
                )
            )
    return problems


def _steps_read(tree: Any) -> Iterator[str]:
    for text in json_strings(tree):
        for quoted, bare in _STEP_REFERENCE.findall(text):
            yield quoted or bare
