import pytest

from tests.service import Service

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


async def test_every_response_carries_a_request_id(service: Service) -> None:
    response = await service.client.get("/health")

    assert response.status_code == 200
    assert response.headers["X-Request-ID"]
