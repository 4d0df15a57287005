"""Operations: Prometheus metrics, JSON logs, and the request context they share.

The API counts requests by route template, method and status, times them, and counts
execute requests by outcome; `/metrics` serves the counts. Workers export the Temporal
SDK's own metrics instead (see `worker.py`). Logs are text in development and one JSON
object a line in production, carrying the request id, user id, execution id and node id
of whatever they were logged for.
"""

import json
import logging
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import temporalio.activity
import temporalio.workflow
from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import Settings
from api.temporal import execution_id_of

logger = logging.getLogger("api.requests")

REQUESTS = Counter(
    "auterity_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "auterity_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
)
EXECUTIONS_STARTED = Counter(
    "auterity_executions_started",
    "Execute requests by outcome: started, or why nothing started.",
    ["outcome"],
)

EXECUTE_ROUTE = "/api/workflows/{workflow_id}/execute"
EXECUTE_OUTCOMES = {
    202: "started",
    401: "unauthorized",
    404: "not_found",
    422: "invalid_input",
    503: "temporal_unavailable",
}
# Probes and scrapes arrive every few seconds; their log lines are debug only.
QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})
UNMATCHED_ROUTE = "unmatched"

# The per-request state dict (Starlette's `request.state`): the request id is set by
# the middleware, the user id by the authentication dependency once it knows it.
_request_state: ContextVar[dict[str, Any] | None] = ContextVar(
    "request_state", default=None
)


class RequestObservability:
    """ASGI middleware: request id, metrics, one log line, and the log context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        request_id = _header(scope, b"x-request-id") or str(uuid.uuid4())
        state["request_id"] = request_id
        token = _request_state.set(state)
        status = 500  # what the client gets when the app raises past this point
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _observe(scope, status, time.perf_counter() - started)
            _request_state.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _observe(scope: Scope, status: int, seconds: float) -> None:
    route_object = scope.get("route")
    route = getattr(route_object, "path", None) or UNMATCHED_ROUTE
    method = scope["method"]
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)
    if route == EXECUTE_ROUTE and method == "POST":
        EXECUTIONS_STARTED.labels(EXECUTE_OUTCOMES.get(status, "error")).inc()
    level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
    logger.log(
        level,
        "%s %s %s %.1fms",
        method,
        scope["path"],
        status,
        seconds * 1000,
        extra={"route": route, "status": status, "duration_ms": seconds * 1000},
    )


# Fields copied from a log record (given with `extra=`) into the JSON object.
RECORD_FIELDS = (
    "request_id",
    "user_id",
    "execution_id",
    "node_id",
    "event",
    "attempt",
    "route",
    "status",
    "duration_ms",
)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the ids that apply."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(log_context(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_context(record: logging.LogRecord) -> dict[str, Any]:
    """The identifiers that apply to `record`: its own, the request's, Temporal's."""
    fields = {
        name: getattr(record, name)
        for name in RECORD_FIELDS
        if getattr(record, name, None) is not None
    }
    state = _request_state.get()
    if state is not None:
        for name in ("request_id", "user_id"):
            if name in state:
                fields.setdefault(name, state[name])
    temporal = getattr(record, "temporal_activity", None) or getattr(
        record, "temporal_workflow", None
    )
    if isinstance(temporal, dict):
        workflow_id = temporal.get("workflow_id")
        fields["temporal_workflow_id"] = workflow_id
        execution_id = execution_id_of(workflow_id) if workflow_id else None
        if execution_id is not None:
            fields.setdefault("execution_id", execution_id)
        if "activity_type" in temporal:
            fields["activity_type"] = temporal["activity_type"]
    return fields


def configure_logging(settings: Settings) -> None:
    """Send every log record to stderr, as text or JSON lines per LOG_FORMAT.

    Uvicorn's own loggers are re-pointed at the same handler, so one process writes
    one format.
    """
    handler = logging.StreamHandler(sys.stderr)
    if settings.effective_log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
    if settings.effective_log_format == "json":
        # Temporal's loggers put their ids in `extra`; the JSON line carries them, so
        # the copy the SDK appends to each message would only repeat them.
        temporalio.workflow.logger.workflow_info_on_message = False
        temporalio.activity.logger.activity_info_on_message = False
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    # The middleware logs each request with its id; uvicorn's line would repeat it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
