"""Executions: one Temporal workflow per execute, then read, followed or cancelled."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, status
from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import TypedSearchAttributes
from temporalio.service import RPCError

from api.db.models import Execution, ExecutionLog, new_id
from api.db.records import save_execution_record
from api.deps import AppSettings, CurrentUser, DbSession, Temporal
from api.errors import BadRequest, NotFound, ServiceUnavailable, ValidationFailed
from api.routes.workflows import load_workflow
from api.schemas import Envelope
from api.schemas.executions import ExecutionCreate, ExecutionLogs, ExecutionRead
from api.settings import Settings
from api.temporal import TemporalGateway, execution_workflow_id
from api.workflow_references import pin_workflows
from workflows_runtime.inputs import check_input
from workflows_runtime.models import (
    FINAL_STATUSES,
    STATE_QUERY,
    ExecutionParams,
    ExecutionRecord,
    ExecutionState,
    LogEntry,
    NodeError,
)

logger = logging.getLogger(__name__)

router = APIRouter(tags=["executions"])

WORKFLOW_TYPE = "ExecutionWorkflow"

# What Temporal says of a closed workflow whose own record never reached the database
# (terminated, timed out, or failed outside the interpreter).
_CLOSED_STATUS = {
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "failed",
    WorkflowExecutionStatus.TIMED_OUT: "failed",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "failed",
}


@router.post(
    "/api/workflows/{workflow_id}/execute", status_code=status.HTTP_202_ACCEPTED
)
async def execute_workflow(
    workflow_id: str,
    body: ExecutionCreate,
    user: CurrentUser,
    db: DbSession,
    temporal: Temporal,
    settings: AppSettings,
) -> Envelope[ExecutionRead]:
    """Start an execution of the current version; answers once it has started."""
    workflow, version = await load_workflow(db, workflow_id, user.id)
    if not workflow.is_active:
        raise BadRequest(
            "The workflow is inactive; set is_active to true to execute it",
            code="WORKFLOW_INACTIVE",
        )
    problems = check_input(version.definition, body.input)
    if problems:
        raise ValidationFailed(
            "The input does not match the workflow's input schema",
            details=[problem.model_dump(exclude_none=True) for problem in problems],
        )
    pinned = await pin_workflows(db, user.id, workflow.id, version.definition)

    client = await temporal.client()
    execution = Execution(
        id=new_id(),
        workflow_id=workflow.id,
        workflow_version=version.version,
        owner_id=user.id,
        status="pending",
        input=body.input,
        created_at=datetime.now(UTC),
    )
    execution.temporal_workflow_id = execution_workflow_id(workflow.name, execution.id)
    db.add(execution)
    await db.commit()

    params = ExecutionParams(
        execution_id=execution.id,
        workflow_id=workflow.id,
        workflow_version=version.version,
        owner_id=user.id,
        definition=version.definition,
        input=body.input,
        started_at=execution.created_at,
        workflows=pinned,
    )
    attributes = await temporal.search_attributes(user.id, workflow.id, version.version)
    await _start(client, settings, execution, params, db, attributes)
    return Envelope(data=execution_read(execution), message="Execution started")


async def _start(
    temporal: Client,
    settings: Settings,
    execution: Execution,
    params: ExecutionParams,
    db: DbSession,
    search_attributes: TypedSearchAttributes,
) -> None:
    try:
        await temporal.start_workflow(
            WORKFLOW_TYPE,
            params,
            id=execution.temporal_workflow_id,
            task_queue=settings.task_queue,
            memo={
                "execution_id": execution.id,
                "owner_id": execution.owner_id,
                "workflow_id": execution.workflow_id,
                "workflow_version": execution.workflow_version,
            },
            search_attributes=search_attributes,
            rpc_timeout=timedelta(seconds=settings.temporal_rpc_timeout_seconds * 3),
        )
    except RPCError as exc:
        # Nothing started, so nothing may claim it did: the row goes too.
        await db.delete(execution)
        await db.commit()
        raise ServiceUnavailable(
            "The execution could not be started", code="TEMPORAL_UNAVAILABLE"
        ) from exc


@router.get("/api/executions/{execution_id}")
async def get_execution(
    execution_id: str,
    user: CurrentUser,
    db: DbSession,
    temporal: Temporal,
    settings: AppSettings,
) -> Envelope[ExecutionRead]:
    """Status, output and node states: live while running, stored once finished."""
    execution = await _load_execution(db, execution_id, user.id)
    state = await _live_state(db, temporal, settings, execution)
    return Envelope(data=execution_read(execution, state))


@router.get("/api/executions/{execution_id}/logs")
async def get_execution_logs(
    execution_id: str,
    user: CurrentUser,
    db: DbSession,
    temporal: Temporal,
    settings: AppSettings,
) -> Envelope[ExecutionLogs]:
    """Timestamped entries for each node's start, completion, failure and retry."""
    execution = await _load_execution(db, execution_id, user.id)
    state = await _live_state(db, temporal, settings, execution)
    if state is not None:
        logs = state.logs
    else:
        logs = await _stored_logs(db, execution.id)
    return Envelope(
        data=ExecutionLogs(
            execution_id=execution.id,
            status=_status(execution, state),
            logs=logs,
        )
    )


