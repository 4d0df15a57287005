"""Request and response models, named as families per resource."""

from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationInfo

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    data: T
    message: str = "Operation completed successfully"


class Pagination(BaseModel):
    page: int
    limit: int
    total: int
    pages: int


class Page(BaseModel, Generic[T]):
    """The envelope of a list: one page of items and where it lies in the whole."""

    success: bool = True
    data: list[T]
    pagination: Pagination
    message: str = "Operation completed successfully"


def refuse_null(value: object, info: ValidationInfo) -> object:
    """For partial updates: a field left out keeps its value, so null is refused
    rather than silently meaning the same."""
    if value is None:
        raise ValueError(f"{info.field_name} cannot be null; leave it out to keep it")
    return value
