"""The activity that persists an execution's final record in the service's database."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

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
        if not found:
            raise ApplicationError(
                f"execution {record.execution_id} has no row to record into",
                type="ExecutionRowMissing",
                non_retryable=True,
            )
        activity.logger.info(
            "recorded execution %s as %s", record.execution_id, record.status
        )
