"""Resolving the workflows a definition runs as children (`sub_workflow`, `foreach`).

An execution pins, when it starts, the current version of every workflow its
definition names, transitively, so that editing one of them never changes a running
execution. A name must be one of the caller's own live workflows, and no workflow may
reach itself through its children.
"""

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.queries import current_workflow_version
from api.errors import ValidationFailed
from workflows_runtime.definition import Definition, Problem
from workflows_runtime.diagnostics import referenced_workflows
from workflows_runtime.models import PinnedWorkflow


async def pin_workflows(
    db: AsyncSession, owner_id: str, workflow_id: str, definition: dict[str, Any]
) -> dict[str, PinnedWorkflow]:
    """Every workflow `definition` names, transitively, at its current version.

    Raises `ValidationFailed` (422 `INVALID_WORKFLOW_REFERENCE`) naming each missing,
    foreign or cyclic reference.
    """
    pinned, problems = await resolve_references(db, owner_id, definition, workflow_id)
    if problems:
        raise ValidationFailed(
            "The workflow names workflows it cannot run",
            code="INVALID_WORKFLOW_REFERENCE",
            details=[problem.model_dump(exclude_none=True) for problem in problems],
        )
    return pinned


async def resolve_references(
    db: AsyncSession,
    owner_id: str,
    definition: dict[str, Any],
    workflow_id: str | None = None,
) -> tuple[dict[str, PinnedWorkflow], list[Problem]]:
    """The pinned workflows and the problems of the references, without raising."""
    pinned: dict[str, PinnedWorkflow] = {}
    children: dict[str, list[str]] = {}
    problems: list[Problem] = []
    root = workflow_id or ""
    queue: list[tuple[str, dict[str, Any]]] = [(root, definition)]
    while queue:
        source, raw = queue.pop(0)
        children[source] = []
        for node, target in _references(raw):
            children[source].append(target)
            if target in pinned or target == root:
                continue
            found = await _current_version(db, owner_id, target)
            if found is None:
                if source == root:
                    problems.append(_not_found(node.id, target))
                continue
            pinned[target] = found
            queue.append((target, found.definition))
    problems += _cycles(root, children)
    return pinned, problems


def _references(raw: dict[str, Any]) -> list[tuple[Any, str]]:
    try:
        definition = Definition.model_validate(raw)
    except ValidationError:
        return []  # validation reports the shape; there is nothing to follow
    return referenced_workflows(definition)


async def _current_version(
    db: AsyncSession, owner_id: str, workflow_id: str
) -> PinnedWorkflow | None:
    row = (await db.execute(current_workflow_version(workflow_id, owner_id))).first()
    if row is None:
        return None
    version = row.WorkflowVersion
    return PinnedWorkflow(version=version.version, definition=version.definition)


def _not_found(node_id: str, target: str) -> Problem:
    return Problem(
        code="unknown_workflow",
        message=f"node {node_id!r} names workflow {target!r}, which is not yours "
        "or does not exist",
        node_id=node_id,
        path="data.workflow_id",
    )


def _cycles(root: str, children: dict[str, list[str]]) -> list[Problem]:
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()

    def walk(current: str, path: list[str]) -> None:
        for target in children.get(current, []):
            if target in path:
                cycle = path[path.index(target) :] + [target]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    names = " -> ".join(name or "this workflow" for name in cycle)
                    problems.append(
                        Problem(code="workflow_cycle", message=f"cycle: {names}")
                    )
            elif target in children:
                walk(target, path + [target])

    walk(root, [root])
    return problems
