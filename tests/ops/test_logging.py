import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from api.observability import JsonFormatter
from tests.service import Service


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the API's loggers write while the test runs, one JSON object a line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def entries(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def request_line(stream: io.StringIO, request_id: str) -> dict:
    # The line is written once the response has gone out, so it may trail it a little.
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        lines = [e for e in entries(stream) if e.get("request_id") == request_id]
        if lines:
            return lines[-1]
        assert asyncio.get_running_loop().time() < deadline, stream.getvalue()
        await asyncio.sleep(0.02)


async def test_request_lines_carry_request_id_user_id_route_and_status(
    service: Service, json_lines: io.StringIO
) -> None:
    headers = await service.register_and_login()

    response = await service.client.get(
        "/api/auth/me", headers={**headers, "X-Request-ID": "req-42"}
    )

    assert response.headers["X-Request-ID"] == "req-42"
    line = await request_line(json_lines, "req-42")
    assert line["user_id"] == response.json()["data"]["id"]
    assert line["route"] == "/api/auth/me"
    assert line["status"] == 200
    assert line["level"] == "info"


def test_temporal_records_carry_the_execution_id_of_their_workflow() -> None:
    record = logging.LogRecord("w", logging.INFO, "f", 1, "node %s", ("a",), None)
    record.temporal_activity = {
        "workflow_id": "lead-scoring-0b9e4ad4-1d2c-4f7e-9a53-8d55b1f6a001",
        "activity_type": "send_http_request",
    }
    record.node_id = "score"

    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "node a"
    assert line["execution_id"] == "0b9e4ad4-1d2c-4f7e-9a53-8d55b1f6a001"
    assert line["node_id"] == "score"
    assert line["activity_type"] == "send_http_request"
