from typing import Any

import pytest

from workflows_runtime.definition import Problem, validate_definition
from workflows_runtime.inputs import check_input
from workflows_runtime.limits import MAX_DURATION_SECONDS, MAX_NODES


def node(node_id: str, type: str = "transform", **data: Any) -> dict[str, Any]:
    if type == "transform":
        data.setdefault("output", 1)
    return {"id": node_id, "type": type, "data": data}


def edge(source: str, target: str, branch: str | None = None) -> dict[str, Any]:
    return {"source": source, "target": target, "branch": branch}


def definition(
    *nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"nodes": list(nodes), "edges": edges or []}


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_a_well_formed_definition_has_no_problems() -> None:
    valid = definition(
        node("start", "start", input_schema={"type": "object"}),
        node("check", "condition", expression="input.ok"),
        node(
            "call",
            "http",
            url="http://example.com/${input.id}",
            retry={"max_attempts": 2},
        ),
        node("done", "end", output={"result": "${steps.call.output.body}"}),
        edges=[
            edge("start", "check"),
            edge("check", "call", "true"),
            edge("check", "done", "false"),
            edge("call", "done"),
            edge("call", "done", "error"),
        ],
    )
    assert validate_definition(valid) == []


def test_visual_builder_extras_are_kept_and_ignored() -> None:
    extra = {**node("a"), "position": {"x": 1, "y": 2}, "width": 100, "selected": True}
    assert validate_definition({"nodes": [extra], "edges": [], "viewport": {}}) == []


def test_a_definition_must_be_an_object_with_a_node_list() -> None:
    assert only(validate_definition([])).code == "invalid_shape"
    problem = only(validate_definition({"nodes": "x"}))
    assert (problem.code, problem.path) == ("invalid_shape", "nodes")


def test_shape_errors_name_the_node_and_field() -> None:
    problems = validate_definition(definition(node("a"), {"id": "b", "data": []}))
    assert {p.path for p in problems} == {"nodes[1].type", "nodes[1].data"}
    assert all(p.node_id == "b" and p.code == "invalid_shape" for p in problems)


def test_all_problems_are_reported_at_once() -> None:
    broken = definition(node("a", "mystery"), node("a"), edges=[edge("a", "nowhere")])
    codes = {p.code for p in validate_definition(broken)}
    assert codes == {"unknown_node_type", "duplicate_node_id", "unknown_edge_target"}


def test_a_definition_needs_at_least_one_node() -> None:
    assert only(validate_definition(definition())).code == "no_nodes"


def test_more_nodes_than_the_limit_are_refused() -> None:
    many = definition(*(node(f"n{i}", "end") for i in range(MAX_NODES + 1)))
    problem = only(validate_definition(many))
    assert problem.code == "too_many_nodes"
    assert "500 nodes" in problem.message


def test_a_definition_over_256_kb_is_refused() -> None:
    big = definition(node("a", output="x" * 300_000))
    problem = only(validate_definition(big))
    assert problem.code == "definition_too_large"
    assert "256 KB" in problem.message


def test_a_node_needs_an_id() -> None:
    problem = only(validate_definition(definition({"type": "end"})))
    assert (problem.code, problem.path) == ("invalid_shape", "nodes[0].id")


def test_an_unknown_node_type_is_refused_listing_the_supported_ones() -> None:
    problem = only(validate_definition(definition(node("loop", "while"))))
    assert problem.code == "unknown_node_type"
    assert "foreach" in problem.message


@pytest.mark.parametrize(
    ("type", "setting"),
    [("http", "url"), ("condition", "expression"), ("transform", "output")],
)
def test_each_type_requires_its_settings(type: str, setting: str) -> None:
    bare = {"id": "n", "type": type, "data": {}}
    problem = only(validate_definition(definition(bare)))
    assert (problem.code, problem.path) == (
        "missing_setting",
        f"nodes[0].data.{setting}",
    )


def test_http_settings_are_checked() -> None:
    call = node(
        "c", "http", url="http://x", method="FETCH", headers=[], expect_status=[99]
    )
    paths = {p.path for p in validate_definition(definition(call))}
    assert paths == {
        "nodes[0].data.method",
        "nodes[0].data.headers",
        "nodes[0].data.expect_status",
    }


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/x", "example.com"])
def test_an_http_url_must_be_http_or_https(url: str) -> None:
    problem = only(validate_definition(definition(node("c", "http", url=url))))
    assert problem.path == "nodes[0].data.url"


def test_http_settings_may_be_templates() -> None:
    call = node(
        "c", "http", url="${input.url}", method="${input.m}", headers="${input.h}"
    )
    assert validate_definition(definition(call)) == []


@pytest.mark.parametrize(
    ("retry", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"initial_interval_seconds": 0}, "initial_interval_seconds"),
        ({"max_interval_seconds": -1}, "max_interval_seconds"),
        ({"backoff_coefficient": 0.5}, "backoff_coefficient"),
        ({"non_retryable_errors": [1]}, "non_retryable_errors[0]"),
        ({"tries": 3}, "tries"),
    ],
)
def test_retry_settings_are_checked(retry: dict[str, Any], field: str) -> None:
    problem = only(validate_definition(definition(node("a", retry=retry))))
    assert (problem.code, problem.path) == (
        "invalid_setting",
        f"nodes[0].data.retry.{field}",
    )


