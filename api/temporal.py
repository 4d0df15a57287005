"""Connecting to Temporal, and what operators see of each execution there.

The API's connection is opened on first use, so the API starts without Temporal. The
worker connects through `connect` too, so TLS and API key settings apply to both.
"""

import asyncio
import logging
import re
from datetime import timedelta
from typing import Any

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, TLSConfig

from api.errors import ServiceUnavailable
from api.settings import Settings

logger = logging.getLogger(__name__)

# Custom search attributes set on every execution, so the Web UI can list all
# executions of one user or one workflow. The dev server of `make run` and the tests
# registers them; a production cluster needs them created once (see the README).
OWNER_ID = SearchAttributeKey.for_keyword("OwnerId")
WORKFLOW_ID = SearchAttributeKey.for_keyword("AuterityWorkflowId")
WORKFLOW_VERSION = SearchAttributeKey.for_int("AuterityWorkflowVersion")
SEARCH_ATTRIBUTES = {
    OWNER_ID.name: "Keyword",
    WORKFLOW_ID.name: "Keyword",
    WORKFLOW_VERSION.name: "Int",
}

_UUID_SUFFIX = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 40


def execution_workflow_id(workflow_name: str, execution_id: str) -> str:
    """The Temporal workflow id of an execution: `<workflow-name-slug>-<id>`."""
    slug = _NOT_SLUG.sub("-", workflow_name.lower())[:MAX_SLUG].strip("-")
    return f"{slug or 'execution'}-{execution_id}"


def execution_id_of(temporal_workflow_id: str) -> str | None:
    """The execution id inside a Temporal workflow id, or None for other workflows."""
    match = _UUID_SUFFIX.search(temporal_workflow_id)
    return match.group(1) if match else None


def tls_config(settings: Settings) -> bool | TLSConfig:
    """mTLS from the certificate files; plain TLS for an API key; else none."""
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        ca = settings.temporal_tls_ca
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
            server_root_ca_cert=ca.read_bytes() if ca else None,
        )
    return settings.temporal_api_key is not None


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client for the configured Temporal, with the pydantic data converter."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=tls_config(settings),
        api_key=settings.temporal_api_key,
        runtime=runtime,
    )


class TemporalGateway:
    """The API's lazily opened client, and the search attributes the cluster knows."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._registered: frozenset[str] | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The connected client; 503 when Temporal cannot be reached."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await self._connect()
        return self._client

    async def _connect(self) -> Client:
        address = self._settings.temporal_address
        try:
            return await asyncio.wait_for(connect(self._settings), timeout=5)
        except (RuntimeError, TimeoutError, OSError) as exc:
            raise ServiceUnavailable(
                f"Temporal at {address} is unreachable",
                code="TEMPORAL_UNAVAILABLE",
            ) from exc

    async def ping(self) -> None:
        """Ask Temporal for its system info; raises ServiceUnavailable when it fails."""
        client = await self.client()
        timeout = self._settings.temporal_rpc_timeout_seconds
        try:
            await client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=timeout)
            )
        except RPCError as exc:
            raise ServiceUnavailable(
                f"Temporal did not answer: {exc}", code="TEMPORAL_UNAVAILABLE"
            ) from exc

    async def search_attributes(
        self, owner_id: str, workflow_id: str, workflow_version: int
    ) -> TypedSearchAttributes:
        """The execution's search attributes, limited to those the cluster has.

        Starting a workflow with an unregistered attribute fails, so a cluster that
        lacks them gets executions without them (and one warning).
        """
        registered = await self._registered_attributes()
        pairs: list[SearchAttributePair[Any]] = [
            SearchAttributePair(OWNER_ID, owner_id),
            SearchAttributePair(WORKFLOW_ID, workflow_id),
            SearchAttributePair(WORKFLOW_VERSION, workflow_version),
        ]
        return TypedSearchAttributes([p for p in pairs if p.key.name in registered])

    async def _registered_attributes(self) -> frozenset[str]:
        if self._registered is not None:
            return self._registered
        client = await self.client()
        namespace = self._settings.temporal_namespace
        request = ListSearchAttributesRequest(namespace=namespace)
        try:
            response = await client.operator_service.list_search_attributes(
                request, timeout=timedelta(seconds=5)
            )
            names = frozenset(response.custom_attributes) & set(SEARCH_ATTRIBUTES)
        except RPCError as exc:
            logger.warning("cannot list Temporal search attributes: %s", exc)
            names = frozenset()
        missing = set(SEARCH_ATTRIBUTES) - names
        if missing:
            logger.warning(
                "Temporal namespace %s lacks search attributes %s; executions start "
                "without them",
                namespace,
                ", ".join(sorted(missing)),
            )
        self._registered = names
        return names
