import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from embedded.temporal_server import DevServer, free_port
from tests.service import TEST_SECRET, Service, make_settings, running_service

REDIS_URL = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")


@asynccontextmanager
async def limited_service(
    database_url: str,
    temporal_server: DevServer,
    temporal_client: Client,
    **limits: Any,
) -> AsyncIterator[Service]:
    # In memory even when the environment names a Redis: counters start at zero.
    settings = make_settings(
        database_url, temporal_server.address, redis_url=None, **limits
    )
    async with running_service(settings, temporal_client, with_worker=False) as api:
        yield api


async def test_a_user_over_budget_gets_429_in_the_envelope(
    database_url: str, temporal_server: DevServer, temporal_client: Client
) -> None:
    async with limited_service(
        database_url, temporal_server, temporal_client, rate_limit_per_minute=5
    ) as api:
        headers = await api.register_and_login()
        other = await api.register_and_login()
        answers = [
            await api.client.get("/api/auth/me", headers=headers) for _ in range(6)
        ]

        assert [a.status_code for a in answers] == [200] * 5 + [429]
        assert answers[0].headers["X-RateLimit-Limit"] == "5"
        assert answers[0].headers["X-RateLimit-Remaining"] == "4"
        limited = answers[-1]
        assert limited.json()["success"] is False
        assert limited.json()["error"]["code"] == "RATE_LIMITED"
        assert 0 < int(limited.headers["Retry-After"]) <= 60
        assert int(limited.headers["X-RateLimit-Reset"]) >= int(time.time())
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert limited.headers["X-Request-ID"]
        # The budget is the user's: another user is still served.
        assert (await api.client.get("/api/auth/me", headers=other)).status_code == 200


async def test_the_tighter_of_both_budgets_applies(
    database_url: str, temporal_server: DevServer, temporal_client: Client
) -> None:
    async with limited_service(
        database_url,
        temporal_server,
        temporal_client,
        rate_limit_per_minute=50,
        rate_limit_per_hour=3,
    ) as api:
        headers = await api.register_and_login()
        codes = [
            (await api.client.get("/api/auth/me", headers=headers)).status_code
            for _ in range(4)
        ]
        limited = await api.client.get("/api/auth/me", headers=headers)

    assert codes == [200, 200, 200, 429]
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert "hour" in limited.json()["error"]["message"]


async def test_requests_without_a_token_count_against_the_client_address(
    database_url: str, temporal_server: DevServer, temporal_client: Client
) -> None:
    async with limited_service(
        database_url, temporal_server, temporal_client, rate_limit_per_minute=3
    ) as api:
        login = {"email": "nobody@example.com", "password": "wrong-42"}
        codes = [
            (await api.client.post("/api/auth/login", json=login)).status_code
            for _ in range(4)
        ]
        health = await api.client.get("/health")

    assert codes == [401, 401, 401, 429]
    # Only /api/ is limited: probes keep working.
    assert health.status_code == 200


@contextmanager
def api_process(env: dict[str, str]) -> Iterator[str]:
    """The API as its own uvicorn process on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "api.app:app_factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, **env},
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def wait_until_up(base_url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url) as client:
        while True:
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{base_url} did not come up")
            await asyncio.sleep(0.1)


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL or REDIS_URL")
async def test_two_api_processes_sharing_redis_allow_one_budget_together(
    database_url: str,
) -> None:
    assert REDIS_URL is not None
    env = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_SECRET,
        "REDIS_URL": REDIS_URL,
        # A prefix of its own, so no other run's counters share these keys.
        "RATE_LIMIT_KEY_PREFIX": f"test-{uuid.uuid4()}",
        "RATE_LIMIT_PER_MINUTE": "10",
        "RATE_LIMIT_PER_HOUR": "0",
    }
    with api_process(env) as first_url, api_process(env) as second_url:
        await wait_until_up(first_url)
        await wait_until_up(second_url)
        async with (
            httpx.AsyncClient(base_url=first_url) as first,
            httpx.AsyncClient(base_url=second_url) as second,
        ):
            headers = await Service(None, first, None).register_and_login()  # type: ignore[arg-type]
            answers = [
                await client.get("/api/auth/me", headers=headers)
                for _ in range(10)
                for client in (first, second)
            ]

    served = [a for a in answers if a.status_code == 200]
    assert len(served) == 10
    assert {a.status_code for a in answers} == {200, 429}
    assert {a.url.port for a in served} == {
        int(first_url.rsplit(":", 1)[1]),
        int(second_url.rsplit(":", 1)[1]),
    }