@pytest.mark.parametrize("timeout", [0, -1, "5", True, 1e300, MAX_DURATION_SECONDS + 1])
def test_timeout_must_be_a_positive_number_of_at_most_ten_years(timeout: Any) -> None:
    problem = only(validate_definition(definition(node("a", timeout_seconds=timeout))))
    assert problem.path == "nodes[0].data.timeout_seconds"


@pytest.mark.parametrize(
    "retry, field",
    [
        ({"initial_interval_seconds": 1e300}, "initial_interval_seconds"),
        ({"max_interval_seconds": 1e300}, "max_interval_seconds"),
        ({"backoff_coefficient": 1e300}, "backoff_coefficient"),
    ],
)
def test_retry_intervals_are_bounded(retry: dict[str, Any], field: str) -> None:
    problem = only(validate_definition(definition(node("a", retry=retry))))
    assert problem.path == f"nodes[0].data.retry.{field}"


@pytest.mark.parametrize("seconds", [1e308, MAX_DURATION_SECONDS + 1, -1])
def test_a_delay_longer_than_ten_years_is_refused(seconds: float) -> None:
    delay = {"id": "d", "type": "delay", "data": {"seconds": seconds}}
    problem = only(validate_definition({"nodes": [delay], "edges": []}))
    assert problem.path == "nodes[0].data.seconds"
    assert "ten years" in problem.message


def test_on_error_is_fail_or_continue() -> None:
    problem = only(validate_definition(definition(node("a", on_error="ignore"))))
    assert problem.path == "nodes[0].data.on_error"
    assert validate_definition(definition(node("a", on_error="continue"))) == []


def test_malformed_expressions_are_reported_with_their_path() -> None:
    bad = node("a", output={"list": ["ok", "${input.}"]})
    problem = only(validate_definition(definition(bad)))
    assert problem.code == "invalid_expression"
    assert problem.path == "nodes[0].data.output.list[1]"
    assert problem.node_id == "a"


def test_a_condition_expression_may_be_bare_jmespath_and_is_checked() -> None:
    problem = only(
        validate_definition(definition(node("c", "condition", expression="a.[")))
    )
    assert (problem.code, problem.path) == (
        "invalid_expression",
        "nodes[0].data.expression",
    )


def test_input_schema_is_not_a_template_but_must_be_a_valid_schema() -> None:
    fine = node("s", "start", input_schema={"pattern": "^${x}$"})
    assert validate_definition(definition(fine)) == []
    broken = node("s", "start", input_schema={"type": "nonsense"})
    assert only(validate_definition(definition(broken))).code == "invalid_input_schema"


def test_edges_must_join_known_nodes() -> None:
    problems = validate_definition(definition(node("a"), edges=[edge("x", "y")]))
    assert [(p.code, p.edge) for p in problems] == [
        ("unknown_edge_source", 0),
        ("unknown_edge_target", 0),
    ]


def test_condition_edges_must_be_true_false_or_error() -> None:
    nodes = [
        node("c", "condition", expression="input"),
        node("a"),
        node("b"),
        node("e"),
    ]
    fine = [edge("c", "a", "true"), edge("c", "b", "false"), edge("c", "e", "error")]
    assert validate_definition(definition(*nodes, edges=fine)) == []
    problem = only(
        validate_definition(definition(*nodes, edges=[edge("c", "a", "yes")]))
    )
    assert (problem.code, problem.edge, problem.node_id) == ("invalid_branch", 0, "c")


def test_plain_nodes_take_no_branch_but_error() -> None:
    nodes = [node("a"), node("b")]
    problem = only(
        validate_definition(definition(*nodes, edges=[edge("a", "b", "true")]))
    )
    assert problem.code == "invalid_branch"


def test_cycles_are_refused_naming_their_nodes() -> None:
    looped = definition(
        node("a"),
        node("b"),
        node("c"),
        node("d"),
        edges=[edge("a", "b"), edge("b", "c"), edge("c", "b"), edge("c", "d")],
    )
    problem = only(validate_definition(looped))
    assert problem.code == "cycle"
    assert problem.message in ("cycle: b -> c -> b", "cycle: c -> b -> c")


def test_a_self_loop_is_a_cycle() -> None:
    problem = only(validate_definition(definition(node("a"), edges=[edge("a", "a")])))
    assert problem.message == "cycle: a -> a"


def test_at_most_one_start_node_without_incoming_edges() -> None:
    two = definition(node("s1", "start"), node("s2", "start"), edges=[edge("s1", "s2")])
    codes = [p.code for p in validate_definition(two)]
    assert codes == ["multiple_start_nodes", "start_has_incoming_edges"]


SCHEMA_DEFINITION = definition(
    node(
        "s",
        "start",
        input_schema={
            "type": "object",
            "required": ["email"],
            "properties": {"email": {"type": "string"}, "n": {"type": "integer"}},
        },
    )
)


def test_input_matching_the_schema_is_accepted() -> None:
    assert check_input(SCHEMA_DEFINITION, {"email": "a@b.c", "n": 1}) == []


def test_input_failing_the_schema_is_refused_with_paths() -> None:
    problems = check_input(SCHEMA_DEFINITION, {"n": "x"})
    assert [(p.code, p.path) for p in problems] == [
        ("invalid_input", "input"),
        ("invalid_input", "input.n"),
    ]


def test_without_a_schema_any_input_is_accepted() -> None:
    assert check_input(definition(node("a")), [1, 2]) == []


def test_input_over_256_kb_is_refused() -> None:
    problem = only(check_input(definition(node("a")), "x" * 300_000))
    assert problem.code == "input_too_large"
    assert "256 KB" in problem.message
