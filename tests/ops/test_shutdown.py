import asyncio
import signal
import uuid
from pathlib import Path

import httpx

from embedded.temporal_server import DevServer
from tests.processes import start_api
from tests.service import make_settings

DEFINITION = {"nodes": [{"id": "start", "type": "start", "data": {}}], "edges": []}


async def test_api_finishes_a_request_in_flight_when_stopped(
    database_url: str, temporal_server: DevServer, tmp_path: Path
) -> None:
    # No worker polls this queue, so reading the execution waits out the RPC timeout.
    settings = make_settings(
        database_url, temporal_server.address, temporal_rpc_timeout_seconds=2
    )
    api = start_api(settings, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            headers = await _login(client)
            execution_id = await _execute(client, headers)
            slow_read = asyncio.create_task(
                client.get(f"/api/executions/{execution_id}", headers=headers)
            )
            await asyncio.sleep(0.5)
            api.popen.send_signal(signal.SIGTERM)
            response = await slow_read
        exit_code = await asyncio.to_thread(api.popen.wait, 30)
    finally:
        api.stop()

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "pending"
    # Uvicorn re-raises the signal it stopped for once it has shut down cleanly.
    assert exit_code in (0, -signal.SIGTERM)
    assert "Finished server process" in "\n".join(api.log_lines())


async def _login(client: httpx.AsyncClient) -> dict[str, str]:
    credentials = {
        "email": f"{uuid.uuid4().hex[:8]}@example.com",
        "password": "pa55word",
    }
    await client.post("/api/auth/register", json={**credentials, "name": "Stop"})
    response = await client.post("/api/auth/login", json=credentials)
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


async def _execute(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(
        "/api/workflows",
        json={"name": "idle", "definition": DEFINITION},
        headers=headers,
    )
    workflow_id = response.json()["data"]["id"]
    response = await client.post(
        f"/api/workflows/{workflow_id}/execute", json={"input": {}}, headers=headers
    )
    assert response.status_code == 202, response.text
    execution_id: str = response.json()["data"]["id"]
    return execution_id
