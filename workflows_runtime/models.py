"""The data that crosses the Temporal boundary.

The API starts `ExecutionWorkflow` with `ExecutionParams`, reads `ExecutionState`
through the
`state` query while an execution runs, and the workflow hands an `ExecutionRecord` to
the
`record_execution` activity when it ends. Every model here is plain data, so the API,
the
workflow sandbox and the activities can all import it.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ExecutionStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})

NodeStatus = Literal[
    "pending", "running", "waiting", "completed", "failed", "skipped", "cancelled"
]

# Activity names are referenced as strings from workflow code, so the workflow never
# imports the modules that implement them (and with them the database or the network).
RECORD_EXECUTION_ACTIVITY = "record_execution"
SEND_HTTP_REQUEST_ACTIVITY = "send_http_request"

# The workflow's query name, read by the API for running executions.
STATE_QUERY = "state"
# The workflow update an `approval` node waits for; its validator refuses a decision
# for a node that is not waiting, so the API can answer that atomically.
APPROVE_UPDATE = "approve"
# Children of `sub_workflow` and `foreach` nodes run the same workflow type.
EXECUTION_WORKFLOW = "ExecutionWorkflow"


class PinnedWorkflow(BaseModel):
    """A workflow a definition names, at its version when the execution began."""

    version: int
    definition: dict[str, Any]


class ExecutionParams(BaseModel):
    """Everything an execution needs, frozen when it is started."""

    execution_id: str
    workflow_id: str
    workflow_version: int
    owner_id: str
    definition: dict[str, Any]
    input: Any = None
    started_at: datetime
    # Every workflow named by a `sub_workflow` or `foreach` node, transitively, by id.
    workflows: dict[str, PinnedWorkflow] = Field(default_factory=dict)
    # Children of `sub_workflow` and `foreach` have no execution row of their own.
    record: bool = True


class ApprovalDecision(BaseModel):
    """The argument of the `approve` update: one user's decision on one node."""

    node_id: str
    approved: bool
    comment: str | None = None
    by: str


class ApprovalOutput(BaseModel):
    """An `approval` node's output (`by` and `at` are null after a timeout)."""

    approved: bool
    comment: str | None = None
    by: str | None = None
    at: datetime | None = None


class NodeError(BaseModel):
    type: str
    message: str
    details: Any = None


class NodeState(BaseModel):
    status: NodeStatus = "pending"
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    output: Any = None
    error: NodeError | None = None


class LogEntry(BaseModel):
    timestamp: datetime
    level: Literal["info", "warning", "error"] = "info"
    # execution_started, node_started, node_completed, node_failed, node_retry,
    # node_skipped, execution_completed, execution_failed, execution_cancelled
    event: str
    node_id: str | None = None
    attempt: int | None = None
    message: str
    details: Any = None


class ExecutionState(BaseModel):
    """What the `state` query answers: the execution as the workflow sees it now."""

    status: ExecutionStatus = "running"
    nodes: dict[str, NodeState] = Field(default_factory=dict)
    logs: list[LogEntry] = Field(default_factory=list)
    output: Any = None
    error: NodeError | None = None


class ExecutionRecord(ExecutionState):
    """The final record the workflow stores through the `record_execution` activity."""

    execution_id: str
    finished_at: datetime


class HttpRequest(BaseModel):
    """Input of the `send_http_request` activity: an `http` node with its templates
    evaluated.
    """

    method: str = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    timeout_seconds: float = 30.0
    expect_status: list[int] | None = None


class HttpResponse(BaseModel):
    status: int
    headers: dict[str, str]
    body: Any = None
