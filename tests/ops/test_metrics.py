import asyncio
import json
from pathlib import Path

from temporalio.client import Client

from embedded.temporal_server import DevServer
from tests.http_peer import HttpPeer
from tests.processes import (
    Samples,
    counting_workflow,
    parse_samples,
    sample,
    scrape,
    start_worker,
)
from tests.service import Service, make_settings, running_service

EXECUTE_ROUTE = "/api/workflows/{workflow_id}/execute"


async def api_samples(service: Service) -> dict:
    response = await service.client.get("/metrics")
    assert response.status_code == 200
    return parse_samples(response.text)


async def scrape_until(url: str, name: str, before: Samples, moved: float) -> Samples:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        after = scrape(url)
        if sample(after, name) - sample(before, name) >= moved:
            return after
        assert asyncio.get_running_loop().time() < deadline, f"{name} did not move"
        await asyncio.sleep(0.05)


async def test_api_metrics_count_requests_latencies_and_execution_outcomes(
    service: Service, http_peer: HttpPeer
) -> None:
    headers = await service.register_and_login()
    workflow_id = await service.create_workflow(
        headers, counting_workflow(http_peer.url)
    )
    before = await api_samples(service)

    await service.execute(headers, workflow_id)
    refused = await service.client.post(
        f"/api/workflows/{workflow_id}/execute", json={}, headers={}
    )

    assert refused.status_code == 401
    after = await api_samples(service)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    route = {"route": EXECUTE_ROUTE, "method": "POST"}
    assert moved("auterity_http_requests_total", **route, status="202") == 1
    assert moved("auterity_http_requests_total", **route, status="401") == 1
    assert moved("auterity_http_request_duration_seconds_count", **route) == 2
    assert moved("auterity_executions_started_total", outcome="started") == 1
    assert moved("auterity_executions_started_total", outcome="unauthorized") == 1


async def test_worker_serves_sdk_metrics_and_node_outcomes_and_logs_json(
    database_url: str,
    temporal_server: DevServer,
    temporal_client: Client,
    http_peer: HttpPeer,
    tmp_path: Path,
) -> None:
    settings = make_settings(database_url, temporal_server.address)
    worker = start_worker(settings, tmp_path)
    try:
        before = scrape(worker.url)
        async with running_service(settings, temporal_client, with_worker=False) as svc:
            headers = await svc.register_and_login()
            workflow_id = await svc.create_workflow(
                headers, counting_workflow(http_peer.url)
            )
            execution_id = await svc.execute(headers, workflow_id)
            await svc.wait_for_status(headers, execution_id, {"completed"})
        # The record activity counts once it has written the record, a moment after
        # the API could read it.
        after = await scrape_until(
            worker.url, "auterity_executions_finished_total", before, 1
        )
    finally:
        assert worker.stop() == 0

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    queue = {"task_queue": settings.task_queue}
    assert moved("temporal_workflow_completed_total", **queue) == 1
    http = {**queue, "activity_type": "send_http_request"}
    assert moved("temporal_activity_execution_latency_count", **http) == 1
    assert moved("auterity_executions_finished_total", status="completed") == 1
    assert (
        moved("auterity_node_outcomes_total", node_type="http", status="completed") == 1
    )
    assert (
        moved("auterity_node_outcomes_total", node_type="end", status="completed") == 1
    )

    entries = [json.loads(line) for line in worker.log_lines() if line.startswith("{")]
    recorded = [e for e in entries if e["message"].startswith("recorded execution")]
    assert recorded[0]["execution_id"] == execution_id
    assert recorded[0]["activity_type"] == "record_execution"
