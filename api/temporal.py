"""The API's connection to Temporal, opened on first use: the API starts without it."""

import asyncio

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.errors import ServiceUnavailable


class TemporalGateway:
    def __init__(self, address: str, namespace: str) -> None:
        self._address = address
        self._namespace = namespace
        self._client: Client | None = None
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
        try:
            return await asyncio.wait_for(
                Client.connect(
                    self._address,
                    namespace=self._namespace,
                    data_converter=pydantic_data_converter,
                ),
                timeout=5,
            )
        except (RuntimeError, TimeoutError, OSError) as exc:
            raise ServiceUnavailable(
                f"Temporal at {self._address} is unreachable",
                code="TEMPORAL_UNAVAILABLE",
            ) from exc
