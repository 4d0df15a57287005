import httpx

from api.settings import Settings
from embedded.temporal_server import free_port
from tests.service import Service, make_settings, running_api


async def test_health_answers_in_the_envelope(service: Service) -> None:
    response = await service.client.get("/health")

    assert response.status_code == 200
    assert response.json()["data"] == {"status": "ok"}
    assert (await service.client.head("/health")).status_code == 200


async def test_ready_when_database_and_temporal_answer(service: Service) -> None:
    response = await service.client.get("/ready")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data == {"status": "ok", "database": "ok", "temporal": "ok"}


async def test_not_ready_when_temporal_is_unreachable(database_url: str) -> None:
    settings: Settings = make_settings(
        database_url, f"127.0.0.1:{free_port()}", temporal_rpc_timeout_seconds=1
    )
    async with running_api(settings) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/ready")
            health = await client.get("/health")

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "NOT_READY"
    assert error["details"]["database"] == "ok"
    assert error["details"]["temporal"] != "ok"
    assert health.status_code == 200
