"""The API and the worker as real OS processes, as they run in production.

Each process gets its settings as environment variables and writes its logs to a file
that the test can read after the process is gone.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.settings import Settings
from embedded.temporal_server import free_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log_path: Path
    url: str  # the API's base URL, or the worker's metrics URL

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_lines(self) -> list[str]:
        return self.log_path.read_text().splitlines()

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait for the process to exit; returns its exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that gives a child process `settings` (plus `extra`)."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        ENVIRONMENT=settings.environment,
        DATABASE_URL=settings.database_url,
        TEMPORAL_ADDRESS=settings.temporal_address,
        TEMPORAL_NAMESPACE=settings.temporal_namespace,
        TASK_QUEUE=settings.task_queue,
        JWT_SECRET=settings.jwt_secret or "",
        HTTP_ALLOW_HOSTS=",".join(settings.http_allow_hosts),
        TEMPORAL_RPC_TIMEOUT_SECONDS=str(settings.temporal_rpc_timeout_seconds),
        RATE_LIMIT_PER_MINUTE=str(settings.rate_limit_per_minute),
        RATE_LIMIT_PER_HOUR=str(settings.rate_limit_per_hour),
        LOG_FORMAT="json",
    )
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    env.update(extra)
    return env


def start_worker(settings: Settings, log_dir: Path, **extra: str) -> Process:
    """`python worker.py` with Prometheus metrics on a free loopback port."""
    port = free_port()
    env = environment(
        settings,
        WORKER_METRICS_HOST="127.0.0.1",
        WORKER_METRICS_PORT=str(port),
        **extra,
    )
    process = _spawn([sys.executable, "worker.py"], env, log_dir, "worker")
    url = f"http://127.0.0.1:{port}/metrics"
    _wait_for(url, process)
    return process


def start_api(settings: Settings, log_dir: Path, **extra: str) -> Process:
    """The API under uvicorn, as the Dockerfile runs it, on a free loopback port."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_factory"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    process = _spawn(args, environment(settings, **extra), log_dir, "api")
    process.url = f"http://127.0.0.1:{port}"
    _wait_for(f"{process.url}/health", process)
    return process


def _spawn(
    args: list[str], env: Mapping[str, str], log_dir: Path, name: str
) -> Process:
    log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(
            args, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT
        )
    return Process(popen=popen, log_path=log_path, url="")


def _wait_for(url: str, process: Process, timeout: float = 30.0) -> None:
    process.url = process.url or url
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.popen.returncode}:\n"
                + process.log_path.read_text()
            )
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.popen.kill()
    raise TimeoutError(f"{url} did not answer in {timeout}s")


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample on the Prometheus endpoint of another process."""
    return parse_samples(httpx.get(url, timeout=5).text)


def parse_samples(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(
    samples: Samples,
    name: str,
    **labels: str,
) -> float:
    """The sum of `name` over every sample whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and wanted <= sample_labels
    )


def counting_workflow(peer_url: str, seconds: float = 0) -> dict[str, object]:
    """start -> http (counts one call for the execution at the peer) -> end."""
    url = f"{peer_url}/count/${{execution.id}}?seconds={seconds:g}"
    return {
        "nodes": [
            {"id": "start", "type": "start", "data": {}},
            {"id": "call", "type": "http", "data": {"url": url, "timeout_seconds": 60}},
            {"id": "end", "type": "end", "data": {"output": "${steps.call.output}"}},
        ],
        "edges": [
            {"source": "start", "target": "call"},
            {"source": "call", "target": "end"},
        ],
    }
