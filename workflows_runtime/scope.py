"""What a node runner receives: its node, and the execution it runs in.

Runners live in one module per family of node types; they reach the execution only
through `Scope`, which the interpreter implements, so none of them holds its state.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from workflows_runtime.definition import Node
from workflows_runtime.models import ApprovalOutput, ExecutionParams


@dataclass(frozen=True)
class NodeResult:
    output: Any
    # Outgoing edges to take, by branch; None is an unlabelled edge.
    branches: frozenset[str | None] = field(default_factory=lambda: frozenset({None}))


class Scope(Protocol):
    """The execution as a runner sees it."""

    @property
    def context(self) -> Mapping[str, Any]:
        """The expression context: `input`, `steps`, `execution`."""
        ...

    @property
    def params(self) -> ExecutionParams: ...

    def attempt(self, node_id: str) -> int:
        """The attempt of `node_id` now running, from 1."""
        ...

    def outgoing_branches(self, node_id: str) -> frozenset[str | None]: ...

    async def await_decision(
        self, node_id: str, timeout: float | None, message: str | None
    ) -> ApprovalOutput | None:
        """Mark the node waiting until its `approve` update, or None on timeout."""
        ...


Runner = Callable[[Node, Scope], Awaitable[NodeResult]]
