import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.http import HttpActivities
from tests.http_peer import HttpPeer
from workflows_runtime.models import HttpRequest


def _never_sends(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"a refused request reached the transport: {request.url}")


NEVER_SENDS = httpx.MockTransport(_never_sends)


@pytest.fixture
async def http() -> AsyncIterator[HttpActivities]:
    activities = HttpActivities(["127.0.0.1"])
    yield activities
    await activities.aclose()


async def send(http: HttpActivities, **request: object) -> object:
    return await ActivityEnvironment().run(
        http.send_http_request, HttpRequest.model_validate(request)
    )


async def refusal(http: HttpActivities, url: str) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        await send(http, url=url, timeout_seconds=2)
    return raised.value


async def test_a_json_response_is_parsed(http: HttpActivities, peer: HttpPeer) -> None:
    response = await send(http, url=f"{peer.url}/json?a=1", query={"b": 2})
    assert response.status == 200  # type: ignore[attr-defined]
    assert response.body == {"a": "1", "b": "2"}  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/json"  # type: ignore[attr-defined]


async def test_a_json_body_and_headers_are_sent(
    http: HttpActivities, peer: HttpPeer
) -> None:
    response = await send(
        http,
        method="POST",
        url=f"{peer.url}/echo",
        headers={"X-Id": "7"},
        body={"k": [1]},
    )
    echoed = response.body  # type: ignore[attr-defined]
    assert (echoed["method"], echoed["body"]) == ("POST", {"k": [1]})
    assert echoed["headers"]["x-id"] == "7"


async def test_a_text_response_stays_text(http: HttpActivities, peer: HttpPeer) -> None:
    response = await send(http, url=f"{peer.url}/text")
    assert response.body == "plain text"  # type: ignore[attr-defined]


async def test_a_client_error_is_not_retryable(
    http: HttpActivities, peer: HttpPeer
) -> None:
    with pytest.raises(ApplicationError) as raised:
        await send(http, url=f"{peer.url}/status/404")
    assert raised.value.type == "HttpStatusError"
    assert raised.value.non_retryable
    assert raised.value.details[0] == {"status": 404, "body": {"status": 404}}


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_and_server_errors_are_retryable(
    http: HttpActivities, peer: HttpPeer, status: int
) -> None:
    with pytest.raises(ApplicationError) as raised:
        await send(http, url=f"{peer.url}/status/{status}")
    assert (raised.value.type, raised.value.non_retryable) == ("HttpStatusError", False)


async def test_expect_status_accepts_listed_codes(
    http: HttpActivities, peer: HttpPeer
) -> None:
    response = await send(http, url=f"{peer.url}/status/404", expect_status=[404])
    assert response.status == 404  # type: ignore[attr-defined]
    with pytest.raises(ApplicationError, match="HTTP 200"):
        await send(http, url=f"{peer.url}/json", expect_status=[201])


async def test_a_slow_peer_times_out(http: HttpActivities, peer: HttpPeer) -> None:
    with pytest.raises(ApplicationError) as raised:
        await send(http, url=f"{peer.url}/slow?seconds=3", timeout_seconds=0.3)
    assert (raised.value.type, raised.value.non_retryable) == ("HttpTimeout", False)


async def test_a_closed_port_is_a_connect_error(http: HttpActivities) -> None:
    with pytest.raises(ApplicationError) as raised:
        await send(http, url="http://127.0.0.1:1/")
    assert raised.value.type == "HttpConnectError"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1:8080/",
        "http://[::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://localhost/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_non_public_hosts_are_refused_before_connecting(url: str) -> None:
    strict = HttpActivities([], client=httpx.AsyncClient(transport=NEVER_SENDS))
    try:
        error = await refusal(strict, url)
    finally:
        await strict.aclose()
    assert (error.type, error.non_retryable) == ("HttpHostNotAllowed", True)


async def test_only_http_and_https_are_allowed(http: HttpActivities) -> None:
    error = await refusal(http, "ftp://example.com/file")
    assert error.type == "HttpHostNotAllowed"
    assert "scheme" in error.message


async def test_loopback_is_refused_unless_allow_listed(peer: HttpPeer) -> None:
    strict = HttpActivities([])
    try:
        error = await refusal(strict, f"{peer.url}/json")
        assert error.type == "HttpHostNotAllowed"
    finally:
        await strict.aclose()
    port = peer.url.rsplit(":", 1)[1]
    by_port = HttpActivities([f"127.0.0.1:{port}"])
    try:
        assert (await send(by_port, url=f"{peer.url}/json")).status == 200  # type: ignore[attr-defined]
    finally:
        await by_port.aclose()


async def test_a_response_over_256_kb_is_refused(
    http: HttpActivities, peer: HttpPeer
) -> None:
    big = "x" * 300_000
    with pytest.raises(ApplicationError) as raised:
        await send(http, method="POST", url=f"{peer.url}/echo", body=big)
    assert (raised.value.type, raised.value.non_retryable) == ("OutputTooLarge", True)


async def test_cancel_aborts_a_request_in_flight(
    http: HttpActivities, peer: HttpPeer
) -> None:
    env = ActivityEnvironment()
    heartbeats: list[object] = []
    env.on_heartbeat = lambda *details: heartbeats.append(details)
    request = HttpRequest(url=f"{peer.url}/slow?seconds=10")
    task = asyncio.create_task(env.run(http.send_http_request, request))
    deadline = time.monotonic() + 5
    while not heartbeats and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert heartbeats, "the activity never heartbeated"

    started = time.monotonic()
    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2


@pytest.fixture
def peer(http_peer: HttpPeer) -> HttpPeer:
    return http_peer
