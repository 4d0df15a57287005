"""Edge bookkeeping for one execution: which edges were taken, which nodes may run."""

from collections.abc import Collection, Mapping
from typing import Any, Literal

from workflows_runtime.definition import Definition, Node
from workflows_runtime.models import NodeState
from workflows_runtime.node_types import ERROR_BRANCH

EdgeState = Literal["pending", "taken", "skipped"]
Readiness = Literal["waiting", "ready", "skip"]


class Graph:
    """The definition's edges and their state while an execution runs.

    A node is ready when every incoming edge is resolved and at least one was taken;
    it is skipped when all of them were skipped (dead-path elimination). Nodes without
    incoming edges are ready at once.
    """

    def __init__(self, definition: Definition) -> None:
        self._edges = definition.edges
        self._states: list[EdgeState] = ["pending"] * len(definition.edges)
        self._incoming: dict[str, list[int]] = {n.id: [] for n in definition.nodes}
        self._outgoing: dict[str, list[int]] = {n.id: [] for n in definition.nodes}
        for index, edge in enumerate(definition.edges):
            self._outgoing[edge.source].append(index)
            self._incoming[edge.target].append(index)

    def readiness(self, node_id: str) -> Readiness:
        states = [self._states[index] for index in self._incoming[node_id]]
        if "pending" in states:
            return "waiting"
        if states and "taken" not in states:
            return "skip"
        return "ready"

    def settle(self, node_id: str, branches: Collection[str | None]) -> None:
        """Take the outgoing edges whose branch is in `branches`; skip the rest."""
        for index in self._outgoing[node_id]:
            taken = self._edges[index].branch in branches
            self._states[index] = "taken" if taken else "skipped"

    def has_error_edge(self, node_id: str) -> bool:
        return any(
            self._edges[index].branch == ERROR_BRANCH
            for index in self._outgoing[node_id]
        )

    def outgoing_branches(self, node_id: str) -> frozenset[str | None]:
        return frozenset(self._edges[index].branch for index in self._outgoing[node_id])

    def is_leaf(self, node_id: str) -> bool:
        return not self._outgoing[node_id]


def execution_output(
    nodes: list[Node], states: Mapping[str, NodeState], graph: Graph
) -> Any:
    """The `end` output (by id if several ran), else the leaf outputs by id."""
    ends = [node for node in nodes if node.type == "end"]
    if ends:
        outputs = _completed_outputs(ends, states)
        return next(iter(outputs.values())) if len(outputs) == 1 else outputs or None
    leaves = [node for node in nodes if graph.is_leaf(node.id)]
    return _completed_outputs(leaves, states)


def _completed_outputs(
    nodes: list[Node], states: Mapping[str, NodeState]
) -> dict[str, Any]:
    return {
        node.id: states[node.id].output
        for node in nodes
        if states[node.id].status == "completed"
    }
