from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class WorkflowCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    definition: dict[str, Any]
    is_active: bool = True


class WorkflowRead(BaseModel):
    id: str
    owner_id: str
    name: str
    description: str
    is_active: bool
    version: int
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime
