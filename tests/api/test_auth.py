import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from tests.service import TEST_SECRET, Service

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


async def login(service: Service) -> dict[str, Any]:
    """The token pair of a freshly registered user."""
    email = f"tokens-{uuid.uuid4().hex[:8]}@example.com"
    await service.client.post(
        "/api/auth/register",
        json={"email": email, "password": "engine-42", "name": "T"},
    )
    response = await service.client.post(
        "/api/auth/login", json={"email": email, "password": "engine-42"}
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()["data"]
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refresh(service: Service, refresh_token: str) -> httpx.Response:
    return await service.client.post(
        "/api/auth/refresh", json={"refresh_token": refresh_token}
    )


async def test_refresh_rotates_the_pair_and_the_old_refresh_token_stops_working(
    service: Service,
) -> None:
    tokens = await login(service)

    rotated = await refresh(service, tokens["refresh_token"])

    assert rotated.status_code == 200
    fresh = rotated.json()["data"]
    assert fresh["refresh_token"] != tokens["refresh_token"]
    me = await service.client.get("/api/auth/me", headers=bearer(fresh["access_token"]))
    assert me.status_code == 200
    again = await refresh(service, fresh["refresh_token"])
    assert again.status_code == 200


async def test_a_reused_refresh_token_revokes_the_whole_session(
    service: Service,
) -> None:
    tokens = await login(service)
    fresh = (await refresh(service, tokens["refresh_token"])).json()["data"]

    reused = await refresh(service, tokens["refresh_token"])

    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "REFRESH_TOKEN_REVOKED"
    # Everything descended from that login is dead, the newest pair included.
    assert (await refresh(service, fresh["refresh_token"])).status_code == 401
    me = await service.client.get("/api/auth/me", headers=bearer(fresh["access_token"]))
    assert me.status_code == 401


async def test_logout_stops_the_access_and_refresh_tokens_at_once(
    service: Service,
) -> None:
    tokens = await login(service)
    other_session = await service.client.post(
        "/api/auth/login",
        json={"email": tokens["user"]["email"], "password": "engine-42"},
    )

    response = await service.client.post(
        "/api/auth/logout", headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 200
    assert response.json()["success"] is True
    me = await service.client.get(
        "/api/auth/me", headers=bearer(tokens["access_token"])
    )
    assert me.status_code == 401
    assert (await refresh(service, tokens["refresh_token"])).status_code == 401
    # Only that session ended: another login of the same user still works.
    other = other_session.json()["data"]["access_token"]
    assert (await service.client.get("/api/auth/me", headers=bearer(other))).is_success


async def test_logout_needs_an_access_token(service: Service) -> None:
    tokens = await login(service)

    response = await service.client.post(
        "/api/auth/logout", headers=bearer(tokens["refresh_token"])
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def forge(claims: dict[str, Any], **changes: Any) -> str:
    """A token signed with the service's secret, with some claims changed."""
    return jwt.encode({**claims, **changes}, TEST_SECRET, algorithm="HS256")


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return f"{header}.{forged.decode()}.{signature}"


@pytest.mark.parametrize("kind", ["expired", "tampered", "alg_none", "refresh"])
async def test_me_refuses_a_bad_access_token(service: Service, kind: str) -> None:
    tokens = await login(service)
    access = claims_of(tokens["access_token"])
    token = {
        "expired": lambda: forge(access, exp=int(time.time()) - 60),
        "tampered": lambda: tampered(tokens["access_token"]),
        "alg_none": lambda: unsigned(access),
        "refresh": lambda: tokens["refresh_token"],
    }[kind]()

    response = await service.client.get("/api/auth/me", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("kind", ["expired", "tampered", "alg_none", "access"])
async def test_refresh_refuses_a_bad_refresh_token(service: Service, kind: str) -> None:
    tokens = await login(service)
    claims = claims_of(tokens["refresh_token"])
    token = {
        "expired": lambda: forge(claims, exp=int(time.time()) - 60),
        "tampered": lambda: tampered(tokens["refresh_token"]),
        "alg_none": lambda: unsigned(claims),
        "access": lambda: tokens["access_token"],
    }[kind]()

    response = await refresh(service, token)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_REFRESH_TOKEN"
    # A token refused before it was checked against the session revokes nothing.
    assert (await refresh(service, tokens["refresh_token"])).status_code == 200


async def test_tokens_last_as_the_settings_say(service: Service) -> None:
    tokens = await login(service)

    access = claims_of(tokens["access_token"])
    refresh_claims = claims_of(tokens["refresh_token"])

    assert access["exp"] - access["iat"] == 30 * 60
    assert refresh_claims["exp"] - refresh_claims["iat"] == 7 * 24 * 3600
    assert access["sid"] == refresh_claims["sid"]
    assert (access["type"], refresh_claims["type"]) == ("access", "refresh")
