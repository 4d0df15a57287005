"""The baseline the interpreter is measured against: a workflow written by hand that
calls `send_http_request` in a chain, with the options the `http` node uses."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows_runtime.http_node import (
        DEFAULT_HTTP_TIMEOUT_SECONDS,
        HTTP_ACTIVITY_GRACE,
        HTTP_HEARTBEAT_TIMEOUT,
    )
    from workflows_runtime.models import (
        SEND_HTTP_REQUEST_ACTIVITY,
        HttpRequest,
        HttpResponse,
    )


@workflow.defn(name="HandWrittenChainWorkflow")
class HandWrittenChainWorkflow:
    @workflow.run
    async def run(self, urls: list[str]) -> list[int]:
        statuses = []
        for url in urls:
            response = await workflow.execute_activity(
                SEND_HTTP_REQUEST_ACTIVITY,
                HttpRequest(url=url),
                result_type=HttpResponse,
                start_to_close_timeout=timedelta(seconds=DEFAULT_HTTP_TIMEOUT_SECONDS)
                + HTTP_ACTIVITY_GRACE,
                heartbeat_timeout=HTTP_HEARTBEAT_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            statuses.append(response.status)
        return statuses
