import pytest

from tests.service import Service

pytestmark = pytest.mark.database


async def test_register_returns_the_user_without_its_password(service: Service) -> None:
    response = await service.client.post(
        "/api/auth/register",
        json={"email": "Ada@Example.com", "password": "engine-42", "name": "Ada"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert body["data"]["email"] == "ada@example.com"
    assert body["data"]["name"] == "Ada"
    assert "password" not in str(body).lower()


async def test_register_twice_with_one_email_is_refused(service: Service) -> None:
    user = {"email": "twice@example.com", "password": "engine-42", "name": "T"}
    await service.client.post("/api/auth/register", json=user)

    response = await service.client.post("/api/auth/register", json=user)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "not-an-email", "password": "engine-42", "name": "A"}, "body.email"),
        (
            {"email": "a@example.com", "password": "short1", "name": "A"},
            "body.password",
        ),
        (
            {"email": "a@example.com", "password": "aaaaaaaaaaa", "name": "A"},
            "body.password",
        ),
        ({"email": "a@example.com", "password": "engine-42"}, "body.name"),
    ],
)
async def test_register_refuses_bad_input_naming_the_field(
    service: Service, payload: dict[str, str], field: str
) -> None:
    response = await service.client.post("/api/auth/register", json=payload)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in [detail["field"] for detail in error["details"]]


async def test_login_gives_tokens_that_open_me(service: Service) -> None:
    await service.client.post(
        "/api/auth/register",
        json={"email": "me@example.com", "password": "engine-42", "name": "Me"},
    )

    login = await service.client.post(
        "/api/auth/login", json={"email": "me@example.com", "password": "engine-42"}
    )

    assert login.status_code == 200
    tokens = login.json()["data"]
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 30 * 60
    assert tokens["user"]["email"] == "me@example.com"
    me = await service.client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["data"]["id"] == tokens["user"]["id"]


async def test_login_with_a_wrong_password_is_unauthorized(service: Service) -> None:
    await service.client.post(
        "/api/auth/register",
        json={"email": "wrong@example.com", "password": "engine-42", "name": "W"},
    )

    response = await service.client.post(
        "/api/auth/login", json={"email": "wrong@example.com", "password": "engine-43"}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_CREDENTIALS"


async def test_me_refuses_missing_bad_and_refresh_tokens(service: Service) -> None:
    await service.client.post(
        "/api/auth/register",
        json={"email": "types@example.com", "password": "engine-42", "name": "T"},
    )
    login = await service.client.post(
        "/api/auth/login", json={"email": "types@example.com", "password": "engine-42"}
    )
    refresh = login.json()["data"]["refresh_token"]

    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {refresh}"},
    ):
        response = await service.client.get("/api/auth/me", headers=headers)
        assert response.status_code == 401
        assert response.json()["success"] is False
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
