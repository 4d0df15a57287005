from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from tests.workflows_runtime.helpers import Runner, running


@pytest.fixture
async def runner(temporal_client: Client, task_queue: str) -> AsyncIterator[Runner]:
    async with running(temporal_client, task_queue) as current:
        yield current
