"""Per-user request budgets, counted in memory or in Redis shared by every process.

A request is charged to the user of its access token, read from the token alone (no
database hit), or to the client address when it carries no valid access token. Each
budget is a fixed window (`limits`' fixed-window strategy): 100 a minute and 1,000 an
hour by default.
"""

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.security import InvalidToken, decode_token
from api.settings import Settings

logger = logging.getLogger(__name__)

LIMITED_PREFIX = "/api/"


@dataclass(frozen=True)
class Verdict:
    """Whether a request may pass, and the budget it was measured against."""

    allowed: bool
    limit: int
    window: str  # "minute" or "hour"
    remaining: int
    reset_at: float  # epoch seconds when the window of `limit` starts afresh

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }
        if not self.allowed:
            retry_after = max(1, math.ceil(self.reset_at - time.time()))
            headers["Retry-After"] = str(retry_after)
        return headers


class RateLimiter:
    """Charges requests to identities against every configured budget."""

    def __init__(self, settings: Settings) -> None:
        self._items: list[RateLimitItem] = []
        if settings.rate_limit_per_minute:
            self._items.append(RateLimitItemPerMinute(settings.rate_limit_per_minute))
        if settings.rate_limit_per_hour:
            self._items.append(RateLimitItemPerHour(settings.rate_limit_per_hour))
        self._storage = _storage(settings)
        self._strategy = FixedWindowRateLimiter(self._storage)
        self._secret = settings.signing_secret()

    @property
    def enabled(self) -> bool:
        return bool(self._items)

    def identity(self, authorization: str | None, client_address: str) -> str:
        """`user:<id>` for a valid access token, else `address:<client address>`."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and token:
            try:
                claims = decode_token(
                    token.strip(), secret=self._secret, expected_type="access"
                )
            except InvalidToken:
                pass
            else:
                return f"user:{claims['sub']}"
        return f"address:{client_address}"

    async def charge(self, identity: str) -> Verdict:
        """Count one request; the verdict is measured on the tightest budget."""
        verdicts = []
        for item in self._items:
            allowed = await self._strategy.hit(item, identity)
            verdict = await self._verdict(item, identity, allowed)
            if not allowed:
                return verdict
            verdicts.append(verdict)
        return min(verdicts, key=lambda verdict: verdict.remaining)

    async def _verdict(
        self, item: RateLimitItem, identity: str, allowed: bool
    ) -> Verdict:
        stats = await self._strategy.get_window_stats(item, identity)
        return Verdict(
            allowed=allowed,
            limit=item.amount,
            window=item.GRANULARITY.name,
            remaining=stats.remaining,
            reset_at=stats.reset_time,
        )


def _storage(settings: Settings) -> Storage:
    if not settings.redis_url:
        return MemoryStorage()
    url = settings.redis_url
    if not url.startswith("async+"):
        url = f"async+{url}"
    return RedisStorage(
        url, implementation="redispy", key_prefix=settings.rate_limit_key_prefix
    )


class RateLimitMiddleware:
    """Answers 429 `RATE_LIMITED` once a budget is spent; otherwise adds the
    `X-RateLimit-*` headers to every `/api/` response."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(LIMITED_PREFIX)
            or not self.limiter.enabled
        ):
            await self.app(scope, receive, send)
            return

        verdict = await self._charge(scope)
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            response = JSONResponse(
                error_body("RATE_LIMITED", _limited_message(verdict)),
                status_code=429,
                headers=verdict.headers(),
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                for name, value in verdict.headers().items():
                    headers.append((name.lower().encode(), value.encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _charge(self, scope: Scope) -> Verdict | None:
        client = scope.get("client")
        identity = self.limiter.identity(
            Headers(scope=scope).get("authorization"),
            client[0] if client else "unknown",
        )
        try:
            return await self.limiter.charge(identity)
        except Exception as exc:  # the counters' store is down: serve, but say so
            logger.warning("rate limit not enforced: %s", exc, exc_info=False)
            return None


def _limited_message(verdict: Verdict) -> str:
    return (
        f"Rate limit of {verdict.limit} requests per {verdict.window} exceeded; "
        "retry later"
    )
