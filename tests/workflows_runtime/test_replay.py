"""Recorded histories replay on today's interpreter: running executions survive.

Re-record them with `.venv/bin/python -m tests.workflows_runtime.record_histories`
only after a deliberate, versioned change to the commands the interpreter issues.
"""

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows_runtime.interpreter import ExecutionWorkflow
from workflows_runtime.node_types import NODE_TYPES

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    saved: dict[str, Any] = json.loads(path.read_text())
    return saved


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_a_recorded_history_replays_without_nondeterminism(path: Path) -> None:
    saved = load(path)
    history = WorkflowHistory.from_json(saved["workflow_id"], saved["history"])
    replayer = Replayer(
        workflows=[ExecutionWorkflow], data_converter=pydantic_data_converter
    )

    await replayer.replay_workflow(history)


def test_the_recorded_histories_cover_every_node_type() -> None:
    covered: set[str] = set()
    for path in HISTORIES:
        first = load(path)["history"]["events"][0]
        payload = first["workflowExecutionStartedEventAttributes"]["input"]
        params = json.loads(base64.b64decode(payload["payloads"][0]["data"]))
        covered |= {node["type"] for node in params["definition"]["nodes"]}
    assert covered == set(NODE_TYPES)
