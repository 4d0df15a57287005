"""`python -m bench.api`: what the HTTP API costs over Temporal.

Against one dev server started as `make run` starts it, with the API and a worker each
in their own process:
- `POST /api/workflows/{id}/execute` (row insert, then `start_workflow`) against
  `client.start_workflow` called directly with the same arguments: throughput with
  `IN_FLIGHT` requests at once, and serial latency;
- `GET /api/executions/{id}` of finished executions under 50 concurrent clients.
"""

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.db.session import create_engine, session_factory
from bench.common import (
    Report,
    alternate,
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
from bench.service import Started, create_workflow, deployed, execute, user_headers

IN_FLIGHT = 100
SERIAL = 50
ROUNDS = 3
READERS = 50
READ_SECONDS = 10.0


class DirectStart:
    """`start_workflow` as the execute route calls it, its row stored beforehand."""

    def __init__(
        self,
        client: Client,
        sessions: async_sessionmaker[AsyncSession],
        task_queue: str,
        workflow: dict[str, Any],
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._task_queue = task_queue
        self._workflow = workflow
        self._rows: list[str] = []

    async def prepare(self, count: int) -> None:
        workflow = self._workflow
        self._rows = await store_pending_executions(
            self._sessions, workflow["id"], workflow["owner_id"], count
        )

    async def run(self, index: int) -> None:
        execution_id = self._rows[index]
        workflow = self._workflow
        params = execution_params(
            execution_id, workflow["id"], workflow["owner_id"], workflow["definition"]
        )
        await self._client.start_workflow(
            "ExecutionWorkflow",
            params,
            id=f"execution-{execution_id}",
            task_queue=self._task_queue,
            memo={"execution_id": execution_id},
        )


class ApiExecute:
    def __init__(
        self, http: httpx.AsyncClient, headers: dict[str, str], workflow_id: str
    ) -> None:
        self._http = http
        self._headers = headers
        self._workflow_id = workflow_id
        self.started: list[Started] = []

    async def prepare(self, count: int) -> None:
        pass

    async def run(self, index: int) -> None:
        self.started.append(await execute(self._http, self._headers, self._workflow_id))


async def main() -> Report:
    report = Report("bench.api")
    report.note("machine", machine())
    with scratch_dir() as folder, temporal() as server:
        database_url = await migrated_database(folder)
        with deployed(database_url, server.address) as service:
            client = await Client.connect(
                server.address, data_converter=pydantic_data_converter
            )
            engine = create_engine(database_url)
            limits = httpx.Limits(max_connections=IN_FLIGHT + READERS)
            async with httpx.AsyncClient(
                base_url=service.api_url, timeout=60, limits=limits
            ) as http:
                try:
                    await _run(report, client, session_factory(engine), http, service)
                finally:
                    await engine.dispose()
    return report


async def _run(
    report: Report,
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    service: Any,
) -> None:
    headers = await user_headers(http)
    # start -> end: the workflows finish at once, so the starts are what is measured.
    definition = http_chain("http://127.0.0.1:9", 0)
    workflow_id = await create_workflow(http, headers, definition)
    me = (await http.get("/api/auth/me", headers=headers)).json()["data"]
    workflow = {"id": workflow_id, "owner_id": me["id"], "definition": definition}
    ours = ApiExecute(http, headers, workflow_id)
    direct = DirectStart(client, sessions, service.task_queue, workflow)

    alternation = await alternate(
        {"api": ours, "direct": direct}, ROUNDS, IN_FLIGHT, SERIAL
    )
    rates, failed, times = alternation.rates, alternation.failed, alternation.times

    finished = await _wait_finished(client, ours.started[:200])
    reads = await _read_load(http, headers, finished)

    for name, label in (("api", "POST execute"), ("direct", "start_workflow")):
        report.figure(f"{label}: throughput", median(rates[name]), "starts/s")
        report.note(f"{label}: failed", f"{failed[name]} of {ROUNDS * IN_FLIGHT}")
        report.figure(f"{label}: p50", percentile(times[name], 0.5), "ms")
        report.figure(f"{label}: p95", percentile(times[name], 0.95), "ms")
    rate_ratio = median(rates["api"]) / median(rates["direct"])
    p50_ratio = percentile(times["direct"], 0.5) / percentile(times["api"], 0.5)
    report.figure("execute throughput ratio api/direct", rate_ratio, "")
    report.figure("execute p50 ratio direct/api", p50_ratio, "")
    count, seconds, read_times, errors = reads
    report.figure(f"GET execution, {READERS} clients", count / seconds, "req/s")
    report.figure("GET execution p50", percentile(read_times, 0.5), "ms")
    report.figure("GET execution p99", percentile(read_times, 0.99), "ms")
    report.note("GET execution errors", f"{errors} of {count}")
    report.target(
        f"execute throughput ratio {rate_ratio:.2f} >= 0.8", rate_ratio >= 0.8
    )
    report.target(
        f"execute latency ratio direct/api {p50_ratio:.2f} >= 0.8", p50_ratio >= 0.8
    )


async def _wait_finished(client: Client, executions: list[Started]) -> list[str]:
    """The ids of the executions, once each has ended (they end in milliseconds)."""
    for execution in executions:
        await client.get_workflow_handle(execution.temporal_id).result()
    return [execution.id for execution in executions]


async def _read_load(
    http: httpx.AsyncClient, headers: dict[str, str], execution_ids: list[str]
) -> tuple[int, float, list[float], int]:
    times: list[float] = []
    errors = 0
    deadline = time.perf_counter() + READ_SECONDS

    async def reader(offset: int) -> None:
        nonlocal errors
        index = offset
        while time.perf_counter() < deadline:
            execution_id = execution_ids[index % len(execution_ids)]
            started = time.perf_counter()
            response = await http.get(
                f"/api/executions/{execution_id}", headers=headers
            )
            times.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200
            index += READERS

    started = time.perf_counter()
    await asyncio.gather(*(reader(offset) for offset in range(READERS)))
    return len(times), time.perf_counter() - started, times, errors


if __name__ == "__main__":
    run_benchmark(main)
