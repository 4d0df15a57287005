"""The `http` node: one `send_http_request` activity per attempt.

The activity is called by name so the workflow never imports the code that touches
the network.
"""

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    TimeoutError,
    is_cancelled_exception,
)

from workflows_runtime.definition import Node
from workflows_runtime.errors import NodeFailure
from workflows_runtime.expressions import render, to_text
from workflows_runtime.models import (
    SEND_HTTP_REQUEST_ACTIVITY,
    HttpRequest,
    HttpResponse,
)
from workflows_runtime.node_types import NODE_TYPES
from workflows_runtime.scope import NodeResult, Scope

DEFAULT_HTTP_TIMEOUT_SECONDS = 30.0
# The activity's own deadline leaves room for the request's timeout to fire first, so a
# slow peer reports HttpTimeout rather than an opaque activity timeout.
HTTP_ACTIVITY_GRACE = timedelta(seconds=5)
# A lost worker is noticed within this long. Not shorter: a worker whose event loop
# is busy for a few seconds under load must not have its requests failed under it.
# Cancellation still arrives within about a second, because the worker sends the
# activity's heartbeats that often (see worker.py).
HTTP_HEARTBEAT_TIMEOUT = timedelta(seconds=10)


async def run_http(node: Node, scope: Scope) -> NodeResult:
    """Send the node's request; a status outside 2xx or `expect_status` fails it."""
    spec = NODE_TYPES[node.type]
    templates = {k: v for k, v in node.data.items() if spec.is_template(k)}
    request = _http_request(render(templates, scope.context), node.data)
    try:
        response = await workflow.execute_activity(
            SEND_HTTP_REQUEST_ACTIVITY,
            request,
            result_type=HttpResponse,
            start_to_close_timeout=timedelta(seconds=request.timeout_seconds)
            + HTTP_ACTIVITY_GRACE,
            heartbeat_timeout=HTTP_HEARTBEAT_TIMEOUT,
            # The interpreter retries by itself, so every attempt is counted and logged.
            retry_policy=RetryPolicy(maximum_attempts=1),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
    except ActivityError as error:
        if is_cancelled_exception(error):
            raise asyncio.CancelledError() from error
        raise _failure_from_activity(error) from None
    return NodeResult(response.model_dump(mode="json"))


def _http_request(rendered: dict[str, Any], data: dict[str, Any]) -> HttpRequest:
    headers = rendered.get("headers") or {}
    query = rendered.get("query") or {}
    if not isinstance(headers, dict) or not isinstance(query, dict):
        raise NodeFailure(
            "InvalidHttpRequest",
            "headers and query must be objects",
            non_retryable=True,
        )
    try:
        return HttpRequest(
            method=str(rendered.get("method") or "GET").upper(),
            url=rendered["url"],
            headers={k: to_text(v) for k, v in headers.items() if v is not None},
            query=query,
            body=rendered.get("body"),
            timeout_seconds=data.get("timeout_seconds") or DEFAULT_HTTP_TIMEOUT_SECONDS,
            expect_status=rendered.get("expect_status"),
        )
    except ValidationError as error:
        raise NodeFailure(
            "InvalidHttpRequest", str(error), non_retryable=True
        ) from None


def _failure_from_activity(error: ActivityError) -> NodeFailure:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        details = list(cause.details)
        return NodeFailure(
            cause.type or "ApplicationError",
            cause.message,
            details[0] if len(details) == 1 else details or None,
            non_retryable=cause.non_retryable,
        )
    if isinstance(cause, TimeoutError):
        kind = cause.type.name.lower() if cause.type else "activity"
        return NodeFailure("ActivityTimeout", f"the http activity timed out ({kind})")
    return NodeFailure(type(cause or error).__name__, str(cause or error))
