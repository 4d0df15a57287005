"""`python -m bench.memory`: a worker's resident memory with 1,000 executions waiting.

A real `python worker.py` process and the API in its own process; 1,000 executions of
start -> `approval` -> end are started and left waiting, then all approved. The worker's
VmRSS (from /proc) is read idle, while they wait, and after they have all finished.
"""

import asyncio
import time
from pathlib import Path

import httpx
from temporalio.client import Client

from bench.common import (
    Report,
    machine,
    migrated_database,
    run_benchmark,
    scratch_dir,
    temporal,
)
from bench.service import create_workflow, deployed, execute, user_headers

WAITING = 1000
CONCURRENCY = 50
TARGET_MB = 200.0
# Python rarely hands freed memory back to the system, so "no growth" allows noise.
GROWTH_TOLERANCE_MB = 10.0

DEFINITION = {
    "nodes": [
        {"id": "start", "type": "start", "data": {}},
        {"id": "manager", "type": "approval", "data": {"message": "ship it?"}},
        {"id": "end", "type": "end", "data": {"output": "${steps.manager.output}"}},
    ],
    "edges": [
        {"source": "start", "target": "manager"},
        {"source": "manager", "target": "end", "branch": "approved"},
    ],
}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def settled_rss_mb(pid: int, seconds: float = 3.0) -> float:
    """RSS once it has stopped moving by more than 1 MB for `seconds`."""
    last = rss_mb(pid)
    steady_since = time.monotonic()
    while time.monotonic() - steady_since < seconds:
        await asyncio.sleep(0.5)
        now = rss_mb(pid)
        if abs(now - last) > 1:
            steady_since = time.monotonic()
        last = now
    return last


async def bounded(count: int, action) -> list:  # noqa: ANN001
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int):  # noqa: ANN202
        async with semaphore:
            return await action(index)

    return await asyncio.gather(*(one(index) for index in range(count)))


async def main() -> Report:
    report = Report("bench.memory")
    report.note("machine", machine())
    with scratch_dir() as folder, temporal() as server:
        database_url = await migrated_database(folder)
        with deployed(database_url, server.address) as service:
            client = await Client.connect(server.address)
            async with httpx.AsyncClient(base_url=service.api_url, timeout=60) as http:
                await _run(report, client, http, service.worker.pid)
    return report


async def _run(
    report: Report, client: Client, http: httpx.AsyncClient, worker_pid: int
) -> None:
    headers = await user_headers(http)
    workflow_id = await create_workflow(http, headers, DEFINITION)
    # One execution end to end first, so "idle" includes the loaded code.
    first = await execute(http, headers, workflow_id)
    await _approve_when_waiting(http, headers, first.id)
    await client.get_workflow_handle(first.temporal_id).result()
    idle = await settled_rss_mb(worker_pid)

    started = time.perf_counter()
    executions = await bounded(WAITING, lambda _: execute(http, headers, workflow_id))
    for execution in executions:
        await _wait_until_waiting(http, headers, execution.id)
    start_seconds = time.perf_counter() - started
    waiting = await settled_rss_mb(worker_pid)

    started = time.perf_counter()
    await bounded(
        WAITING, lambda i: _approve_when_waiting(http, headers, executions[i].id)
    )
    for execution in executions:
        await client.get_workflow_handle(execution.temporal_id).result()
    finish_seconds = time.perf_counter() - started
    finished = await settled_rss_mb(worker_pid)

    report.figure("worker RSS idle", idle, "MB")
    report.figure(f"worker RSS with {WAITING} waiting", waiting, "MB")
    report.figure("worker RSS after all finished", finished, "MB")
    report.figure(f"time to start {WAITING} and see them waiting", start_seconds, "s")
    report.figure(f"time to approve {WAITING} and see them end", finish_seconds, "s")
    extra = waiting - idle
    growth = finished - waiting
    report.figure(f"{WAITING} waiting minus idle", extra, "MB")
    report.figure("growth after they finished", growth, "MB")
    report.target(f"waiting minus idle {extra:.1f} MB <= {TARGET_MB:g}", extra <= 200)
    report.target(
        f"growth after finishing {growth:.1f} MB <= {GROWTH_TOLERANCE_MB:g}",
        growth <= GROWTH_TOLERANCE_MB,
    )


async def _wait_until_waiting(
    http: httpx.AsyncClient, headers: dict[str, str], execution_id: str
) -> None:
    deadline = time.monotonic() + 120
    while True:
        response = await http.get(f"/api/executions/{execution_id}", headers=headers)
        nodes = response.json()["data"]["nodes"]
        if nodes.get("manager", {}).get("status") == "waiting":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_id} never waited: {nodes}")
        await asyncio.sleep(0.1)


async def _approve_when_waiting(
    http: httpx.AsyncClient, headers: dict[str, str], execution_id: str
) -> None:
    await _wait_until_waiting(http, headers, execution_id)
    response = await http.post(
        f"/api/executions/{execution_id}/approve",
        json={"node_id": "manager", "approved": True},
        headers=headers,
    )
    response.raise_for_status()


if __name__ == "__main__":
    run_benchmark(main)
