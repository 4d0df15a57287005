"""Writing an execution's final record: shared by the worker's activity and the API."""

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Execution, ExecutionLog
from workflows_runtime.models import FINAL_STATUSES, ExecutionRecord


async def save_execution_record(db: AsyncSession, record: ExecutionRecord) -> bool:
    """Store the final status, output, node states and logs of an execution.

    Idempotent: a retried activity replaces the logs it wrote before. Returns False when
    no execution row has that id.
    """
    assert record.status in FINAL_STATUSES, record.status
    result = await db.execute(
        update(Execution)
        .where(Execution.id == record.execution_id)
        .values(
            status=record.status,
            output=record.output,
            error=record.error.model_dump(mode="json") if record.error else None,
            nodes={
                node_id: state.model_dump(mode="json")
                for node_id, state in record.nodes.items()
            },
            finished_at=record.finished_at,
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        await db.rollback()
        return False

    await db.execute(
        delete(ExecutionLog).where(ExecutionLog.execution_id == record.execution_id)
    )
    if record.logs:
        # One executemany through Core: the ORM's per-object bookkeeping cost more
        # than the write itself for executions with many nodes.
        await db.execute(
            insert(ExecutionLog),
            [
                {
                    "execution_id": record.execution_id,
                    "seq": seq,
                    **entry.model_dump(
                        include={
                            "timestamp",
                            "level",
                            "event",
                            "node_id",
                            "attempt",
                            "message",
                            "details",
                        }
                    ),
                }
                for seq, entry in enumerate(record.logs)
            ],
        )
    await db.commit()
    return True
