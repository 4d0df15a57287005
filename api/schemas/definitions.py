from typing import Any

from pydantic import BaseModel

from workflows_runtime.definition import Problem


class DefinitionCheck(BaseModel):
    definition: Any


class DefinitionDiagnostics(BaseModel):
    """`valid` is false when there is any error; warnings never block a save."""

    valid: bool
    errors: list[Problem]
    warnings: list[Problem]
