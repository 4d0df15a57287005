"""The FastAPI application: routers, the error envelope, and per-process resources."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.db.session import create_engine, session_factory
from api.errors import ErrorEnvelope, install_error_handlers
from api.limits_middleware import BodyLimitMiddleware
from api.observability import RequestObservability, configure_logging
from api.ratelimit import RateLimiter, RateLimitMiddleware
from api.routes import (
    approvals,
    auth,
    definitions,
    executions,
    operations,
    templates,
    workflows,
)
from api.settings import Settings, get_settings
from api.templates_seed import seed_starter_templates
from api.temporal import TemporalGateway

logger = logging.getLogger(__name__)

_ERROR_RESPONSES = {
    code: {"model": ErrorEnvelope, "description": description}
    for code, description in {
        400: "Bad request",
        401: "Missing, invalid or expired token",
        403: "Forbidden",
        404: "Not found",
        413: "Request body over MAX_REQUEST_BYTES",
        422: "Validation error",
        429: "Rate limit exceeded",
        500: "Internal server error",
        503: "Database or Temporal unavailable",
    }.items()
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (read from the environment when omitted)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.settings = settings
        app.state.sessions = session_factory(engine)
        app.state.temporal = TemporalGateway(settings)
        await seed_starter_templates(app.state.sessions)
        logger.info("API started (database %s)", engine.url.render_as_string())
        yield
        await engine.dispose()

    app = FastAPI(
        title="Auterity Orchestrator",
        version="0.1.0",
        description="Durable workflow orchestration on Temporal.",
        lifespan=lifespan,
        responses=_ERROR_RESPONSES,  # type: ignore[arg-type]
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    # Added before the request id, so a 429 carries one too.
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(settings))
    app.add_middleware(RequestObservability)
    # `definitions` first: its /api/workflows/validate must not read as a workflow id.
    for router in (
        auth.router,
        definitions.router,
        workflows.router,
        executions.router,
        approvals.router,
        templates.router,
    ):
        app.include_router(router)
    app.include_router(operations.router)

    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory api.app:app_factory`."""
    settings = get_settings()
    configure_logging(settings)
    return create_app(settings)
