"""Approvals: the owner's decision for an execution's waiting `approval` node."""

import asyncio
import hashlib
import logging
from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import select
from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import FailureError
from temporalio.service import RPCError, RPCStatusCode

from api.db.models import Execution
from api.deps import AppSettings, CurrentUser, DbSession, Temporal
from api.errors import BadRequest, NotFound, ServiceUnavailable
from api.schemas import Envelope
from api.schemas.approvals import ApprovalCreate, ApprovalRead
from workflows_runtime.models import (
    APPROVE_UPDATE,
    FINAL_STATUSES,
    ApprovalDecision,
    ApprovalOutput,
)

logger = logging.getLogger(__name__)

router = APIRouter(tags=["executions"])


@router.post("/api/executions/{execution_id}/approve")
async def approve_execution_node(
    execution_id: str,
    body: ApprovalCreate,
    user: CurrentUser,
    db: DbSession,
    temporal: Temporal,
    settings: AppSettings,
) -> Envelope[ApprovalRead]:
    """Approve or reject a waiting `approval` node; 400 if that node is not waiting."""
    execution = await db.scalar(
        select(Execution).where(
            Execution.id == execution_id, Execution.owner_id == user.id
        )
    )
    if execution is None:
        raise NotFound("Execution not found")
    if execution.status in FINAL_STATUSES:
        raise _not_waiting(body.node_id, f"the execution is {execution.status}")

    decision = ApprovalDecision(
        node_id=body.node_id,
        approved=body.approved,
        comment=body.comment,
        by=user.id,
    )
    output = await _send(temporal, settings, execution, decision)
    assert output.by is not None and output.at is not None
    verdict = "Approved" if output.approved else "Rejected"
    return Envelope(
        data=ApprovalRead(
            execution_id=execution.id,
            node_id=body.node_id,
            approved=output.approved,
            comment=output.comment,
            by=output.by,
            at=output.at,
        ),
        message=verdict,
    )


async def _send(
    temporal: Temporal,
    settings: AppSettings,
    execution: Execution,
    decision: ApprovalDecision,
) -> ApprovalOutput:
    client = await temporal.client()
    handle = client.get_workflow_handle(execution.temporal_workflow_id)
    # The update needs a worker to run its validator, so it may wait for one.
    timeout = settings.temporal_rpc_timeout_seconds * 3
    try:
        return await asyncio.wait_for(
            handle.execute_update(
                APPROVE_UPDATE,
                decision,
                id=_update_id(decision),
                result_type=ApprovalOutput,
                rpc_timeout=timedelta(seconds=timeout),
            ),
            timeout,
        )
    except WorkflowUpdateFailedError as exc:
        # The workflow's validator refused it: the node is not waiting right now.
        reason = exc.cause.message if isinstance(exc.cause, FailureError) else exc
        raise _not_waiting(decision.node_id, str(reason)) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _not_waiting(decision.node_id, "the execution has ended") from exc
        raise _unavailable(execution) from exc
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        # Temporal may still deliver it once a worker polls; resending the same
        # decision joins that update (same id) and answers its outcome.
        raise _unavailable(execution) from exc


def _update_id(decision: ApprovalDecision) -> str:
    """The same decision resent is the same update; a different one is a new one."""
    digest = hashlib.sha256(decision.model_dump_json().encode()).hexdigest()
    return f"approve-{decision.node_id}-{digest[:24]}"


def _not_waiting(node_id: str, reason: str) -> BadRequest:
    return BadRequest(
        f"Node {node_id} is not waiting for an approval: {reason}",
        code="NODE_NOT_WAITING",
    )


def _unavailable(execution: Execution) -> ServiceUnavailable:
    logger.warning(
        "approval for execution %s not delivered",
        execution.id,
        extra={"execution_id": execution.id},
    )
    return ServiceUnavailable(
        "No worker took the decision in time; it may still be delivered. "
        "Send the same decision again to learn its outcome",
        code="TEMPORAL_UNAVAILABLE",
    )
