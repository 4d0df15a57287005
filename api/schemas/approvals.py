from datetime import datetime

from pydantic import BaseModel, Field, StrictBool


class ApprovalCreate(BaseModel):
    node_id: str = Field(min_length=1)
    # Strict: "yes" or 1 is a client's mistake, not an approval.
    approved: StrictBool
    comment: str | None = Field(default=None, max_length=5000)


class ApprovalRead(BaseModel):
    """The decision as the `approval` node received it (its output)."""

    execution_id: str
    node_id: str
    approved: bool
    comment: str | None = None
    by: str
    at: datetime
