from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from api.schemas import refuse_null


class WorkflowCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    definition: dict[str, Any]
    is_active: bool = True


class WorkflowUpdate(BaseModel):
    """Fields left out keep their value; a `definition` saves a new version."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    definition: dict[str, Any] | None = None
    is_active: bool | None = None

    _not_null = field_validator("name", "description", "definition", "is_active")(
        refuse_null
    )


class WorkflowSummary(BaseModel):
    id: str
    owner_id: str
    name: str
    description: str
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class WorkflowRead(WorkflowSummary):
    definition: dict[str, Any]


class WorkflowVersionRead(BaseModel):
    workflow_id: str
    version: int
    definition: dict[str, Any]
    created_at: datetime
