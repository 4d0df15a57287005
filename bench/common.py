"""What every benchmark shares: the servers it starts, the database, the statistics and
the report it prints last."""

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db.migrate import upgrade
from api.db.models import Execution
from api.settings import Settings
from embedded.temporal_server import DevServer, start_dev_server
from workflows_runtime.models import ExecutionParams

BENCH_SECRET = "bench-secret-" + "x" * 40


@dataclass
class Peer:
    process: subprocess.Popen[bytes]
    url: str


@contextmanager
def http_peer() -> Iterator[Peer]:
    """The fast loopback peer of `bench.peer`, in its own process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.peer"], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    try:
        yield Peer(process, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait()


@contextmanager
def temporal(fast: bool = True, db_file: Path | None = None) -> Iterator[DevServer]:
    """A dev server as `make run` starts it (`fast`), or with its default settings."""
    server = start_dev_server(fast=fast, db_file=db_file)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-") as path:
        yield Path(path)


async def migrated_database(folder: Path) -> str:
    url = f"sqlite+aiosqlite:///{folder / 'auterity.db'}"
    # The migrations run their own event loop, so they get a thread of their own.
    await asyncio.to_thread(upgrade, url)
    return url


def bench_settings(database_url: str, temporal_address: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        temporal_address=temporal_address,
        task_queue=f"bench-{uuid.uuid4()}",
        jwt_secret=BENCH_SECRET,
        http_allow_hosts=["127.0.0.1"],
    )


def http_chain(url: str, calls: int, pure: int = 0) -> dict[str, Any]:
    """start -> `calls` http nodes -> `pure` transform/condition/switch nodes -> end."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start", "data": {}}]
    for index in range(calls):
        data = {"url": f"{url}/n{index}"}
        nodes.append({"id": f"call{index}", "type": "http", "data": data})
    for index in range(pure):
        nodes.append(_pure_node(index))
    nodes.append({"id": "end", "type": "end", "data": {"output": {"done": True}}})
    edges = [
        {"source": source["id"], "target": target["id"]} | _passing_branch(source)
        for source, target in zip(nodes, nodes[1:], strict=False)
    ]
    return {"nodes": nodes, "edges": edges}


def _pure_node(index: int) -> dict[str, Any]:
    kind = ("transform", "condition", "switch")[index % 3]
    if kind == "condition":
        data: dict[str, Any] = {"expression": "steps.call0.output.body.ok"}
    elif kind == "switch":
        data = {"expression": "steps.call0.output.status"}
    else:
        data = {"output": {"ok": "${steps.call0.output.body.ok}", "n": index}}
    return {"id": f"{kind}{index}", "type": kind, "data": data}


def _passing_branch(source: dict[str, Any]) -> dict[str, str]:
    # A condition passes on its "true" edge, a switch on the peer's status, 200.
    return {"condition": {"branch": "true"}, "switch": {"branch": "200"}}.get(
        source["type"], {}
    )


@dataclass
class Rate:
    per_second: float
    failed: int


async def throughput(run_one: Callable[[int], Awaitable[Any]], count: int) -> Rate:
    """Finished runs per second with `count` runs in flight at once.

    A failed run counts against the rate and is reported, so that a service which fails
    under load never looks faster for it.
    """
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(run_one(index) for index in range(count)), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    failed = sum(isinstance(outcome, BaseException) for outcome in outcomes)
    return Rate((count - failed) / elapsed, failed)


class Side(Protocol):
    """One side of a comparison: rows stored outside the timing, then timed runs."""

    async def prepare(self, count: int) -> None: ...

    async def run(self, index: int) -> None: ...


@dataclass
class Alternation:
    """Per side: throughput of each round, runs failed under load, serial latencies."""

    rates: dict[str, list[float]]
    failed: dict[str, int]
    times: dict[str, list[float]]


async def alternate(
    sides: dict[str, Side], rounds: int, in_flight: int, serial: int
) -> Alternation:
    """Run the sides in turn, so load and warm-up fall on each alike.

    Throughput rounds alternate which side goes first; the serial runs interleave one
    run of each side.
    """
    names = list(sides)
    result = Alternation(
        rates={name: [] for name in names},
        failed=dict.fromkeys(names, 0),
        times={name: [] for name in names},
    )
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            await sides[name].prepare(in_flight)
            rate = await throughput(sides[name].run, in_flight)
            result.rates[name].append(rate.per_second)
            result.failed[name] += rate.failed
    for side in sides.values():
        await side.prepare(serial)
    for index in range(serial):
        for name in names:
            result.times[name].append(await latency(sides[name].run, index))
    return result


async def latency(run_one: Callable[[int], Awaitable[Any]], index: int) -> float:
    """Milliseconds one run takes."""
    started = time.perf_counter()
    await run_one(index)
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: list[float]) -> float:
    return statistics.median(values)


def run_benchmark(main: Callable[[], Awaitable["Report"]]) -> None:
    """Run `main` and print its report; SIGTERM unwinds like Ctrl-C, so the servers
    the benchmark started are stopped either way."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    asyncio.run(main()).print()


@dataclass
class Report:
    """Figures and targets, printed last so the tail of the output is the result."""

    title: str
    figures: list[tuple[str, str]] = field(default_factory=list)
    targets: list[tuple[str, bool]] = field(default_factory=list)

    def figure(self, name: str, value: float, unit: str) -> None:
        self.figures.append((name, f"{value:,.1f} {unit}"))

    def note(self, name: str, text: str) -> None:
        self.figures.append((name, text))

    def target(self, text: str, met: bool) -> None:
        self.targets.append((text, met))

    def print(self) -> None:
        width = max(len(name) for name, _ in self.figures)
        print(f"\n== {self.title} ==")
        for name, value in self.figures:
            print(f"  {name:<{width}}  {value}")
        for text, met in self.targets:
            print(f"  {'PASS' if met else 'MISS'}  {text}")


def machine() -> str:
    """The cores and CPU model, for the README's record of where figures came from."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {model}"


async def store_pending_executions(
    sessions: async_sessionmaker[AsyncSession],
    workflow_id: str,
    owner_id: str,
    count: int,
) -> list[str]:
    """Insert `count` pending execution rows, as execute would, and return their ids.

    Done outside the timing by the sides that start workflows directly, so the
    execution they run is the product's but the insert is not counted twice.
    """
    ids = [str(uuid.uuid4()) for _ in range(count)]
    async with sessions() as db:
        db.add_all(
            Execution(
                id=execution_id,
                workflow_id=workflow_id,
                workflow_version=1,
                owner_id=owner_id,
                temporal_workflow_id=f"execution-{execution_id}",
                status="pending",
                input={},
            )
            for execution_id in ids
        )
        await db.commit()
    return ids


def execution_params(
    execution_id: str, workflow_id: str, owner_id: str, definition: dict[str, Any]
) -> ExecutionParams:
    """What the API would start `ExecutionWorkflow` with for a stored row."""
    return ExecutionParams(
        execution_id=execution_id,
        workflow_id=workflow_id,
        workflow_version=1,
        owner_id=owner_id,
        definition=definition,
        input={},
        started_at=datetime.now(UTC),
    )
