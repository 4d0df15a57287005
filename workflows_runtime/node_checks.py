"""Checks of each node type's settings, run when a definition is validated.

Each check takes a node's `data` and returns what is wrong with it; a setting that is
a `${...}` template is checked when the node runs instead.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

from workflows_runtime.errors import ExpressionError
from workflows_runtime.expressions import compile_expression, parse_template
from workflows_runtime.limits import MAX_DURATION_SECONDS, MAX_FOREACH_CONCURRENCY

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class SettingProblem:
    code: str
    path: str
    message: str


SettingsCheck = Callable[[dict[str, Any]], list[SettingProblem]]


def schema_validator(schema: Any) -> Validator:
    """A validator for a JSON Schema: Draft 2020-12 unless `$schema` says else.

    Raises `jsonschema.SchemaError` when the schema itself is invalid.
    """
    if not isinstance(schema, dict | bool):
        raise jsonschema.SchemaError("a JSON Schema must be an object or a boolean")
    cls = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date-time; one without an offset is read as UTC. ValueError else."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_start(data: dict[str, Any]) -> list[SettingProblem]:
    return _check_schema(data, "input_schema")


def check_validate(data: dict[str, Any]) -> list[SettingProblem]:
    return _check_schema(data, "schema")


def check_expression(data: dict[str, Any]) -> list[SettingProblem]:
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


def check_http(data: dict[str, Any]) -> list[SettingProblem]:
    problems = []
    method = data.get("method", "GET")
    if not _is_template_or(
        method, lambda m: isinstance(m, str) and m.upper() in HTTP_METHODS
    ):
        allowed = ", ".join(sorted(HTTP_METHODS))
        problems.append(_invalid("method", f"method must be one of {allowed}"))
    if data.get("url") is not None and not _is_template_or(data["url"], _is_web_url):
        problems.append(_invalid("url", "url must be an http:// or https:// URL"))
    for name in ("headers", "query"):
        if not _is_template_or(data.get(name, {}), lambda v: isinstance(v, dict)):
            problems.append(_invalid(name, f"{name} must be an object"))
    if not _is_template_or(data.get("expect_status"), _is_status_list):
        message = "expect_status must be a list of HTTP status codes (100-599)"
        problems.append(_invalid("expect_status", message))
    return problems


def check_delay(data: dict[str, Any]) -> list[SettingProblem]:
    has_seconds, has_until = "seconds" in data, "until" in data
    if has_seconds == has_until:
        return [_missing("delay needs data.seconds or data.until, not both", "seconds")]
    if has_seconds and not _is_template_or(data["seconds"], _is_non_negative):
        limit = f"{MAX_DURATION_SECONDS} (ten years)"
        message = f"seconds must be a number from 0 to {limit}"
        return [_invalid("seconds", message)]
    if has_until and not _is_template_or(data["until"], _is_instant):
        message = "until must be an ISO 8601 date-time, e.g. 2030-01-31T09:00:00Z"
        return [_invalid("until", message)]
    return []


def check_approval(data: dict[str, Any]) -> list[SettingProblem]:
    if "message" in data and not _is_text(data["message"]):
        return [_invalid("message", "message must be a string")]
    return []


def check_sub_workflow(data: dict[str, Any]) -> list[SettingProblem]:
    workflow_id = data.get("workflow_id")
    if workflow_id is not None and not _is_text(workflow_id):
        return [_invalid("workflow_id", "workflow_id must be a workflow's id")]
    if _is_text(workflow_id) and "${" in workflow_id:
        message = "workflow_id is resolved when the execution starts: no templates"
        return [_invalid("workflow_id", message)]
    return []


def check_foreach(data: dict[str, Any]) -> list[SettingProblem]:
    problems = check_sub_workflow(data)
    if not _is_template_or(data.get("items", []), lambda v: isinstance(v, list)):
        problems.append(_invalid("items", "items must be a list or a template"))
    concurrency = data.get("max_concurrency", 1)
    if not _is_int(concurrency) or not 1 <= concurrency <= MAX_FOREACH_CONCURRENCY:
        message = (
            f"max_concurrency must be a whole number from 1 to "
            f"{MAX_FOREACH_CONCURRENCY}"
        )
        problems.append(_invalid("max_concurrency", message))
    return problems


def check_fail(data: dict[str, Any]) -> list[SettingProblem]:
    if "code" in data and not _is_text(data["code"]):
        return [_invalid("code", "code must be a string")]
    return []


def _check_schema(data: dict[str, Any], setting: str) -> list[SettingProblem]:
    if data.get(setting) is None:
        return []
    try:
        schema_validator(data[setting])
    except jsonschema.SchemaError as error:
        message = f"{setting} is not a valid JSON Schema: {error.message}"
        return [SettingProblem(f"invalid_{setting}", setting, message)]
    return []


def _is_template_or(value: Any, valid: Callable[[Any], bool]) -> bool:
    return (isinstance(value, str) and "${" in value) or valid(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_web_url(value: Any) -> bool:
    # A URL that starts with an expression is checked when it is rendered instead.
    return isinstance(value, str) and (
        value.lower().startswith(("http://", "https://")) or value.startswith("${")
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_non_negative(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 <= value <= MAX_DURATION_SECONDS
    )


def _is_instant(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_instant(value)
    except ValueError:
        return False
    return True


def _is_status_list(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, list) and all(
        _is_int(code) and 100 <= code <= 599 for code in value
    )


def _invalid(path: str, message: str) -> SettingProblem:
    return SettingProblem("invalid_setting", path, message)


def _missing(message: str, path: str) -> SettingProblem:
    return SettingProblem("missing_setting", path, message)
