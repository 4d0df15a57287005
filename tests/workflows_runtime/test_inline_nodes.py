"""`switch`, `validate` and `fail`, and how failures are retried and routed."""

import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from tests.http_peer import HttpPeer
from tests.workflows_runtime.helpers import FAST_RETRY, Runner, edge, node

ORDER_SCHEMA = {
    "type": "object",
    "required": ["sku", "qty"],
    "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
}


def switch_on_tier() -> dict:
    return {
        "nodes": [
            node("tier", "switch", expression="input.tier"),
            node("gold", "transform", output="gold path"),
            node("other", "transform", output="default path"),
        ],
        "edges": [
            edge("tier", "gold", "gold"),
            edge("tier", "other", "default"),
        ],
    }


@pytest.mark.parametrize(
    ("tier", "expected"),
    [("gold", {"gold": "gold path"}), ("tin", {"other": "default path"})],
)
async def test_a_switch_takes_the_matching_branch_else_default(
    runner: Runner, tier: str, expected: dict
) -> None:
    handle = await runner.start(switch_on_tier(), {"tier": tier})

    assert await handle.result() == expected


async def test_a_switch_on_a_number_matches_its_text(runner: Runner) -> None:
    definition = {
        "nodes": [
            node("count", "switch", expression="length(input)"),
            node("two", "transform", output="pair"),
        ],
        "edges": [edge("count", "two", "2")],
    }
    handle = await runner.start(definition, ["a", "b"])

    assert await handle.result() == {"two": "pair"}
    assert (await runner.record(handle)).nodes["count"].output == 2


async def test_validate_passes_a_matching_value_on(runner: Runner) -> None:
    check = node("check", "validate", schema=ORDER_SCHEMA, value="${input}")
    handle = await runner.start({"nodes": [check]}, {"sku": "A1", "qty": 2})

    assert await handle.result() == {"check": {"sku": "A1", "qty": 2}}


async def test_validate_fails_with_every_schema_error(runner: Runner) -> None:
    check = node("check", "validate", schema=ORDER_SCHEMA, value="${input}")
    handle = await runner.start({"nodes": [check]}, {"qty": "two"})

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, ApplicationError)
    assert raised.value.cause.type == "ValidationFailed"
    error = (await runner.record(handle)).nodes["check"].error
    assert error is not None
    assert sorted(p["path"] for p in error.details) == ["value", "value.qty"]


async def test_fail_ends_the_execution_with_its_code_and_message(
    runner: Runner,
) -> None:
    stop = node("stop", "fail", code="OutOfStock", message="no ${input.sku} left")
    handle = await runner.start({"nodes": [stop]}, {"sku": "A1"})

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, ApplicationError)
    assert raised.value.cause.type == "OutOfStock"
    record = await runner.record(handle)
    assert record.error and "no A1 left" in record.error.message
    assert record.nodes["stop"].attempts == 1


async def test_an_expression_error_can_be_routed_by_an_error_edge(
    runner: Runner,
) -> None:
    definition = {
        "nodes": [
            node("read", "transform", output="${steps.nowhere.output}"),
            node("fallback", "transform", output="${steps.read.error.type}"),
        ],
        "edges": [edge("read", "fallback", "error")],
    }
    handle = await runner.start(definition)

    assert await handle.result() == {"fallback": "ExpressionError"}
    error = (await runner.record(handle)).nodes["read"].error
    assert error is not None and "steps.nowhere.output" in error.message


async def test_a_4xx_is_retried_only_when_listed(
    runner: Runner, http_peer: HttpPeer
) -> None:
    key = uuid.uuid4().hex
    retry = {**FAST_RETRY, "max_attempts": 3, "retry_on_status": [409]}
    definition = {
        "nodes": [
            node(
                "listed",
                "http",
                url=f"{http_peer.url}/flaky/{key}?fail=1&status=409",
                retry=retry,
            ),
            node(
                "unlisted",
                "http",
                url=f"{http_peer.url}/status/404",
                retry=retry,
                on_error="continue",
            ),
        ],
    }
    handle = await runner.start(definition)

    output = await handle.result()
    assert output["listed"]["body"] == {"calls": 2}
    record = await runner.record(handle)
    assert (record.nodes["listed"].attempts, record.nodes["unlisted"].attempts) == (
        2,
        1,
    )
    listed_logs = [log for log in record.logs if log.node_id == "listed"]
    assert [log.event for log in listed_logs] == [
        "node_started",
        "node_retry",
        "node_completed",
    ]
    assert [log.attempt for log in listed_logs[1:]] == [1, 2]


async def test_a_listed_error_type_is_not_retried(
    runner: Runner, http_peer: HttpPeer
) -> None:
    retry = {
        **FAST_RETRY,
        "max_attempts": 5,
        "non_retryable_errors": ["HttpStatusError"],
    }
    call = node("call", "http", url=f"{http_peer.url}/status/503", retry=retry)
    handle = await runner.start({"nodes": [call]})

    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await runner.record(handle)).nodes["call"].attempts == 1
