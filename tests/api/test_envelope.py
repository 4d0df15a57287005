import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from tests.service import Service, make_settings

pytestmark = pytest.mark.database


async def test_an_unknown_route_is_404_in_the_envelope(service: Service) -> None:
    response = await service.client.get("/api/nothing-here")

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": {"code": "NOT_FOUND", "message": "Not Found"},
    }


async def test_a_wrong_method_is_405_in_the_envelope(service: Service) -> None:
    response = await service.client.delete("/api/auth/me")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_malformed_json_is_422_in_the_envelope(service: Service) -> None:
    response = await service.client.post(
        "/api/auth/login",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_body_declared_over_the_limit_is_413_unread(service: Service) -> None:
    headers = await service.register_and_login()
    url = service.client.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    # Only the head goes out: the answer must come without the 50 MB being sent.
    head = (
        "POST /api/workflows HTTP/1.1\r\n"
        f"Host: {url.host}\r\n"
        f"Authorization: {headers['Authorization']}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
    )
    writer.write(head.encode())
    try:
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413"
    assert b"x-request-id" in rest.lower()
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_streamed_body_is_counted_as_it_comes(service: Service) -> None:
    headers = await service.register_and_login()
    limit = service.settings.max_request_bytes

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the body arrives chunked, its last chunk past the limit.
        yield b'{"name": "'
        for _ in range(limit // 65536):
            yield b"x" * 65536
        yield b'"}'

    response = await service.client.post(
        "/api/workflows",
        content=chunks(),
        headers={**headers, "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_body_within_the_limit_reaches_the_route(service: Service) -> None:
    headers = await service.register_and_login()
    definition = {"nodes": [], "edges": [], "padding": "x" * 900_000}

    response = await service.client.post(
        "/api/workflows/validate", json={"definition": definition}, headers=headers
    )

    assert response.status_code == 200, response.text
    codes = [error["code"] for error in response.json()["data"]["errors"]]
    assert "definition_too_large" in codes


@pytest.mark.parametrize("nesting", [b"[" * 100_000, b'{"a":' * 100_000])
async def test_deeply_nested_json_is_422_like_other_malformed_json(
    service: Service, nesting: bytes
) -> None:
    response = await service.client.post(
        "/api/auth/login",
        content=nesting,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == [{"field": "body", "message": "JSON nested too deeply"}]


async def test_every_response_carries_a_request_id(service: Service) -> None:
    response = await service.client.get("/health")

    assert response.status_code == 200
    assert response.headers["X-Request-ID"]


async def test_a_500_hides_the_trace_and_carries_a_logged_request_id(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(database_url, "127.0.0.1:1"))

    @app.get("/api/test-only/explode")
    async def explode() -> None:
        raise RuntimeError("secret internals at line 42")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with caplog.at_level(logging.ERROR, logger="api.errors"):
            response = await client.get("/api/test-only/explode")

    assert response.status_code == 500
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    request_id = body["error"]["details"]["request_id"]
    assert response.headers["X-Request-ID"] == request_id
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None


# Every endpoint of the API contract document, as METHOD and path.
CONTRACT = [
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/refresh"),
    ("GET", "/api/auth/me"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/workflows"),
    ("POST", "/api/workflows"),
    ("GET", "/api/workflows/{id}"),
    ("PUT", "/api/workflows/{id}"),
    ("DELETE", "/api/workflows/{id}"),
    ("POST", "/api/workflows/{id}/execute"),
    ("GET", "/api/executions/{id}"),
    ("GET", "/api/executions/{id}/logs"),
    ("POST", "/api/executions/{id}/cancel"),
    ("GET", "/api/templates"),
    ("GET", "/api/templates/{id}"),
    ("POST", "/api/templates"),
    ("PUT", "/api/templates/{id}"),
    ("DELETE", "/api/templates/{id}"),
    ("POST", "/api/templates/{id}/instantiate"),
]


async def test_the_openapi_document_covers_the_whole_contract(
    service: Service,
) -> None:
    response = await service.client.get("/openapi.json")
    docs = await service.client.get("/docs")

    assert response.status_code == 200
    assert docs.status_code == 200
    spec = response.json()
    operations = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{id}", path)): operation
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }
    missing = [endpoint for endpoint in CONTRACT if endpoint not in operations]
    assert missing == []
    for endpoint in CONTRACT:
        operation = operations[endpoint]
        assert operation.get("summary") and operation.get("description"), endpoint
        responses = operation["responses"]
        assert {"401", "422", "429", "500"} <= set(responses), endpoint
        assert "ErrorEnvelope" in str(responses["422"]), endpoint
        success = next(code for code in responses if code.startswith("2"))
        assert "schema" in str(responses[success]), endpoint
