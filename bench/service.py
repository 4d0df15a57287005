"""The service as it is deployed: `python worker.py` and uvicorn, each its own process,
configured through the environment, with the benchmark as their only client."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench.common import BENCH_SECRET
from embedded.temporal_server import free_port


@dataclass
class Deployed:
    api_url: str
    task_queue: str
    worker: subprocess.Popen[bytes]
    api: subprocess.Popen[bytes] | None


def service_env(database_url: str, temporal_address: str, task_queue: str) -> dict:
    return {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "TASK_QUEUE": task_queue,
        "JWT_SECRET": BENCH_SECRET,
        "HTTP_ALLOW_HOSTS": "127.0.0.1",
        # The benchmarks are one user sending thousands of requests.
        "RATE_LIMIT_PER_MINUTE": "0",
        "RATE_LIMIT_PER_HOUR": "0",
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def deployed(
    database_url: str, temporal_address: str, with_api: bool = True
) -> Iterator[Deployed]:
    """A worker process and (unless `with_api` is false) an API process."""
    task_queue = f"bench-{uuid.uuid4()}"
    env = service_env(database_url, temporal_address, task_queue)
    worker = subprocess.Popen([sys.executable, "worker.py"], env=env)
    api = None
    port = free_port()
    if with_api:
        args = ["-m", "uvicorn", "--factory", "api.app:app_factory"]
        args += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
        api = subprocess.Popen([sys.executable, *args], env=env)
    try:
        service = Deployed(f"http://127.0.0.1:{port}", task_queue, worker, api)
        if api is not None:
            _wait_for_health(service.api_url, api)
        yield service
    finally:
        for process in (api, worker):
            if process is not None:
                process.terminate()
        for process in (api, worker):
            if process is not None:
                process.wait(timeout=60)


def _wait_for_health(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the API did not answer /health in 30s")


async def user_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """Register and log in a fresh user; the bearer header of its access token."""
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    password = "bench-pass-42"
    credentials = {"email": email, "password": password}
    response = await client.post(
        "/api/auth/register", json={**credentials, "name": "Bench"}
    )
    response.raise_for_status()
    response = await client.post("/api/auth/login", json=credentials)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


async def create_workflow(
    client: httpx.AsyncClient, headers: dict[str, str], definition: dict[str, Any]
) -> str:
    response = await client.post(
        "/api/workflows",
        json={"name": "bench", "definition": definition},
        headers=headers,
    )
    response.raise_for_status()
    workflow_id: str = response.json()["data"]["id"]
    return workflow_id


@dataclass(frozen=True)
class Started:
    """An execution the API started: its id and its Temporal workflow id."""

    id: str
    temporal_id: str


async def execute(
    client: httpx.AsyncClient, headers: dict[str, str], workflow_id: str
) -> Started:
    response = await client.post(
        f"/api/workflows/{workflow_id}/execute", json={"input": {}}, headers=headers
    )
    response.raise_for_status()
    data = response.json()["data"]
    return Started(data["id"], data["temporal_workflow_id"])
