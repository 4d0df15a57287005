import pytest

from workflows_runtime.errors import ExpressionError
from workflows_runtime.expressions import (
    FinishedSteps,
    check_templates,
    is_truthy,
    parse_template,
    render,
)

CONTEXT = {
    "input": {"name": "Ada", "count": 3, "tags": ["a", "b"], "missing": None},
    "steps": FinishedSteps({"fetch": {"status": "completed", "output": {"id": 7}}}),
}


def test_a_whole_string_expression_keeps_its_json_type() -> None:
    assert render("${input.count}", CONTEXT) == 3
    assert render("${input.tags}", CONTEXT) == ["a", "b"]
    assert render("${input.missing}", CONTEXT) is None


def test_an_expression_among_text_is_interpolated_as_text() -> None:
    assert render("hi ${input.name}, ${input.count}", CONTEXT) == "hi Ada, 3"


def test_non_strings_are_interpolated_as_compact_json() -> None:
    assert render("tags=${input.tags} none=${input.missing}", CONTEXT) == (
        'tags=["a","b"] none=null'
    )


def test_a_doubled_dollar_is_a_literal_template_opening() -> None:
    assert (
        render("cost: $${input.count} and $5", CONTEXT) == "cost: ${input.count} and $5"
    )


def test_templates_render_inside_nested_dicts_and_lists() -> None:
    tree = {
        "a": ["${input.name}", {"b": "${steps.fetch.output.id}"}],
        "n": 1,
        "t": True,
    }
    assert render(tree, CONTEXT) == {"a": ["Ada", {"b": 7}], "n": 1, "t": True}


def test_braces_and_quotes_inside_an_expression_do_not_end_it() -> None:
    assert render("${ {n: input.name, x: '}'} }", CONTEXT) == {"n": "Ada", "x": "}"}
    assert render('${`{"k": 1}`.k}', CONTEXT) == 1


def test_reading_a_step_that_has_not_finished_names_the_expression() -> None:
    with pytest.raises(
        ExpressionError, match=r"steps\.later\.output.*has not finished"
    ):
        render("${steps.later.output}", CONTEXT)


def test_a_runtime_error_names_the_expression() -> None:
    with pytest.raises(ExpressionError, match="sort_by"):
        render("${sort_by(input.tags, &x)}", CONTEXT)


def test_check_reports_malformed_expressions_with_their_path() -> None:
    tree = {"ok": "${input.a}", "bad": ["x", "${input.}"], "open": "${input.a"}
    problems = check_templates(tree)
    assert [p.path for p in problems] == ["bad[1]", "open"]
    assert "missing closing" in problems[1].message


def test_check_refuses_unknown_functions_and_empty_expressions() -> None:
    problems = check_templates({"f": "${nope(input)}", "e": "${ }"})
    assert "unknown function nope()" in problems[0].message
    assert "empty expression" in problems[1].message


def test_compiled_templates_are_cached() -> None:
    assert parse_template("a ${input.x} b") is parse_template("a ${input.x} b")


@pytest.mark.parametrize(
    ("value", "truthy"),
    [(None, False), (False, False), ("", False), ([], False), ({}, False), (0, True)],
)
def test_truthiness_follows_jmespath(value: object, truthy: bool) -> None:
    assert is_truthy(value) is truthy
