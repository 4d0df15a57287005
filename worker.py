"""A Temporal worker process: runs executions from one task queue.

Start any number of them, on any machines that reach Temporal and the database:
`python worker.py`. Settings come from the environment (see the README).
"""

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.http import HttpActivities
from activities.records import RecordActivities
from api.db.session import create_engine, session_factory
from api.settings import Settings, get_settings
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
        # cancelled.
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


async def run_worker(settings: Settings) -> None:
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
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


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    asyncio.run(run_worker(get_settings()))


if __name__ == "__main__":
    main()
