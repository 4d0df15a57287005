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
    "pending", "running", "completed", "failed", "skipped", "cancelled"
]

# Activity names are referenced as strings from workflow code, so the workflow never
# imports the modules that implement them (and with them the database or the network).
RECORD_EXECUTION_ACTIVITY = "record_execution"
SEND_HTTP_REQUEST_ACTIVITY = "send_http_request"

# The workflow's query name, read by the API for running executions.
STATE_QUERY = "state"


class ExecutionParams(BaseModel):
    """Everything an execution needs, frozen when it is started."""

    execution_id: str
    workflow_id: str
    workflow_version: int
    owner_id: str
    definition: dict[str, Any]
    input: Any = None
    started_at: datetime


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
