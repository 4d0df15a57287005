"""A Temporal worker process: runs executions from one task queue.

Start any number of them, on any machines that reach Temporal and the database:
`python worker.py`. Settings come from the environment (see the README). With
WORKER_METRICS_PORT set, the Temporal SDK serves Prometheus metrics on that port. On
SIGTERM or SIGINT the worker stops polling and lets running activities finish for up to
WORKER_SHUTDOWN_SECONDS before they are cancelled.
"""

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.http import HttpActivities
from activities.records import RecordActivities
from api.db.session import create_engine, session_factory
from api.observability import configure_logging
from api.settings import Settings, get_settings
from api.temporal import connect
from workflows_runtime.interpreter import ExecutionWorkflow

logger = logging.getLogger("worker")


def build_worker(
    client: Client,
    settings: Settings,
    http: HttpActivities,
    records: RecordActivities,
    task_queue: str | None = None,
) -> Worker:
    """A worker for the execution workflow and every activity it calls."""
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[ExecutionWorkflow],
        activities=[http.send_http_request, records.record_execution],
        # On SIGTERM, running activities get this long to finish before they are
        # cancelled (and then retried by another worker).
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_seconds),
        # Workflow tasks run on threads that share the GIL with the event loop; a few
        # keep activity heartbeats on time when hundreds of executions arrive at once.
        max_concurrent_workflow_tasks=settings.worker_workflow_task_slots,
        # http activities heartbeat every second; sending each one (rather than the
        # default 80% of the heartbeat timeout) lets a cancellation reach a request in
        # flight within about a second.
        max_heartbeat_throttle_interval=timedelta(seconds=1),
        default_heartbeat_throttle_interval=timedelta(seconds=1),
    )


async def run_worker(settings: Settings) -> None:
    client = await _connect_with_retries(settings, metrics_runtime(settings))
    engine = create_engine(settings.database_url)
    http = HttpActivities(settings.http_allow_hosts)
    records = RecordActivities(session_factory(engine))
    worker = build_worker(client, settings, http, records)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    logger.info(
        "worker polling task queue %s on %s",
        settings.task_queue,
        settings.temporal_address,
    )
    async with worker:
        await stop.wait()
        logger.info("worker stopping: finishing running activities")
    await http.aclose()
    await engine.dispose()
    logger.info("worker stopped")


async def _connect_with_retries(
    settings: Settings, runtime: Runtime | None, patience: float = 60.0
) -> Client:
    # A worker may start before Temporal accepts clients (a fresh cluster, a rolling
    # restart); it waits for it rather than exiting.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    delay = 0.2
    while True:
        try:
            return await connect(settings, runtime=runtime)
        except RuntimeError as exc:
            if loop.time() + delay > deadline:
                raise
            logger.warning("Temporal not reachable yet (%s); retrying", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting Prometheus metrics, when a port is configured.

    The SDK's own metrics (task latencies, slots, failures) and the node outcomes the
    record activity counts are all served at `/metrics` on that port.
    """
    if settings.worker_metrics_port is None:
        return None
    address = f"{settings.worker_metrics_host}:{settings.worker_metrics_port}"
    logger.info("worker metrics on http://%s/metrics", address)
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address))
    )


def main() -> None:
    settings = get_settings()
    configure_logging(settings)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
