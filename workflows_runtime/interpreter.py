"""`ExecutionWorkflow`: one Temporal workflow per execution, interpreting a definition.

Nodes run as asyncio tasks inside the workflow. Pure nodes finish within the workflow
task that starts them; the others wait on an activity, a timer, an approval or child
workflows (see `workflows_runtime.nodes`). Retries are run here rather than by Temporal
so that every attempt shows in the node's state and logs.
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows_runtime.definition import Definition, Node, validate_definition
    from workflows_runtime.errors import ExpressionError, NodeFailure
    from workflows_runtime.expressions import FinishedSteps
    from workflows_runtime.graph import Graph, execution_output
    from workflows_runtime.limits import MAX_OUTPUT_BYTES, json_size, kilobytes
    from workflows_runtime.models import (
        APPROVE_UPDATE,
        RECORD_EXECUTION_ACTIVITY,
        STATE_QUERY,
        ApprovalDecision,
        ApprovalOutput,
        ExecutionParams,
        ExecutionRecord,
        ExecutionState,
        ExecutionStatus,
        LogEntry,
        NodeError,
        NodeState,
        NodeStatus,
    )
    from workflows_runtime.node_types import NODE_TYPES, RetrySettings
    from workflows_runtime.nodes import DEADLINE_TYPES, RUNNERS, continue_branches
    from workflows_runtime.scope import NodeResult

# The final record is the only copy outside Temporal's history, so it is retried until
# the database takes it; an operator sees the stuck activity in the Web UI meanwhile.
RECORD_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=0,
)

RECORD_AS_LOCAL_ACTIVITY = "record-as-local-activity"

LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

LogLevel = Literal["info", "warning", "error"]


class _ExecutionFailed(Exception):
    def __init__(self, node_id: str | None, error: NodeError) -> None:
        super().__init__(error.message)
        self.node_id = node_id
        self.error = error


@workflow.defn(name="ExecutionWorkflow", sandboxed=False)
class ExecutionWorkflow:
    """Runs one execution of a definition snapshot and records how it ended.

    Returns the execution output; fails with the failing node's error type; ends
    Canceled when cancelled. The final `ExecutionRecord` is persisted in every case.
    """

    def __init__(self) -> None:
        self._state = ExecutionState()
        self._steps = FinishedSteps()
        self._context: dict[str, Any] = {}
        self._running: dict[str, asyncio.Task[frozenset[str | None]]] = {}
        self._graph: Graph | None = None
        self._params: ExecutionParams | None = None
        self._decisions: dict[str, ApprovalOutput] = {}

    @workflow.query(name=STATE_QUERY)
    def state(self) -> ExecutionState:
        """The execution as it stands: node states, logs and, once ended, outcome."""
        return self._state

    @workflow.update(name=APPROVE_UPDATE)
    def approve(self, decision: ApprovalDecision) -> ApprovalOutput:
        """Record a decision for a waiting `approval` node; answers its output."""
        output = ApprovalOutput(
            approved=decision.approved,
            comment=decision.comment,
            by=decision.by,
            at=workflow.now(),
        )
        self._decisions[decision.node_id] = output
        # No longer waiting from this moment, so a second decision is refused.
        self._state.nodes[decision.node_id].status = "running"
        return output

    @approve.validator
    def _only_a_waiting_node(self, decision: ApprovalDecision) -> None:
        node = self._state.nodes.get(decision.node_id)
        if node is None or node.status != "waiting":
            raise ApplicationError(
                f"node {decision.node_id} is not waiting for an approval",
                type="NodeNotWaiting",
            )

    @property
    def context(self) -> Mapping[str, Any]:
        return self._context

    @property
    def params(self) -> ExecutionParams:
        assert self._params is not None, "params are set before any node runs"
        return self._params

    def attempt(self, node_id: str) -> int:
        return self._state.nodes[node_id].attempts

    def outgoing_branches(self, node_id: str) -> frozenset[str | None]:
        return self._require_graph().outgoing_branches(node_id)

    async def await_decision(
        self, node_id: str, timeout: float | None, message: str | None
    ) -> ApprovalOutput | None:
        self._state.nodes[node_id].status = "waiting"
        waiting = f"node {node_id} waits for an approval"
        if message:
            waiting += f": {message}"
        self._log("node_waiting", waiting, node_id, details={"message": message})
        try:
            await workflow.wait_condition(
                lambda: node_id in self._decisions, timeout=timeout
            )
        except TimeoutError:
            self._state.nodes[node_id].status = "running"
            return None
        return self._decisions.pop(node_id)

    @workflow.run
    async def run(self, params: ExecutionParams) -> Any:
        self._params = params
        self._log("execution_started", f"execution {params.execution_id} started")
        try:
            output = await self._execute(params)
        except asyncio.CancelledError:
            await self._stop_running_nodes()
            await self._finish(params, "cancelled")
            raise
        except _ExecutionFailed as failed:
            await self._stop_running_nodes()
            await self._finish(params, "failed", error=failed.error)
            raise ApplicationError(
                failed.error.message,
                {"node_id": failed.node_id, "details": failed.error.details},
                type=failed.error.type,
                non_retryable=True,
            ) from None
        await self._finish(params, "completed", output=output)
        return output

    async def _execute(self, params: ExecutionParams) -> Any:
        problems = validate_definition(params.definition)
        if problems:
            message = "invalid definition: " + "; ".join(p.message for p in problems)
            details = [p.model_dump() for p in problems]
            error = NodeError(
                type="InvalidDefinition", message=message, details=details
            )
            raise _ExecutionFailed(None, error)
        definition = Definition.model_validate(params.definition)
        self._graph = Graph(definition)
        self._state.nodes = {node.id: NodeState() for node in definition.nodes}
        self._context = {
            "input": params.input,
            "steps": self._steps,
            "execution": {
                "id": params.execution_id,
                "workflow_id": params.workflow_id,
                "workflow_version": params.workflow_version,
                "started_at": params.started_at.isoformat(),
            },
        }
        await self._run_graph(definition.nodes)
        return execution_output(
            definition.nodes, self._state.nodes, self._require_graph()
        )

    async def _run_graph(self, nodes: list[Node]) -> None:
        while True:
            self._start_ready_nodes(nodes)
            if not self._running:
                return
            await workflow.wait(
                list(self._running.values()), return_when=asyncio.FIRST_COMPLETED
            )
            # Settle in definition order, never in the order of a set, for determinism.
            for node_id, task in list(self._running.items()):
                if task.done():
                    del self._running[node_id]
                    self._require_graph().settle(node_id, task.result())

    def _start_ready_nodes(self, nodes: list[Node]) -> None:
        graph = self._require_graph()
        progressed = True
        while progressed:
            progressed = False
            for node in nodes:
                if self._state.nodes[node.id].status != "pending":
                    continue
                readiness = graph.readiness(node.id)
                if readiness == "skip":
                    self._skip(node)
                    graph.settle(node.id, ())
                    progressed = True
                elif readiness == "ready":
                    self._state.nodes[node.id].status = "running"
                    self._running[node.id] = asyncio.create_task(self._run_node(node))

    async def _run_node(self, node: Node) -> frozenset[str | None]:
        spec = NODE_TYPES[node.type]
        retry = spec.default_retry
        if "retry" in node.data:
            retry = RetrySettings.model_validate(
                {**retry.model_dump(), **node.data["retry"]}
            )
        state = self._state.nodes[node.id]
        state.started_at = workflow.now()
        while True:
            state.attempts += 1
            if state.attempts == 1:
                self._log("node_started", f"node {node.id} started", node_id=node.id)
            try:
                result = await self._attempt(node)
            except NodeFailure as failure:
                if state.attempts >= retry.max_attempts or not retry.allows(failure):
                    return self._fail_node(node, failure)
                await self._wait_to_retry(node, failure, retry)
                continue
            except asyncio.CancelledError:
                self._end_node(node, "cancelled")
                raise
            self._end_node(node, "completed", output=result.output)
            self._log("node_completed", f"node {node.id} completed", node_id=node.id)
            return result.branches

    async def _attempt(self, node: Node) -> NodeResult:
        try:
            result = await self._run_within_deadline(node)
        except ExpressionError as error:
            details = {"expression": error.expression}
            raise NodeFailure(
                "ExpressionError", str(error), details, non_retryable=True
            ) from None
        try:
            size = json_size(result.output)
        except (TypeError, ValueError) as error:
            raise NodeFailure("InvalidOutput", str(error), non_retryable=True) from None
        if size > MAX_OUTPUT_BYTES:
            limit = kilobytes(MAX_OUTPUT_BYTES)
            message = f"output is {size} bytes; the limit for a node output is {limit}"
            raise NodeFailure("OutputTooLarge", message, non_retryable=True)
        return result

    async def _run_within_deadline(self, node: Node) -> NodeResult:
        timeout = node.data.get("timeout_seconds")
        if timeout is None or node.type not in DEADLINE_TYPES:
            return await RUNNERS[node.type](node, self)
        try:
            # A durable timer: the deadline holds across worker restarts.
            return await asyncio.wait_for(RUNNERS[node.type](node, self), timeout)
        except TimeoutError:
            message = f"node {node.id} ran longer than its timeout_seconds ({timeout}s)"
            raise NodeFailure("NodeTimeout", message) from None

    async def _wait_to_retry(
        self, node: Node, failure: NodeFailure, retry: RetrySettings
    ) -> None:
        attempt = self._state.nodes[node.id].attempts
        delay = retry.delay_before(attempt + 1)
        self._log(
            "node_retry",
            f"node {node.id} attempt {attempt} failed ({failure.type}: "
            f"{failure.message}); retrying in {delay:g}s",
            node_id=node.id,
            level="warning",
            details={"type": failure.type, "details": failure.details},
        )
        await workflow.sleep(delay)

    def _fail_node(self, node: Node, failure: NodeFailure) -> frozenset[str | None]:
        error = NodeError(
            type=failure.type, message=failure.message, details=failure.details
        )
        message = f"node {node.id} failed: {failure.type}: {failure.message}"
        if self._require_graph().has_error_edge(node.id):
            self._end_node(node, "failed", error=error)
            self._log(
                "node_failed", f"{message}; taking its error edge", node.id, "warning"
            )
            return frozenset({"error"})
        if node.data.get("on_error") == "continue":
            self._end_node(node, "completed", error=error)
            self._log("node_failed", f"{message}; continuing", node.id, "warning")
            return continue_branches(node.type)
        self._end_node(node, "failed", error=error)
        self._log("node_failed", message, node.id, "error")
        raise _ExecutionFailed(node.id, error.model_copy(update={"message": message}))

    def _skip(self, node: Node) -> None:
        self._end_node(node, "skipped")
        self._log(
            "node_skipped",
            f"node {node.id} skipped: no incoming edge was taken",
            node_id=node.id,
        )

    def _end_node(
        self,
        node: Node,
        status: NodeStatus,
        output: Any = None,
        error: NodeError | None = None,
    ) -> None:
        state = self._state.nodes[node.id]
        state.status = status
        state.finished_at = workflow.now()
        state.output = output
        state.error = error
        if status == "cancelled":
            return
        self._steps[node.id] = {
            "status": status,
            "output": output,
            "error": error.model_dump(mode="json") if error else None,
            "attempts": state.attempts,
        }

    async def _stop_running_nodes(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()

    async def _finish(
        self,
        params: ExecutionParams,
        status: ExecutionStatus,
        output: Any = None,
        error: NodeError | None = None,
    ) -> None:
        self._state.status = status
        self._state.output = output
        self._state.error = error
        level: LogLevel = "info"
        if status != "completed":
            level = "error" if error else "warning"
        message = f"execution {params.execution_id} {status}"
        if error is not None:
            message += f": {error.message}"
        self._log(f"execution_{status}", message, level=level)
        if not params.record:
            return
        # The state is already validated; copying it field by field skips a full
        # dump and re-validation of every node and log entry.
        record = ExecutionRecord.model_construct(
            **dict(self._state),
            execution_id=params.execution_id,
            finished_at=workflow.now(),
        )
        handle = self._start_record(record)
        try:
            await asyncio.shield(handle)
        except asyncio.CancelledError:
            # The execution has already ended; a cancel arriving now must not lose the
            # record, so it is absorbed and the execution ends as recorded.
            await handle

    def _start_record(self, record: ExecutionRecord) -> asyncio.Future[Any]:
        # A local activity runs on this worker right away, saving the round trip
        # through the server that a final write does not need. Histories from before
        # the change keep their regular activity, so running executions replay.
        if workflow.patched(RECORD_AS_LOCAL_ACTIVITY):
            return workflow.start_local_activity(
                RECORD_EXECUTION_ACTIVITY,
                record,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RECORD_RETRY_POLICY,
            )
        return workflow.start_activity(
            RECORD_EXECUTION_ACTIVITY,
            record,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY_POLICY,
        )

    def _log(
        self,
        event: str,
        message: str,
        node_id: str | None = None,
        level: LogLevel = "info",
        details: Any = None,
    ) -> None:
        attempt = self._state.nodes[node_id].attempts if node_id else None
        # Every argument is already of its field's type: no validation needed.
        self._state.logs.append(
            LogEntry.model_construct(
                timestamp=workflow.now(),
                level=level,
                event=event,
                node_id=node_id,
                attempt=attempt,
                message=message,
                details=details,
            )
        )
        # The execution's own log is the record of every node event; the process
        # log keeps node events at debug, so a busy worker is not writing 40 lines
        # for a 20-node execution.
        log_level = LOG_LEVELS[level]
        if node_id is not None and level == "info":
            log_level = logging.DEBUG
        workflow.logger.log(
            log_level,
            message,
            extra={"event": event, "node_id": node_id, "attempt": attempt},
        )

    def _require_graph(self) -> Graph:
        assert self._graph is not None, "the graph is built before any node runs"
        return self._graph
