"""The workflow definition: its models and its validation.

`validate_definition` is what the API runs before saving a definition; it reports
every problem at once so a visual builder can mark them all. The interpreter runs it
again on the snapshot it receives, so a definition that slipped past the API fails
cleanly.
"""

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflows_runtime.expressions import check_templates
from workflows_runtime.limits import (
    MAX_DEFINITION_BYTES,
    MAX_DURATION_SECONDS,
    MAX_NODES,
    json_size,
    kilobytes,
)
from workflows_runtime.node_types import (
    ERROR_BRANCH,
    NODE_TYPES,
    NodeType,
    RetrySettings,
)

ON_ERROR_VALUES = ("fail", "continue")
Model = TypeVar("Model", bound=BaseModel)


class Node(BaseModel):
    # Visual builders add keys of their own (width, selected, ...): kept, not used.
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    type: str
    name: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    position: Any = None


class Edge(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    source: str
    target: str
    branch: str | None = None


class Definition(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodes: list[Node]
    edges: list[Edge] = Field(default_factory=list)


class Problem(BaseModel):
    """One reason a definition or an execution input is refused."""

    code: str
    message: str
    node_id: str | None = None
    edge: int | None = None
    path: str | None = None


def validate_definition(raw: Any) -> list[Problem]:
    """Every problem of a raw definition (parsed JSON); none means it is valid."""
    problems = _check_size(raw)
    if not isinstance(raw, dict):
        return problems + [Problem(code="invalid_shape", message="must be an object")]
    nodes, node_problems = _parse_items(raw, "nodes", Node)
    edges, edge_problems = _parse_items(raw, "edges", Edge)
    problems += node_problems + edge_problems
    problems += _check_node_count(raw.get("nodes"))
    problems += _check_node_ids(nodes)
    for index, node in nodes:
        problems += _check_node(index, node)
    problems += _check_edges(_raw_ids(raw), nodes, edges)
    problems += _check_start_nodes(nodes, edges)
    problems += _check_cycles(nodes, edges)
    return problems


def _check_size(raw: Any) -> list[Problem]:
    try:
        size = json_size(raw)
    except (TypeError, ValueError) as error:
        return [
            Problem(code="invalid_shape", message=f"definition is not JSON: {error}")
        ]
    if size <= MAX_DEFINITION_BYTES:
        return []
    message = (
        f"definition is {size} bytes; the limit for a definition "
        f"is {kilobytes(MAX_DEFINITION_BYTES)}"
    )
    return [Problem(code="definition_too_large", message=message)]


def _parse_items(
    raw: dict[str, Any], key: str, model: type[Model]
) -> tuple[list[tuple[int, Model]], list[Problem]]:
    items = raw.get(key, [] if key == "edges" else None)
    if not isinstance(items, list):
        message = f"{key} must be a list"
        return [], [Problem(code="invalid_shape", message=message, path=key)]
    parsed: list[tuple[int, Model]] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        try:
            parsed.append((index, model.model_validate(item)))
        except ValidationError as error:
            problems += _shape_problems(key, index, item, error)
    return parsed, problems


def _shape_problems(
    key: str, index: int, item: Any, error: ValidationError
) -> list[Problem]:
    node_id = item.get("id") if key == "nodes" and isinstance(item, dict) else None
    problems = []
    for detail in error.errors():
        path = json_path(f"{key}[{index}]", detail["loc"])
        problems.append(
            Problem(
                code="invalid_shape",
                message=f"{path}: {detail['msg']}",
                node_id=node_id if isinstance(node_id, str) else None,
                edge=index if key == "edges" else None,
                path=path,
            )
        )
    return problems


def _check_node_count(raw_nodes: Any) -> list[Problem]:
    if not isinstance(raw_nodes, list):
        return []
    if not raw_nodes:
        return [
            Problem(code="no_nodes", message="a definition needs at least one node")
        ]
    if len(raw_nodes) > MAX_NODES:
        message = (
            f"{len(raw_nodes)} nodes; the limit is {MAX_NODES} nodes per definition"
        )
        return [Problem(code="too_many_nodes", message=message, path="nodes")]
    return []


def _check_node_ids(nodes: list[tuple[int, Node]]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for index, node in nodes:
        if node.id in seen:
            message = f"node id {node.id!r} is used by more than one node"
            problems.append(
                _node_problem("duplicate_node_id", message, node, index, "id")
            )
        seen.add(node.id)
    return problems


def _check_node(index: int, node: Node) -> list[Problem]:
    spec = NODE_TYPES.get(node.type)
    if spec is None:
        return [_unknown_type(index, node)]
    problems = [
        _node_problem(
            "missing_setting", f"{node.type} needs data.{name}", node, index, name
        )
        for name in spec.required
        if node.data.get(name) in (None, "")
    ]
    problems += _check_common_settings(index, node)
    if spec.check is not None:
        for found in spec.check(node.data):
            problems.append(
                _node_problem(found.code, found.message, node, index, found.path)
            )
    problems += _check_node_templates(index, node, spec)
    return problems


def _unknown_type(index: int, node: Node) -> Problem:
    supported = ", ".join(NODE_TYPES)
    message = f"unknown node type {node.type!r}; supported types: {supported}"
    return Problem(
        code="unknown_node_type",
        message=message,
        node_id=node.id,
        path=f"nodes[{index}].type",
    )


def _check_common_settings(index: int, node: Node) -> list[Problem]:
    problems = []
    if "retry" in node.data:
        problems += _check_retry(index, node)
    timeout = node.data.get("timeout_seconds")
    if "timeout_seconds" in node.data and not _is_duration(timeout):
        message = (
            "timeout_seconds must be a number greater than 0 and at most "
            f"{MAX_DURATION_SECONDS} (ten years)"
        )
        problems.append(
            _node_problem("invalid_setting", message, node, index, "timeout_seconds")
        )
    if node.data.get("on_error", "fail") not in ON_ERROR_VALUES:
        message = 'on_error must be "fail" or "continue"'
        problems.append(
            _node_problem("invalid_setting", message, node, index, "on_error")
        )
    return problems


def _check_retry(index: int, node: Node) -> list[Problem]:
    try:
        RetrySettings.model_validate(node.data["retry"])
    except ValidationError as error:
        return [
            _node_problem(
                "invalid_setting",
                f"{json_path('retry', detail['loc'])}: {detail['msg']}",
                node,
                index,
                json_path("retry", detail["loc"]),
            )
            for detail in error.errors()
        ]
    return []


def _check_node_templates(index: int, node: Node, spec: NodeType) -> list[Problem]:
    problems = []
    for setting, value in node.data.items():
        if not spec.is_template(setting):
            continue
        for found in check_templates(value, setting):
            problems.append(
                _node_problem(
                    "invalid_expression", found.message, node, index, found.path
                )
            )
    return problems


def _raw_ids(raw: dict[str, Any]) -> set[str]:
    """Ids of all nodes, even those refused for their shape, so edges are not blamed."""
    items = raw.get("nodes")
    if not isinstance(items, list):
        return set()
    return {
        i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)
    }


def _check_edges(
    known_ids: set[str], nodes: list[tuple[int, Node]], edges: list[tuple[int, Edge]]
) -> list[Problem]:
    by_id = {node.id: node for _, node in nodes}
    problems = []
    for index, edge in edges:
        for end in ("source", "target"):
            node_id = getattr(edge, end)
            if node_id not in known_ids:
                message = (
                    f"edge {index} {end} {node_id!r} is not a node of this definition"
                )
                problems.append(
                    Problem(
                        code=f"unknown_edge_{end}",
                        message=message,
                        edge=index,
                        path=f"edges[{index}].{end}",
                    )
                )
        source = by_id.get(edge.source)
        if source is not None:
            problems += _check_branch(index, edge, source)
    return problems


def _check_branch(index: int, edge: Edge, source: Node) -> list[Problem]:
    spec = NODE_TYPES.get(source.type)
    if spec is None or edge.branch == ERROR_BRANCH or edge.branch in spec.branches:
        return []
    if spec.any_branch and edge.branch:
        return []
    if spec.any_branch:
        allowed = 'a branch: the value it matches, "default" or "error"'
    elif spec.branches == {None}:
        allowed = 'no branch, or "error"'
    else:
        allowed = ", ".join(f'"{b}"' for b in sorted(b for b in spec.branches if b))
        allowed += ', or "error"'
    message = (
        f"edge {index} leaves {source.type} node {source.id!r} with branch "
        f"{edge.branch!r}; it takes {allowed}"
    )
    return [
        Problem(
            code="invalid_branch",
            message=message,
            node_id=source.id,
            edge=index,
            path=f"edges[{index}].branch",
        )
    ]


def _check_start_nodes(
    nodes: list[tuple[int, Node]], edges: list[tuple[int, Edge]]
) -> list[Problem]:
    starts = [node.id for _, node in nodes if node.type == "start"]
    problems = []
    if len(starts) > 1:
        message = f"a definition has at most one start node; found {', '.join(starts)}"
        problems.append(Problem(code="multiple_start_nodes", message=message))
    for index, edge in edges:
        if edge.target in starts:
            message = f"start node {edge.target!r} cannot have incoming edges"
            problems.append(
                Problem(
                    code="start_has_incoming_edges",
                    message=message,
                    node_id=edge.target,
                    edge=index,
                )
            )
    return problems


def _check_cycles(
    nodes: list[tuple[int, Node]], edges: list[tuple[int, Edge]]
) -> list[Problem]:
    ids = {node.id for _, node in nodes}
    predecessors: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for _, edge in edges:
        if edge.source in ids and edge.target in ids:
            predecessors[edge.target].append(edge.source)
    remaining = _nodes_not_sorted(ids, predecessors)
    problems = []
    reported: set[str] = set()
    for _, node in nodes:
        if node.id in remaining and node.id not in reported:
            cycle = _walk_back_to_cycle(node.id, predecessors, remaining, reported)
            if cycle:
                reported |= set(cycle)
                message = f"cycle: {' -> '.join(cycle + [cycle[0]])}"
                problems.append(
                    Problem(code="cycle", message=message, node_id=cycle[0])
                )
    return problems


def _nodes_not_sorted(ids: set[str], predecessors: dict[str, list[str]]) -> set[str]:
    """Nodes a topological sort cannot place: those on a cycle or downstream of one."""
    successors: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for target, sources in predecessors.items():
        for source in sources:
            successors[source].append(target)
    waiting = {node_id: len(sources) for node_id, sources in predecessors.items()}
    ready = [node_id for node_id, count in waiting.items() if count == 0]
    while ready:
        for target in successors[ready.pop()]:
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    return {node_id for node_id, count in waiting.items() if count > 0}


def _walk_back_to_cycle(
    start: str,
    predecessors: dict[str, list[str]],
    remaining: set[str],
    reported: set[str],
) -> list[str]:
    # Every unsorted node has an unsorted predecessor, so walking back must loop.
    path: list[str] = []
    seen: dict[str, int] = {}
    current = start
    while current not in seen:
        if current in reported:
            return []
        seen[current] = len(path)
        path.append(current)
        current = next(p for p in predecessors[current] if p in remaining)
    return list(reversed(path[seen[current] :]))


def _node_problem(
    code: str, message: str, node: Node, index: int, setting: str
) -> Problem:
    path = f"nodes[{index}]." + (setting if setting == "id" else f"data.{setting}")
    return Problem(code=code, message=message, node_id=node.id, path=path)


def _is_duration(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 < value <= MAX_DURATION_SECONDS
    )


def json_path(prefix: str, loc: Any) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path
