"""Password hashing and JSON Web Tokens."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class InvalidToken(Exception):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def create_token(
    *,
    secret: str,
    subject: str,
    token_type: TokenType,
    lifetime: timedelta,
    session_id: str,
    jti: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign a token; returns it with its claims."""
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "type": token_type,
        "sid": session_id,
        "jti": jti or str(uuid.uuid4()),
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), claims


def decode_token(
    token: str, *, secret: str, expected_type: TokenType
) -> dict[str, Any]:
    """Verify signature, expiry and type; any failure is `InvalidToken`."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat", "jti", "type", "sid"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("token is invalid") from exc
    if claims.get("type") != expected_type:
        article = "an" if expected_type == "access" else "a"
        raise InvalidToken(f"expected {article} {expected_type} token")
    return claims