@router.post("/api/executions/{execution_id}/cancel")
async def cancel_execution(
    execution_id: str,
    user: CurrentUser,
    db: DbSession,
    temporal: Temporal,
    settings: AppSettings,
) -> Envelope[ExecutionRead]:
    """Cancel the running Temporal workflow; a finished execution is refused."""
    execution = await _load_execution(db, execution_id, user.id)
    if execution.status in FINAL_STATUSES:
        raise _already_finished(execution)

    client = await temporal.client()
    handle = client.get_workflow_handle(execution.temporal_workflow_id)
    timeout = settings.temporal_rpc_timeout_seconds
    try:
        await handle.cancel(rpc_timeout=timedelta(seconds=timeout))
    except RPCError as exc:
        await _reconcile(db, handle, execution, timeout)
        if execution.status in FINAL_STATUSES:
            raise _already_finished(execution) from exc
        raise ServiceUnavailable(
            "Temporal did not accept the cancellation", code="TEMPORAL_UNAVAILABLE"
        ) from exc

    # Give the workflow a moment to stop its nodes and record itself as cancelled.
    await _wait_for_close(handle, timeout)
    await db.refresh(execution)
    state = await _live_state(db, temporal, settings, execution)
    return Envelope(
        data=execution_read(execution, state), message="Cancellation requested"
    )


def _already_finished(execution: Execution) -> BadRequest:
    return BadRequest(
        f"The execution has already finished as {execution.status}",
        code="EXECUTION_ALREADY_FINISHED",
    )


async def _wait_for_close(handle: WorkflowHandle, timeout: float) -> None:
    try:
        await asyncio.wait_for(handle.result(), timeout)
    except Exception:  # cancelled, failed or still running: the caller reads the row
        return


async def _load_execution(db: DbSession, execution_id: str, owner_id: str) -> Execution:
    execution = await db.scalar(
        select(Execution).where(
            Execution.id == execution_id, Execution.owner_id == owner_id
        )
    )
    if execution is None:
        raise NotFound("Execution not found")
    return execution


async def _live_state(
    db: DbSession, temporal: TemporalGateway, settings: Settings, execution: Execution
) -> ExecutionState | None:
    """The running workflow's own view, or None once the stored record is final.

    Never waits on Temporal longer than the RPC timeout: with no worker to answer the
    query, the stored row is the answer.
    """
    if execution.status in FINAL_STATUSES:
        return None
    try:
        client = await temporal.client()
    except ServiceUnavailable:
        return None
    handle = client.get_workflow_handle(execution.temporal_workflow_id)
    timeout = settings.temporal_rpc_timeout_seconds
    try:
        # The client retries a timed-out query on its own; wait_for is the real bound.
        state: ExecutionState = await asyncio.wait_for(
            handle.query(
                STATE_QUERY,
                result_type=ExecutionState,
                rpc_timeout=timedelta(seconds=timeout),
            ),
            timeout,
        )
    except Exception as exc:  # no worker, or the workflow closed: ask Temporal
        logger.info(
            "live state of execution %s unavailable: %s",
            execution.id,
            exc,
            extra={"execution_id": execution.id},
        )
        await _reconcile(db, handle, execution, timeout)
        return None
    if state.status in FINAL_STATUSES:
        # Finished, but its record is not written yet: the stored row answers soon.
        await db.refresh(execution)
    return state


async def _reconcile(
    db: DbSession, handle: WorkflowHandle, execution: Execution, timeout: float
) -> None:
    """Store a final status Temporal knows of that the workflow could not record."""
    try:
        description = await asyncio.wait_for(
            handle.describe(rpc_timeout=timedelta(seconds=timeout)), timeout
        )
    except (RPCError, TimeoutError):
        return
    await db.refresh(execution)
    closed_as = _CLOSED_STATUS.get(description.status) if description.status else None
    if closed_as is None or execution.status in FINAL_STATUSES:
        return
    await save_execution_record(
        db,
        ExecutionRecord(
            execution_id=execution.id,
            status=closed_as,  # type: ignore[arg-type]
            error=NodeError(
                type="WorkflowClosed",
                message=f"Temporal closed the workflow as {description.status.name}",
            ),
            finished_at=description.close_time or datetime.now(UTC),
        ),
    )
    await db.refresh(execution)


async def _stored_logs(db: DbSession, execution_id: str) -> list[LogEntry]:
    rows = await db.scalars(
        select(ExecutionLog)
        .where(ExecutionLog.execution_id == execution_id)
        .order_by(ExecutionLog.seq)
    )
    return [
        LogEntry(
            timestamp=row.timestamp,
            level=row.level,  # type: ignore[arg-type]
            event=row.event,
            node_id=row.node_id,
            attempt=row.attempt,
            message=row.message,
            details=row.details,
        )
        for row in rows
    ]


def _status(execution: Execution, state: ExecutionState | None) -> str:
    if execution.status in FINAL_STATUSES or state is None:
        return execution.status
    return state.status


def execution_read(
    execution: Execution, state: ExecutionState | None = None
) -> ExecutionRead:
    live = state is not None and execution.status not in FINAL_STATUSES
    return ExecutionRead(
        id=execution.id,
        workflow_id=execution.workflow_id,
        workflow_version=execution.workflow_version,
        temporal_workflow_id=execution.temporal_workflow_id,
        status=_status(execution, state),  # type: ignore[arg-type]
        input=execution.input,
        output=state.output if live and state else execution.output,
        error=state.error if live and state else execution.error,
        nodes=state.nodes if live and state else (execution.nodes or {}),
        created_at=execution.created_at,
        started_at=execution.created_at,
        finished_at=execution.finished_at,
    )
