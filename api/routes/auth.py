"""Registration, login, token refresh, logout and the current user."""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, status
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from api.db.models import AuthSession, User, new_id
from api.deps import AppSettings, CurrentUser, DbSession
from api.errors import BadRequest, Unauthorized
from api.schemas import Envelope
from api.schemas.auth import (
    TokenPair,
    TokenRefresh,
    UserLogin,
    UserRead,
    UserRegister,
)
from api.security import (
    InvalidToken,
    create_token,
    decode_token,
    hash_password,
    verify_password,
)
from api.settings import Settings

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(body: UserRegister, db: DbSession) -> Envelope[UserRead]:
    """Create an account; the email must not be taken."""
    email = body.email.lower()
    if await db.scalar(select(User.id).where(User.email == email)):
        raise BadRequest("A user with this email already exists", code="EMAIL_TAKEN")

    user = User(email=email, name=body.name, password_hash=hash_password(body.password))
    db.add(user)
    try:
        await db.commit()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise BadRequest(
            "A user with this email already exists", code="EMAIL_TAKEN"
        ) from exc
    return Envelope(data=UserRead.model_validate(user), message="User registered")


@router.post("/login")
async def login(
    body: UserLogin, db: DbSession, settings: AppSettings
) -> Envelope[TokenPair]:
    """Exchange email and password for an access and a refresh token."""
    user = await db.scalar(select(User).where(User.email == body.email.lower()))
    password_hash = user.password_hash if user else None
    if not verify_password(password_hash, body.password) or user is None:
        raise Unauthorized("Invalid email or password", code="INVALID_CREDENTIALS")
    if not user.is_active:
        raise Unauthorized("This account is disabled", code="ACCOUNT_DISABLED")

    tokens = await open_session(db, settings, user)
    return Envelope(data=tokens, message="Logged in")


@router.post("/refresh")
async def refresh(
    body: TokenRefresh, db: DbSession, settings: AppSettings
) -> Envelope[TokenPair]:
    """Trade a refresh token for a new pair; the one presented stops working.

    Presenting a refresh token that was already traded in means it leaked: the whole
    session (every token descended from that login) is revoked.
    """
    try:
        claims = decode_token(
            body.refresh_token,
            secret=settings.signing_secret(),
            expected_type="refresh",
        )
    except InvalidToken as exc:
        raise Unauthorized(
            f"Invalid refresh token: {exc}", code="INVALID_REFRESH_TOKEN"
        ) from exc

    new_jti = new_id()
    now = datetime.now(UTC)
    # One conditional update, so two racing refreshes cannot both win.
    rotated = await db.execute(
        update(AuthSession)
        .where(
            AuthSession.id == claims["sid"],
            AuthSession.user_id == claims["sub"],
            AuthSession.current_refresh_jti == claims["jti"],
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .values(
            current_refresh_jti=new_jti,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    if rotated.rowcount != 1:  # type: ignore[attr-defined]
        await _revoke_session(db, claims["sid"])
        raise Unauthorized(
            "This refresh token was already used or its session has ended",
            code="REFRESH_TOKEN_REVOKED",
        )
    user = await db.get(User, claims["sub"])
    if user is None or not user.is_active:
        await _revoke_session(db, claims["sid"])
        raise Unauthorized("This account is disabled", code="ACCOUNT_DISABLED")
    await db.commit()
    tokens = issue_tokens(settings, user, claims["sid"], new_jti)
    return Envelope(data=tokens, message="Tokens refreshed")


@router.post("/logout")
async def logout(request: Request, user: CurrentUser, db: DbSession) -> Envelope[None]:
    """End the session of the access token: it and its refresh token stop working."""
    await _revoke_session(db, request.state.session_id)
    return Envelope(data=None, message="Logged out")


async def _revoke_session(db: DbSession, session_id: str) -> None:
    await db.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    await db.commit()


@router.get("/me")
async def me(user: CurrentUser) -> Envelope[UserRead]:
    """The user the access token belongs to."""
    return Envelope(data=UserRead.model_validate(user))


async def open_session(db: DbSession, settings: Settings, user: User) -> TokenPair:
    refresh_jti = new_id()
    refresh_lifetime = timedelta(days=settings.refresh_token_days)
    session = AuthSession(
        user_id=user.id,
        current_refresh_jti=refresh_jti,
        expires_at=datetime.now(UTC) + refresh_lifetime,
    )
    db.add(session)
    await db.commit()
    return issue_tokens(settings, user, session.id, refresh_jti)


def issue_tokens(
    settings: Settings, user: User, session_id: str, refresh_jti: str
) -> TokenPair:
    secret = settings.signing_secret()
    access_lifetime = timedelta(minutes=settings.access_token_minutes)
    access_token, _ = create_token(
        secret=secret,
        subject=user.id,
        token_type="access",
        lifetime=access_lifetime,
        session_id=session_id,
    )
    refresh_token, _ = create_token(
        secret=secret,
        subject=user.id,
        token_type="refresh",
        lifetime=timedelta(days=settings.refresh_token_days),
        session_id=session_id,
        jti=refresh_jti,
    )
    return TokenPair(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=int(access_lifetime.total_seconds()),
        user=UserRead.model_validate(user),
    )
