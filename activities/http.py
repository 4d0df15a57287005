"""The `send_http_request` activity: the only way a workflow reaches the network.

Requests to loopback, private, link-local and cloud-metadata addresses are refused
unless the host is allow-listed, so a user's workflow cannot probe the machines around
the worker.
"""

import asyncio
import ipaddress
import json
import socket
from collections.abc import Iterable
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows_runtime.limits import MAX_OUTPUT_BYTES, kilobytes
from workflows_runtime.models import (
    SEND_HTTP_REQUEST_ACTIVITY,
    HttpRequest,
    HttpResponse,
)

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog"})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254")
)
MAX_REDIRECTS = 5
HEARTBEAT_SECONDS = 1.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HttpActivities:
    """HTTP activities sharing one connection pool; the worker builds and closes it."""

    def __init__(
        self, allow_hosts: Iterable[str] = (), client: httpx.AsyncClient | None = None
    ) -> None:
        self._allow_hosts = frozenset(host.strip().lower() for host in allow_hosts)
        # Redirects are followed by hand so that every hop passes the host check.
        self._client = client or httpx.AsyncClient(follow_redirects=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    @activity.defn(name=SEND_HTTP_REQUEST_ACTIVITY)
    async def send_http_request(self, request: HttpRequest) -> HttpResponse:
        """Send one request; a status outside 2xx or `expect_status` is an error."""
        heartbeat = asyncio.create_task(_heartbeat_forever())
        try:
            async with asyncio.timeout(request.timeout_seconds):
                return await self._send(request)
        except TimeoutError:
            raise _timeout(request) from None
        except httpx.TimeoutException:
            raise _timeout(request) from None
        except httpx.TransportError as error:
            message = f"{request.method} {request.url} failed to connect: {error!r}"
            raise ApplicationError(message, type="HttpConnectError") from None
        finally:
            heartbeat.cancel()

    async def _send(self, request: HttpRequest) -> HttpResponse:
        # Merged, not replaced: a query written into the URL is kept.
        url = httpx.URL(request.url).copy_merge_params(_query_params(request.query))
        outgoing = self._client.build_request(
            request.method,
            url,
            headers=request.headers,
            timeout=request.timeout_seconds,
            **_body_arguments(request.body),
        )
        for _ in range(MAX_REDIRECTS + 1):
            await self._check_host(outgoing.url)
            response = await self._client.send(outgoing, stream=True)
            try:
                if response.next_request is None:
                    return await _read_response(request, response)
                outgoing = response.next_request
            finally:
                await response.aclose()
        raise ApplicationError(
            f"{request.url} redirected more than {MAX_REDIRECTS} times",
            type="HttpTooManyRedirects",
            non_retryable=True,
        )

    async def _check_host(self, url: httpx.URL) -> None:
        if url.scheme not in ("http", "https"):
            raise _refused(url, f"scheme {url.scheme!r} is not http or https")
        host = url.host.lower()
        port = url.port or (443 if url.scheme == "https" else 80)
        if host in self._allow_hosts or f"{host}:{port}" in self._allow_hosts:
            return
        if not host or host.rstrip(".") in METADATA_HOSTS:
            raise _refused(url, "the host is a cloud metadata service")
        for address in await _resolve(host, port):
            if _is_forbidden(address) and str(address) not in self._allow_hosts:
                raise _refused(url, f"{host} resolves to non-public address {address}")


# TODO: the host is resolved again when httpx connects, so a DNS answer that changes
# between the two lookups (DNS rebinding) can slip past the check; closing that needs a
# transport that connects to the address checked here while keeping TLS on the name.
async def _resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        message = f"could not resolve {host}: {error.strerror}"
        raise ApplicationError(message, type="HttpConnectError") from None
    # A link-local IPv6 address may carry a scope ("fe80::1%eth0"), no part of it.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _is_forbidden(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address in METADATA_ADDRESSES
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or not address.is_global
    )


async def _read_response(
    request: HttpRequest, response: httpx.Response
) -> HttpResponse:
    content = await _read_capped(response)
    body = _decode_body(response, content)
    if not _status_accepted(request, response.status_code):
        status = response.status_code
        raise ApplicationError(
            f"{request.method} {request.url} answered HTTP {status}",
            {"status": status, "body": body},
            type="HttpStatusError",
            # A client error repeats on retry; 429 and 5xx may not.
            non_retryable=400 <= status < 500 and status != 429,
        )
    return HttpResponse(
        status=response.status_code, headers=dict(response.headers), body=body
    )


async def _read_capped(response: httpx.Response) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_OUTPUT_BYTES:
        raise _too_large(int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_OUTPUT_BYTES:
            raise _too_large(size)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode_body(response: httpx.Response, content: bytes) -> Any:
    if not content:
        return None
    text = content.decode(response.encoding or "utf-8", errors="replace")
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _status_accepted(request: HttpRequest, status: int) -> bool:
    if request.expect_status is not None:
        return status in request.expect_status
    return 200 <= status < 300


def _query_params(query: dict[str, Any]) -> dict[str, Any]:
    return {
        key: json.dumps(value) if isinstance(value, dict) else value
        for key, value in query.items()
    }


def _body_arguments(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if isinstance(body, str):
        return {"content": body}
    return {"json": body}


async def _heartbeat_forever() -> None:
    # Cancellation reaches an activity only through a heartbeat's answer.
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_SECONDS)


def _refused(url: httpx.URL, reason: str) -> ApplicationError:
    return ApplicationError(
        f"request to {url} refused: {reason}",
        type="HttpHostNotAllowed",
        non_retryable=True,
    )


def _timeout(request: HttpRequest) -> ApplicationError:
    message = (
        f"{request.method} {request.url} timed out after {request.timeout_seconds:g}s"
    )
    return ApplicationError(message, type="HttpTimeout")


def _too_large(size: int) -> ApplicationError:
    message = (
        f"response body is {size} bytes or more; the limit for a node output "
        f"is {kilobytes(MAX_OUTPUT_BYTES)}"
    )
    return ApplicationError(message, type="OutputTooLarge", non_retryable=True)
