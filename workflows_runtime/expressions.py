"""`${...}` templates over JMESPath.

A string that is exactly `${expr}` renders to the value of `expr` with its JSON type;
a string with `${...}` among other text renders to text, non-string values as compact
JSON; `$${` is a literal `${`. Templates nest inside any JSON value: dicts and lists are
rendered item by item, other scalars are returned as they are.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.functions import Functions
from jmespath.parser import ParsedResult

from workflows_runtime.errors import ExpressionError

_KNOWN_FUNCTIONS = frozenset(Functions.FUNCTION_TABLE)
_QUOTES = "'\"`"
# Both caches grow with every distinct expression text; a worker that sees an endless
# stream of new definitions drops them wholesale rather than tracking recency.
_CACHE_LIMIT = 4096
_COMPILED: dict[str, ParsedResult] = {}
_TEMPLATES: dict[str, "Template"] = {}


@dataclass(frozen=True)
class Expression:
    text: str
    parsed: ParsedResult


@dataclass(frozen=True)
class Template:
    parts: tuple[str | Expression, ...]

    @property
    def is_single_expression(self) -> bool:
        return len(self.parts) == 1 and isinstance(self.parts[0], Expression)


@dataclass(frozen=True)
class ExpressionProblem:
    """A malformed template at `path` (dotted keys, `[i]` for list items)."""

    path: str
    expression: str
    message: str


class _UnfinishedStep(Exception):
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id


class FinishedSteps(dict[str, Any]):
    """The `steps` context: reading a node that has not finished is an error, not null.

    JMESPath reads object fields through `.get`, so overriding it is enough to tell a
    typo or a race (a step that has not run yet) apart from a finished step whose value
    is null.
    """

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            raise _UnfinishedStep(key)
        return self[key]


def compile_expression(text: str) -> ParsedResult:
    """Compile one JMESPath expression, or raise `ExpressionError`."""
    cached = _COMPILED.get(text)
    if cached is not None:
        return cached
    if not text.strip():
        raise ExpressionError(text, "empty expression")
    try:
        parsed = jmespath.compile(text)
    except JMESPathError as error:
        raise ExpressionError(text, _first_line(error)) from None
    unknown = sorted(_function_names(parsed.parsed) - _KNOWN_FUNCTIONS)
    if unknown:
        raise ExpressionError(text, f"unknown function {', '.join(unknown)}()")
    _remember(_COMPILED, text, parsed)
    return parsed


def parse_template(text: str) -> Template:
    """Split a string into literal text and compiled expressions."""
    cached = _TEMPLATES.get(text)
    if cached is not None:
        return cached
    template = Template(tuple(_split(text)))
    _remember(_TEMPLATES, text, template)
    return template


def check_templates(tree: Any, path: str = "") -> list[ExpressionProblem]:
    """Every malformed template in a JSON tree, with its path inside the tree."""
    if isinstance(tree, str):
        try:
            parse_template(tree)
        except ExpressionError as error:
            return [ExpressionProblem(path, error.expression, str(error))]
        return []
    problems: list[ExpressionProblem] = []
    for key, child in _children(tree):
        problems += check_templates(child, _join(path, key))
    return problems


def render(tree: Any, context: Mapping[str, Any]) -> Any:
    """Evaluate every template in a JSON tree against `context`.

    Raises `ExpressionError` naming the expression when one fails to evaluate or reads a
    step that has not finished.
    """
    if isinstance(tree, str):
        return _render_string(tree, context)
    if isinstance(tree, dict):
        return {key: render(value, context) for key, value in tree.items()}
    if isinstance(tree, list):
        return [render(item, context) for item in tree]
    return tree


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """Evaluate one bare JMESPath expression (no `${...}`) against `context`."""
    return _search(Expression(text, compile_expression(text)), context)


def is_truthy(value: Any) -> bool:
    """JMESPath truthiness: null, false, "", [] and {} are false; all else is true."""
    return not (value is None or value is False or value in ("", [], {}))


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _render_string(text: str, context: Mapping[str, Any]) -> Any:
    if "${" not in text:
        return text
    template = parse_template(text)
    if template.is_single_expression:
        return _search(template.parts[0], context)  # type: ignore[arg-type]
    pieces = [
        part if isinstance(part, str) else to_text(_search(part, context))
        for part in template.parts
    ]
    return "".join(pieces)


def _search(expression: Expression, context: Mapping[str, Any]) -> Any:
    try:
        return expression.parsed.search(context)
    except _UnfinishedStep as missing:
        reason = f"steps.{missing.node_id} has not finished (or does not exist)"
        raise ExpressionError(expression.text, reason) from None
    except (JMESPathError, TypeError, ValueError, ArithmeticError) as error:
        raise ExpressionError(expression.text, _first_line(error)) from None


def _split(text: str) -> list[str | Expression]:
    parts: list[str | Expression] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("$${", index):
            literal.append("${")
            index += 3
        elif text.startswith("${", index):
            end = _closing_brace(text, index + 2)
            if end is None:
                raise ExpressionError(text[index:], "missing closing `}`")
            source = text[index + 2 : end].strip()
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Expression(source, compile_expression(source)))
            index = end + 1
        else:
            following = text.find("$", index + 1)
            following = len(text) if following == -1 else following
            literal.append(text[index:following])
            index = following
    if literal:
        parts.append("".join(literal))
    return parts


def _closing_brace(text: str, start: int) -> int | None:
    """Index of the `}` closing a `${`, skipping braces inside JMESPath quotes."""
    depth = 1
    index = start
    while index < len(text):
        char = text[index]
        if char in _QUOTES:
            after = _skip_quoted(text, index)
            if after is None:
                return None
            index = after
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def _skip_quoted(text: str, start: int) -> int | None:
    quote = text[start]
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == quote:
            return index + 1
        else:
            index += 1
    return None


def _function_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        if node.get("type") == "function_expression":
            names.add(node["value"])
        for child in node.get("children", []):
            names |= _function_names(child)
    return names


def _children(tree: Any) -> list[tuple[str | int, Any]]:
    if isinstance(tree, dict):
        return list(tree.items())
    if isinstance(tree, list):
        return list(enumerate(tree))
    return []


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _remember(cache: dict[str, Any], key: str, value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _first_line(error: Exception) -> str:
    # jmespath adds the expression and a caret on further lines; we name it ourselves.
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    return lines[0].removesuffix(", for expression:")


def json_strings(tree: Any) -> Iterator[str]:
    """Every string value in a JSON tree (object keys aside), depth first."""
    if isinstance(tree, str):
        yield tree
    elif isinstance(tree, dict):
        for value in tree.values():
            yield from json_strings(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from json_strings(item)
