"""Probes and metrics for operators: `/health`, `/ready`, `/metrics`."""

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.deps import AppSettings, Temporal
from api.errors import ServiceUnavailable
from api.schemas import Envelope

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> Envelope[dict[str, str]]:
    """The process is up (a liveness probe: it asks nothing of anything else)."""
    return Envelope(data={"status": "ok"})


# HEAD too, since load balancers often probe with it; one operation in the schema.
router.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)


@router.get("/ready")
async def ready(
    request: Request, temporal: Temporal, settings: AppSettings
) -> Envelope[dict[str, str]]:
    """The database and Temporal both answer; 503 `NOT_READY` names what did not."""
    timeout = settings.temporal_rpc_timeout_seconds
    checks = {
        "database": await _check(_ping_database(request), timeout),
        "temporal": await _check(temporal.ping(), timeout),
    }
    if any(result != "ok" for result in checks.values()):
        raise ServiceUnavailable(
            "The service is not ready", code="NOT_READY", details=checks
        )
    return Envelope(data={"status": "ok", **checks})


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics of this API process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _ping_database(request: Request) -> None:
    async with request.app.state.sessions() as db:
        await db.execute(text("SELECT 1"))


async def _check(probe: Awaitable[None], timeout: float) -> str:
    try:
        await asyncio.wait_for(probe, timeout)
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except Exception as exc:  # any failure means not ready; say which
        return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    return "ok"
