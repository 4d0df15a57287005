from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from workflows_runtime.models import ExecutionStatus, LogEntry, NodeError, NodeState


class ExecutionCreate(BaseModel):
    input: Any = Field(default_factory=dict)


class ExecutionRead(BaseModel):
    id: str
    workflow_id: str
    workflow_version: int
    temporal_workflow_id: str
    status: ExecutionStatus
    input: Any = None
    output: Any = None
    error: NodeError | None = None
    nodes: dict[str, NodeState] = Field(default_factory=dict)
    created_at: datetime
    started_at: datetime
    finished_at: datetime | None = None


class ExecutionLogs(BaseModel):
    execution_id: str
    status: ExecutionStatus
    logs: list[LogEntry]
