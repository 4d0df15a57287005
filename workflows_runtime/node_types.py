"""The registry of node types: what each accepts in `data` and how it may branch.

Adding a type means adding a `NodeType` here (what validation needs) and a runner in
`workflows_runtime.nodes` (what the interpreter does with it).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from jsonschema.protocols import Validator
from pydantic import BaseModel, ConfigDict, Field

from workflows_runtime.errors import ExpressionError
from workflows_runtime.expressions import compile_expression, parse_template

# Settings every node takes; none of them is a template.
COMMON_SETTINGS = frozenset({"retry", "timeout_seconds", "on_error"})
ERROR_BRANCH = "error"
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class RetrySettings(BaseModel):
    """A node's `retry` setting; the interpreter runs every attempt itself."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=1, ge=1)
    initial_interval_seconds: float = Field(default=1.0, gt=0)
    backoff_coefficient: float = Field(default=2.0, ge=1)
    max_interval_seconds: float = Field(default=30.0, gt=0)
    non_retryable_errors: list[str] = Field(default_factory=list)

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before `attempt` (2 for the first retry)."""
        grown = self.initial_interval_seconds * self.backoff_coefficient ** (
            attempt - 2
        )
        return min(grown, self.max_interval_seconds)


@dataclass(frozen=True)
class SettingProblem:
    code: str
    path: str
    message: str


SettingsCheck = Callable[[dict[str, Any]], list[SettingProblem]]


@dataclass(frozen=True)
class NodeType:
    name: str
    required: tuple[str, ...] = ()
    # Settings whose strings are not `${...}` templates.
    literal_settings: frozenset[str] = frozenset()
    # Branches its outgoing edges may carry besides "error"; None is an unlabelled edge.
    branches: frozenset[str | None] = frozenset({None})
    default_retry: RetrySettings = field(default_factory=lambda: RetrySettings())
    check: SettingsCheck | None = None

    def is_template(self, setting: str) -> bool:
        return setting not in COMMON_SETTINGS and setting not in self.literal_settings


def input_schema_validator(schema: Any) -> Validator:
    """A validator for a `start.input_schema`: Draft 2020-12 unless `$schema` says else.

    Raises `jsonschema.SchemaError` when the schema itself is invalid.
    """
    if not isinstance(schema, dict | bool):
        raise jsonschema.SchemaError("a JSON Schema must be an object or a boolean")
    cls = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _check_start(data: dict[str, Any]) -> list[SettingProblem]:
    if data.get("input_schema") is None:
        return []
    try:
        input_schema_validator(data["input_schema"])
    except jsonschema.SchemaError as error:
        message = f"input_schema is not a valid JSON Schema: {error.message}"
        return [SettingProblem("invalid_input_schema", "input_schema", message)]
    return []


def _check_condition(data: dict[str, Any]) -> list[SettingProblem]:
    expression = data.get("expression")
    if not isinstance(expression, str):
        return []
    try:
        if "${" in expression:
            parse_template(expression)
        else:
            compile_expression(expression)
    except ExpressionError as error:
        return [SettingProblem("invalid_expression", "expression", str(error))]
    return []


def _check_http(data: dict[str, Any]) -> list[SettingProblem]:
    problems = []
    method = data.get("method", "GET")
    if not _is_template_or(
        method, lambda m: isinstance(m, str) and m.upper() in HTTP_METHODS
    ):
        allowed = ", ".join(sorted(HTTP_METHODS))
        problems.append(_invalid("method", f"method must be one of {allowed}"))
    if data.get("url") is not None and not _is_template_or(data["url"], _is_text):
        problems.append(_invalid("url", "url must be a string"))
    for name in ("headers", "query"):
        if not _is_template_or(data.get(name, {}), lambda v: isinstance(v, dict)):
            problems.append(_invalid(name, f"{name} must be an object"))
    if not _is_template_or(data.get("expect_status"), _is_status_list):
        message = "expect_status must be a list of HTTP status codes (100-599)"
        problems.append(_invalid("expect_status", message))
    return problems


def _is_template_or(value: Any, valid: Callable[[Any], bool]) -> bool:
    return (isinstance(value, str) and "${" in value) or valid(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_status_list(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, list) and all(
        isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599
        for code in value
    )


def _invalid(path: str, message: str) -> SettingProblem:
    return SettingProblem("invalid_setting", path, message)


NODE_TYPES: dict[str, NodeType] = {
    spec.name: spec
    for spec in (
        NodeType(
            "start", literal_settings=frozenset({"input_schema"}), check=_check_start
        ),
        NodeType("transform", required=("output",)),
        NodeType(
            "condition",
            required=("expression",),
            literal_settings=frozenset({"expression"}),
            branches=frozenset({"true", "false"}),
            check=_check_condition,
        ),
        NodeType(
            "http",
            required=("url",),
            default_retry=RetrySettings(max_attempts=3),
            check=_check_http,
        ),
        NodeType("end"),
    )
}

# Types DESIGN.md describes that this version does not run yet.
PLANNED_NODE_TYPES = frozenset(
    {"switch", "delay", "approval", "sub_workflow", "foreach", "validate", "fail"}
)
