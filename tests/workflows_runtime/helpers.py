"""Building blocks for the interpreter's tests: a worker with recorded results."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.http import HttpActivities
from workflows_runtime.interpreter import ExecutionWorkflow
from workflows_runtime.models import (
    RECORD_EXECUTION_ACTIVITY,
    ExecutionParams,
    ExecutionRecord,
    PinnedWorkflow,
)

FAST_RETRY = {"initial_interval_seconds": 0.05, "max_interval_seconds": 0.1}


class Runner:
    """One test's worker, the records it persisted and a way to start executions."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.records: list[ExecutionRecord] = []

    async def start(
        self,
        definition: dict[str, Any],
        input: Any = None,
        workflows: dict[str, dict[str, Any]] | None = None,
    ) -> WorkflowHandle:
        """Start an execution; `workflows` maps child workflow ids to definitions."""
        execution_id = str(uuid.uuid4())
        pinned = {
            key: PinnedWorkflow(version=1, definition=value)
            for key, value in (workflows or {}).items()
        }
        params = ExecutionParams(
            execution_id=execution_id,
            workflow_id="wf-1",
            workflow_version=3,
            owner_id="owner-1",
            definition=definition,
            input=input,
            started_at=datetime.now(UTC),
            workflows=pinned,
        )
        return await self.client.start_workflow(
            ExecutionWorkflow.run,
            params,
            id=f"exec-{execution_id}",
            task_queue=self.task_queue,
        )

    async def record(self, execution: WorkflowHandle) -> ExecutionRecord:
        """The final record of `execution`, once the workflow has stored it."""
        execution_id = execution.id.removeprefix("exec-")

        def stored() -> ExecutionRecord | None:
            return next(
                (r for r in self.records if r.execution_id == execution_id), None
            )

        await eventually(lambda: stored() is not None)
        found = stored()
        assert found is not None
        return found


@asynccontextmanager
async def running(
    client: Client, task_queue: str, runner: Runner | None = None
) -> AsyncIterator[Runner]:
    """A worker for `ExecutionWorkflow` whose records are kept in memory."""
    runner = runner or Runner(client, task_queue)

    @activity.defn(name=RECORD_EXECUTION_ACTIVITY)
    async def record_execution(record: ExecutionRecord) -> None:
        runner.records.append(record)

    http = HttpActivities(["127.0.0.1"])
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ExecutionWorkflow],
        activities=[http.send_http_request, record_execution],
    ):
        yield runner
    await http.aclose()


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 10
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        outcome = check()
        if isinstance(outcome, Awaitable):
            outcome = await outcome
        if outcome:
            return
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.05)


def node(node_id: str, type: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type, "data": data}


def edge(source: str, target: str, branch: str | None = None) -> dict[str, Any]:
    return {"source": source, "target": target, "branch": branch}
