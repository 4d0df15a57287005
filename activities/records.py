"""The activity that persists an execution's final record in the service's database."""

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from api.db.models import Execution, WorkflowVersion
from api.db.records import save_execution_record
from workflows_runtime.models import RECORD_EXECUTION_ACTIVITY, ExecutionRecord


class RecordActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=RECORD_EXECUTION_ACTIVITY)
    async def record_execution(self, record: ExecutionRecord) -> None:
        """Write the record; a missing execution row is a non-retryable failure."""
        async with self._sessions() as db:
            found = await save_execution_record(db, record)
            definition = (
                await _definition_of(db, record.execution_id) if found else None
            )
        if not found:
            raise ApplicationError(
                f"execution {record.execution_id} has no row to record into",
                type="ExecutionRowMissing",
                non_retryable=True,
            )
        _count_outcomes(record, definition or {})
        activity.logger.info(
            "recorded execution %s as %s", record.execution_id, record.status
        )


async def _definition_of(db: AsyncSession, execution_id: str) -> dict[str, Any] | None:
    definition: dict[str, Any] | None = await db.scalar(
        select(WorkflowVersion.definition)
        .join(
            Execution,
            (Execution.workflow_id == WorkflowVersion.workflow_id)
            & (Execution.workflow_version == WorkflowVersion.version),
        )
        .where(Execution.id == execution_id)
    )
    return definition


def node_outcomes(
    record: ExecutionRecord, definition: dict[str, Any]
) -> Counter[tuple[str, str]]:
    """How many nodes of each type ended in each status, for one execution."""
    types = {
        node.get("id"): node.get("type", "unknown")
        for node in definition.get("nodes", [])
        if isinstance(node, dict)
    }
    return Counter(
        (types.get(node_id, "unknown"), state.status)
        for node_id, state in record.nodes.items()
    )


def _count_outcomes(record: ExecutionRecord, definition: dict[str, Any]) -> None:
    # The SDK's meter, so these land on the worker's Prometheus endpoint beside the
    # SDK's own metrics (and nowhere when the worker exports no metrics).
    meter = activity.metric_meter()
    meter.create_counter(
        "auterity_executions_finished", "Executions recorded, by final status."
    ).add(1, {"status": record.status})
    nodes = meter.create_counter(
        "auterity_node_outcomes", "Nodes of finished executions, by type and status."
    )
    for (node_type, status), count in node_outcomes(record, definition).items():
        nodes.add(count, {"node_type": node_type, "status": status})
