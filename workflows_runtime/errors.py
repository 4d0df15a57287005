"""The exceptions of the definition language and its interpreter.

They stay inside `workflows_runtime/`: the interpreter translates them into `NodeError`
records and, at the workflow's edge, into a Temporal `ApplicationError`.
"""

from typing import Any


class WorkflowsRuntimeError(Exception):
    """Base of every error raised by `workflows_runtime`."""


class ExpressionError(WorkflowsRuntimeError):
    """A `${...}` expression could not be compiled or evaluated."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"expression `{expression}`: {reason}")
        self.expression = expression
        self.reason = reason


class NodeFailure(WorkflowsRuntimeError):
    """A node attempt failed; `non_retryable_errors` and users match on `type`."""

    def __init__(
        self,
        type: str,
        message: str,
        details: Any = None,
        *,
        non_retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.type = type
        self.message = message
        self.details = details
        self.non_retryable = non_retryable
