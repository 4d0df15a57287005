"""`python -m bench.embedded`: the dev server as `make run` starts it against the same
binary with its default settings.

`make run` keeps Temporal's state in a SQLite file with a WAL journal and raises the
transfer queue's poll rate; the default keeps the file in its default journal mode and
the default poll rate. Each runs a 3-`http`-node workflow through the API, with the API
and a worker in their own processes.
"""

from pathlib import Path

import httpx
from temporalio.client import Client

from bench.common import (
    Report,
    http_chain,
    latency,
    machine,
    migrated_database,
    percentile,
    run_benchmark,
    scratch_dir,
    temporal,
    throughput,
)
from bench.common import http_peer as start_peer
from bench.service import create_workflow, deployed, execute, user_headers

IN_FLIGHT = 100
SERIAL = 20


async def measure(folder: Path, fast: bool, peer_url: str) -> tuple[float, float, int]:
    """Executions per second, serial p50 in ms, and failures, on one dev server."""
    name = "fast" if fast else "default"
    database_url = await migrated_database(folder / name)
    with (
        temporal(fast=fast, db_file=folder / name / "temporal.db") as server,
        deployed(database_url, server.address) as service,
    ):
        client = await Client.connect(server.address)
        async with httpx.AsyncClient(base_url=service.api_url, timeout=120) as http:
            headers = await user_headers(http)
            workflow_id = await create_workflow(http, headers, http_chain(peer_url, 3))

            async def run_one(index: int) -> None:
                started = await execute(http, headers, workflow_id)
                await client.get_workflow_handle(started.temporal_id).result()

            await run_one(0)  # warm up connections and caches
            rate = await throughput(run_one, IN_FLIGHT)
            times = [await latency(run_one, index) for index in range(SERIAL)]
    return rate.per_second, percentile(times, 0.5), rate.failed


async def main() -> Report:
    report = Report("bench.embedded")
    report.note("machine", machine())
    with scratch_dir() as folder, start_peer() as peer:
        default = await measure(folder, fast=False, peer_url=peer.url)
        fast = await measure(folder, fast=True, peer_url=peer.url)
    for label, (rate, p50, failed) in (("default", default), ("make run", fast)):
        report.figure(f"{label}: throughput ({IN_FLIGHT} in flight)", rate, "exec/s")
        report.figure(f"{label}: serial p50", p50, "ms")
        report.note(f"{label}: failed", f"{failed} of {IN_FLIGHT}")
    rate_ratio = fast[0] / default[0]
    p50_ratio = fast[1] / default[1]
    report.figure("throughput ratio make run/default", rate_ratio, "")
    report.figure("p50 ratio make run/default", p50_ratio, "")
    report.target(f"throughput ratio {rate_ratio:.2f} >= 2", rate_ratio >= 2)
    report.target(f"p50 ratio {p50_ratio:.2f} <= 0.5", p50_ratio <= 0.5)
    return report


if __name__ == "__main__":
    run_benchmark(main)
