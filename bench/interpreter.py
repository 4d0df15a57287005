"""`python -m bench.interpreter`: what interpreting a definition costs over Temporal.

On one dev server started as `make run` starts it, alternating the two sides:
- 5 `http` nodes in a chain through `ExecutionWorkflow`, its final record and logs
  written to SQLite, against a hand-written workflow calling the same activity 5 times;
- 2 `http` nodes plus 18 pure nodes against the 2 `http` nodes alone.
"""

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.http import HttpActivities
from activities.records import RecordActivities
from api.db.models import User, Workflow, WorkflowVersion
from api.db.session import create_engine, session_factory
from api.settings import Settings
from bench.common import (
    Report,
    Side,
    alternate,
    bench_settings,
    execution_params,
    http_chain,
    machine,
    median,
    migrated_database,
    percentile,
    run_benchmark,
    scratch_dir,
    store_pending_executions,
    temporal,
)
from bench.common import http_peer as start_peer
from bench.handwritten import HandWrittenChainWorkflow
from worker import build_worker
from workflows_runtime.interpreter import ExecutionWorkflow

IN_FLIGHT = 200
SERIAL = 30
ROUNDS = 3


class ProductSide:
    """Executions as the product runs them: a stored row, then `ExecutionWorkflow`."""

    def __init__(
        self,
        client: Client,
        sessions: async_sessionmaker[AsyncSession],
        task_queue: str,
        definition: dict[str, Any],
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._task_queue = task_queue
        self._definition = definition
        self._owner_id = str(uuid.uuid4())
        self._workflow_id = str(uuid.uuid4())
        self._rows: list[str] = []

    async def store_workflow(self) -> None:
        async with self._sessions() as db:
            db.add(
                User(
                    id=self._owner_id,
                    email=f"{self._owner_id}@example.com",
                    name="bench",
                    password_hash="-",
                )
            )
            await db.flush()
            db.add(Workflow(id=self._workflow_id, owner_id=self._owner_id, name="b"))
            await db.flush()
            db.add(
                WorkflowVersion(
                    workflow_id=self._workflow_id,
                    version=1,
                    definition=self._definition,
                )
            )
            await db.commit()

    async def prepare(self, count: int) -> None:
        """Store `count` pending execution rows outside the timing (the API bench
        times the insert)."""
        self._rows = await store_pending_executions(
            self._sessions, self._workflow_id, self._owner_id, count
        )

    async def run(self, index: int) -> None:
        execution_id = self._rows[index]
        params = execution_params(
            execution_id, self._workflow_id, self._owner_id, self._definition
        )
        await self._client.execute_workflow(
            ExecutionWorkflow.run,
            params,
            id=f"execution-{execution_id}",
            task_queue=self._task_queue,
        )


class HandWrittenSide:
    def __init__(self, client: Client, task_queue: str, urls: list[str]) -> None:
        self._client = client
        self._task_queue = task_queue
        self._urls = urls

    async def prepare(self, count: int) -> None:
        pass

    async def run(self, index: int) -> None:
        await self._client.execute_workflow(
            HandWrittenChainWorkflow.run,
            self._urls,
            id=f"hand-{uuid.uuid4()}",
            task_queue=self._task_queue,
        )


async def compare(
    report: Report, label: str, ours: Side, theirs: Side
) -> tuple[float, float]:
    """Alternate the two sides: throughput rounds, then serial runs one by one."""
    alternation = await alternate(
        {"ours": ours, "theirs": theirs}, ROUNDS, IN_FLIGHT, SERIAL
    )
    rates, failed, times = alternation.rates, alternation.failed, alternation.times

    for name in ("ours", "theirs"):
        report.figure(f"{label} {name}: throughput", median(rates[name]), "exec/s")
        runs = ROUNDS * IN_FLIGHT
        report.note(f"{label} {name}: failed under load", f"{failed[name]} of {runs}")
        report.figure(f"{label} {name}: p50", percentile(times[name], 0.5), "ms")
        report.figure(f"{label} {name}: p95", percentile(times[name], 0.95), "ms")
    rate_ratio = median(rates["ours"]) / median(rates["theirs"])
    p50_ratio = percentile(times["ours"], 0.5) / percentile(times["theirs"], 0.5)
    report.figure(f"{label} throughput ratio", rate_ratio, "")
    report.figure(f"{label} p50 ratio", p50_ratio, "")
    return rate_ratio, p50_ratio


async def main() -> Report:
    report = Report("bench.interpreter")
    report.note("machine", machine())
    with scratch_dir() as folder, temporal() as server, start_peer() as peer:
        database_url = await migrated_database(folder)
        settings = bench_settings(database_url, server.address)
        client = await Client.connect(
            server.address, data_converter=pydantic_data_converter
        )
        engine = create_engine(database_url)
        sessions = session_factory(engine)
        http = HttpActivities(settings.http_allow_hosts)
        try:
            await _run(report, client, settings, sessions, http, peer.url)
        finally:
            await http.aclose()
            await engine.dispose()
    return report


async def _run(
    report: Report,
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    http: HttpActivities,
    peer_url: str,
) -> None:
    product = build_worker(client, settings, http, RecordActivities(sessions))
    hand_queue = f"{settings.task_queue}-hand"
    # The baseline runs with the product worker's own options, so only the workflow
    # code differs between the two sides.
    hand = Worker(
        client,
        task_queue=hand_queue,
        workflows=[HandWrittenChainWorkflow],
        activities=[http.send_http_request],
        max_concurrent_workflow_tasks=settings.worker_workflow_task_slots,
        max_heartbeat_throttle_interval=timedelta(seconds=1),
        default_heartbeat_throttle_interval=timedelta(seconds=1),
    )
    async with product, hand:
        sides = {}
        for name, definition in (
            ("five", http_chain(peer_url, 5)),
            ("two", http_chain(peer_url, 2)),
            ("two_pure", http_chain(peer_url, 2, pure=18)),
        ):
            side = ProductSide(client, sessions, settings.task_queue, definition)
            await side.store_workflow()
            sides[name] = side
        urls = [f"{peer_url}/n{index}" for index in range(5)]
        baseline = HandWrittenSide(client, hand_queue, urls)

        rate, p50 = await compare(report, "5 http", sides["five"], baseline)
        report.target(f"5 http: throughput ratio {rate:.2f} >= 0.85", rate >= 0.85)
        report.target(f"5 http: p50 latency ratio {p50:.2f} <= 1.15", p50 <= 1.15)

        rate, p50 = await compare(
            report, "2 http + 18 pure vs 2 http", sides["two_pure"], sides["two"]
        )
        report.target(f"2+18 pure: throughput ratio {rate:.2f} >= 0.9", rate >= 0.9)


if __name__ == "__main__":
    run_benchmark(main)
