"""The check of an execution's input against its definition, before anything starts."""

from typing import Any

import jsonschema

from workflows_runtime.definition import Definition, Node, Problem, json_path
from workflows_runtime.limits import MAX_INPUT_BYTES, json_size, kilobytes
from workflows_runtime.node_checks import schema_validator


def check_input(definition: Definition | dict[str, Any], value: Any) -> list[Problem]:
    """Problems of an execution input: its size, then the start `input_schema`."""
    try:
        size = json_size(value)
    except (TypeError, ValueError) as error:
        return [Problem(code="invalid_input", message=f"input is not JSON: {error}")]
    if size > MAX_INPUT_BYTES:
        message = (
            f"input is {size} bytes; the limit for an execution input "
            f"is {kilobytes(MAX_INPUT_BYTES)}"
        )
        return [Problem(code="input_too_large", message=message, path="input")]
    if isinstance(definition, dict):
        definition = Definition.model_validate(definition)
    start = next((n for n in definition.nodes if n.type == "start"), None)
    if start is None or start.data.get("input_schema") is None:
        return []
    return _check_against_schema(start, value)


def _check_against_schema(start: Node, value: Any) -> list[Problem]:
    try:
        validator = schema_validator(start.data["input_schema"])
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    except jsonschema.SchemaError as error:
        message = f"input_schema is not a valid JSON Schema: {error.message}"
        return [Problem(code="invalid_input_schema", message=message, node_id=start.id)]
    except Exception as error:  # an unresolvable $ref surfaces only while validating
        message = f"input_schema could not be applied: {error}"
        return [Problem(code="invalid_input_schema", message=message, node_id=start.id)]
    return [
        Problem(
            code="invalid_input",
            message=f"{json_path('input', error.absolute_path)}: {error.message}",
            node_id=start.id,
            path=json_path("input", error.absolute_path),
        )
        for error in errors
    ]
