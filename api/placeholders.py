"""Template placeholders: `{{name}}` in a definition, filled in with typed values.

Substitution walks the parsed JSON tree, never its text, so a value can only ever take
the place of the string it was written in:
- a string that is exactly one placeholder becomes the value with its JSON type;
- a placeholder among other text is replaced by the value as text (a string as it is,
  null as nothing, anything else as compact JSON).
Object keys are left as they are.
"""

import copy
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import jsonschema

from api.schemas.templates import TemplateParameter
from workflows_runtime.expressions import json_strings
from workflows_runtime.limits import json_size

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

_TYPE_SCHEMA = {
    "string": {"minLength": "min_length", "maxLength": "max_length"},
    "array": {"minItems": "min_length", "maxItems": "max_length"},
    "number": {"minimum": "min", "maximum": "max"},
}


def placeholders(tree: Any) -> set[str]:
    """Names of every placeholder in the strings of `tree`."""
    return {match.group(1) for text in json_strings(tree) for match in _finds(text)}


def fill(tree: Any, values: dict[str, Any]) -> Any:
    """A copy of `tree` with every placeholder replaced by its value in `values`."""
    if isinstance(tree, str):
        whole = PLACEHOLDER.fullmatch(tree)
        if whole:
            return copy.deepcopy(values[whole.group(1)])
        return PLACEHOLDER.sub(lambda match: _as_text(values[match.group(1)]), tree)
    if isinstance(tree, dict):
        return {key: fill(value, values) for key, value in tree.items()}
    if isinstance(tree, list):
        return [fill(item, values) for item in tree]
    return tree


def filled_size(tree: Any, values: dict[str, Any]) -> int:
    """Bytes of `fill(tree, values)` as compact JSON, counted without building it.

    Each occurrence adds its value's size and takes away its placeholder's, so a
    template repeating a placeholder cannot make a huge definition before the
    definition limit is checked.
    """
    whole = {name: json_size(value) for name, value in values.items()}
    inline = {name: json_size(_as_text(value)) - 2 for name, value in values.items()}
    size = json_size(tree)
    for text in json_strings(tree):
        match = PLACEHOLDER.fullmatch(text)
        if match:
            size += whole[match.group(1)] - json_size(text)
            continue
        for match in _finds(text):
            size += inline[match.group(1)] - (json_size(match.group(0)) - 2)
    return size


def resolve_values(
    parameters: list[TemplateParameter], given: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The value of every parameter (given, else its default), and one problem per
    missing, unknown or invalid value, naming its `field`."""
    values: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    known = {parameter.name for parameter in parameters}
    for name in sorted(set(given) - known):
        problems.append(_problem(name, "is not a parameter of this template"))
    for parameter in parameters:
        if parameter.name in given:
            value = given[parameter.name]
        elif parameter.required:
            problems.append(_problem(parameter.name, "is required"))
            continue
        else:
            value = parameter.default
        error = value_error(parameter, value)
        if error is not None and not (value is None and not parameter.required):
            problems.append(_problem(parameter.name, error))
            continue
        values[parameter.name] = value
    return values, problems


def value_error(parameter: TemplateParameter, value: Any) -> str | None:
    """Why `value` breaks the parameter's rules, or None when it does not."""
    if _has_non_finite(value):
        # JSON has no NaN or infinity: stored, they would turn into null or fail.
        return "must hold only finite numbers, not NaN or infinity"
    validator = jsonschema.Draft202012Validator(json_schema(parameter))
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    return None if error is None else error.message


def json_schema(parameter: TemplateParameter) -> dict[str, Any]:
    """The JSON Schema that a value of `parameter` must satisfy."""
    schema: dict[str, Any] = {"type": parameter.type}
    for keyword, rule in _TYPE_SCHEMA.get(parameter.type, {}).items():
        if getattr(parameter, rule) is not None:
            schema[keyword] = getattr(parameter, rule)
    if parameter.pattern is not None:
        schema["pattern"] = parameter.pattern
    if parameter.enum is not None:
        schema["enum"] = parameter.enum
    return schema


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(item) for item in value)
    return False


def _problem(name: str, message: str) -> dict[str, str]:
    return {"field": f"parameters.{name}", "message": f"{name} {message}"}


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _finds(text: str) -> Iterator[re.Match[str]]:
    return PLACEHOLDER.finditer(text)
