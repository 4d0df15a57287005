"""Settings read from environment variables, shared by the API and the worker."""

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DATA_DIR = Path(".data")
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "dev", "placeholder"}
)
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite+aiosqlite:///{DATA_DIR}/auterity.db"
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "auterity-executions"
    jwt_secret: str | None = None
    access_token_minutes: int = Field(default=30, gt=0)
    refresh_token_days: int = Field(default=7, gt=0)
    http_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long the API waits on Temporal for a running execution's live state.
    temporal_rpc_timeout_seconds: float = Field(default=3.0, gt=0)
    # Temporal Cloud or a TLS-secured cluster: mTLS files, or an API key.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_api_key: str | None = None
    # Operations: log shape (json by default in production), worker metrics, drain.
    log_format: Literal["text", "json"] | None = None
    log_level: str = "INFO"
    worker_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    worker_metrics_host: str = "0.0.0.0"
    worker_shutdown_seconds: float = Field(default=30.0, ge=0)
    worker_workflow_task_slots: int = Field(default=4, gt=0)
    # Requests per user (per client address before login); 0 turns a limit off.
    rate_limit_per_minute: int = Field(default=100, ge=0)
    rate_limit_per_hour: int = Field(default=1000, ge=0)
    # Shared rate-limit counters, so every API process enforces one budget.
    redis_url: str | None = None
    rate_limit_key_prefix: str = "auterity-rate-limit"
    # Room for a 256 KB definition with its JSON spacing and the rest of a request.
    max_request_bytes: int = Field(default=1024 * 1024, gt=0)

    @field_validator("http_allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value

    @model_validator(mode="after")
    def _require_real_secret_outside_development(self) -> "Settings":
        if self.environment == "production" and not is_strong_secret(self.jwt_secret):
            raise ValueError(
                "JWT_SECRET must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters outside development"
            )
        return self

    @model_validator(mode="after")
    def _require_tls_pair(self) -> "Settings":
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together")
        return self

    @property
    def effective_log_format(self) -> Literal["text", "json"]:
        """LOG_FORMAT, else json in production and text elsewhere."""
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment == "production" else "text"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def signing_secret(self) -> str:
        """The JWT secret; in development a random one is generated once and kept."""
        if self.jwt_secret:
            return self.jwt_secret
        return _development_secret(DATA_DIR / "jwt_secret")


def is_strong_secret(secret: str | None) -> bool:
    return (
        secret is not None
        and secret.strip().lower() not in PLACEHOLDER_SECRETS
        and len(secret) >= MIN_SECRET_LENGTH
    )


def _development_secret(path: Path) -> str:
    # Exclusive create, so two processes starting together agree on one secret.
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as file:
        file.write(secret)
    return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
