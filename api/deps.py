"""FastAPI dependencies: settings, database session, Temporal client, current user."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import AuthSession, User
from api.errors import Unauthorized
from api.security import InvalidToken, decode_token
from api.settings import Settings
from api.temporal import TemporalGateway


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def get_temporal(request: Request) -> TemporalGateway:
    gateway: TemporalGateway = request.app.state.temporal
    return gateway


AppSettings = Annotated[Settings, Depends(get_settings)]
DbSession = Annotated[AsyncSession, Depends(get_db)]
# A gateway, not a client: reading a finished execution must not need Temporal.
Temporal = Annotated[TemporalGateway, Depends(get_temporal)]

_bearer = HTTPBearer(auto_error=False)


async def get_current_user(
    request: Request,
    settings: AppSettings,
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user of a valid access token whose session is still open."""
    if credentials is None:
        raise Unauthorized("Missing bearer token")
    try:
        claims = decode_token(
            credentials.credentials,
            secret=settings.signing_secret(),
            expected_type="access",
        )
    except InvalidToken as exc:
        raise Unauthorized(f"Invalid access token: {exc}") from exc

    row = (
        await db.execute(
            select(User, AuthSession.revoked_at)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(User.id == claims["sub"], AuthSession.id == claims["sid"])
        )
    ).first()
    if row is None or row.revoked_at is not None or not row.User.is_active:
        raise Unauthorized("Session has ended")
    request.state.user_id = row.User.id
    request.state.session_id = claims["sid"]
    return row.User


CurrentUser = Annotated[User, Depends(get_current_user)]
