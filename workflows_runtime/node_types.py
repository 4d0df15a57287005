"""The registry of node types: what each accepts in `data` and how it may branch.

Adding a type means adding a `NodeType` here (what validation needs), a check in
`workflows_runtime.node_checks` and a runner in `workflows_runtime.nodes` (what the
interpreter does with it).
"""

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from workflows_runtime import node_checks as checks
from workflows_runtime.errors import NodeFailure
from workflows_runtime.limits import MAX_DURATION_SECONDS
from workflows_runtime.node_checks import SettingsCheck

# Settings every node takes; none of them is a template.
COMMON_SETTINGS = frozenset({"retry", "timeout_seconds", "on_error"})
ERROR_BRANCH = "error"
DEFAULT_BRANCH = "default"


class RetrySettings(BaseModel):
    """A node's `retry` setting; the interpreter runs every attempt itself."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=1, ge=1, le=100)
    initial_interval_seconds: float = Field(default=1.0, gt=0, le=MAX_DURATION_SECONDS)
    # Bounded so that growing the interval over 100 attempts stays a finite number.
    backoff_coefficient: float = Field(default=2.0, ge=1, le=100)
    max_interval_seconds: float = Field(default=30.0, gt=0, le=MAX_DURATION_SECONDS)
    non_retryable_errors: list[str] = Field(default_factory=list)
    # An `http` answer with one of these statuses is retried even though it is a 4xx.
    retry_on_status: list[int] = Field(default_factory=list)

    def allows(self, failure: NodeFailure) -> bool:
        """Whether `failure` may be retried (attempts left aside)."""
        if failure.type in self.non_retryable_errors:
            return False
        if failure.type == "HttpStatusError" and isinstance(failure.details, dict):
            # The activity marks a 4xx final; a status listed here overrides that.
            if failure.details.get("status") in self.retry_on_status:
                return True
        return not failure.non_retryable

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before `attempt` (2 for the first retry)."""
        grown = self.initial_interval_seconds * self.backoff_coefficient ** (
            attempt - 2
        )
        return min(grown, self.max_interval_seconds)


@dataclass(frozen=True)
class NodeType:
    name: str
    required: tuple[str, ...] = ()
    # Settings whose strings are not `${...}` templates (or are rendered later).
    literal_settings: frozenset[str] = frozenset()
    # Branches its outgoing edges may carry besides "error"; None is an unlabelled edge.
    branches: frozenset[str | None] = frozenset({None})
    # `switch`: any label is a branch.
    any_branch: bool = False
    default_retry: RetrySettings = field(default_factory=lambda: RetrySettings())
    check: SettingsCheck | None = None

    def is_template(self, setting: str) -> bool:
        return setting not in COMMON_SETTINGS and setting not in self.literal_settings


_CHILD_SETTINGS = frozenset({"workflow_id"})

NODE_TYPES: dict[str, NodeType] = {
    spec.name: spec
    for spec in (
        NodeType(
            "start",
            literal_settings=frozenset({"input_schema"}),
            check=checks.check_start,
        ),
        NodeType("transform", required=("output",)),
        NodeType(
            "condition",
            required=("expression",),
            literal_settings=frozenset({"expression"}),
            branches=frozenset({"true", "false"}),
            check=checks.check_expression,
        ),
        NodeType(
            "switch",
            required=("expression",),
            literal_settings=frozenset({"expression"}),
            any_branch=True,
            check=checks.check_expression,
        ),
        NodeType(
            "http",
            required=("url",),
            default_retry=RetrySettings(max_attempts=3),
            check=checks.check_http,
        ),
        NodeType("delay", check=checks.check_delay),
        NodeType(
            "approval",
            branches=frozenset({"approved", "rejected", "timeout"}),
            check=checks.check_approval,
        ),
        NodeType(
            "sub_workflow",
            required=("workflow_id",),
            literal_settings=_CHILD_SETTINGS,
            check=checks.check_sub_workflow,
        ),
        NodeType(
            "foreach",
            required=("items", "workflow_id"),
            # `input` is rendered once per item, with `item` and `index` set.
            literal_settings=_CHILD_SETTINGS | {"input", "max_concurrency"},
            check=checks.check_foreach,
        ),
        NodeType(
            "validate",
            required=("schema", "value"),
            literal_settings=frozenset({"schema"}),
            check=checks.check_validate,
        ),
        NodeType("fail", required=("message",), check=checks.check_fail),
        NodeType("end"),
    )
}

# Types that name other workflows, resolved when an execution starts.
CHILD_NODE_TYPES = frozenset({"sub_workflow", "foreach"})
