import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas import refuse_null

ParameterType = Literal["string", "number", "boolean", "array", "object"]
PARAMETER_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"

# Which validation rules make sense for which parameter type.
_RULES_BY_TYPE: dict[str, set[str]] = {
    "string": {"min_length", "max_length", "pattern"},
    "number": {"min", "max"},
    "boolean": set(),
    "array": {"min_length", "max_length"},
    "object": set(),
}
_RULES = {"min", "max", "min_length", "max_length", "pattern"}


class TemplateParameter(BaseModel):
    """One value asked for on instantiate, and the rules it must satisfy.

    `min`/`max` bound a number; `min_length`/`max_length` bound a string's characters
    or an array's items; `pattern` is a regular expression searched in a string
    (anchor it with `^...$` to match the whole); `enum` lists the allowed values.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=PARAMETER_NAME)
    type: ParameterType
    required: bool = False
    default: Any = None
    description: str = Field(default="", max_length=2000)
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    pattern: str | None = Field(default=None, max_length=1000)
    enum: list[Any] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _rules_fit_the_type(self) -> "TemplateParameter":
        allowed = _RULES_BY_TYPE[self.type]
        for rule in sorted(_RULES - allowed):
            if getattr(self, rule) is not None:
                raise ValueError(f"{rule} does not apply to a {self.type} parameter")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from exc
        return self


class TemplateCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    category: str = Field(default="general", min_length=1, max_length=100)
    definition: dict[str, Any]
    parameters: list[TemplateParameter] = Field(default_factory=list, max_length=100)
    is_public: bool = False


class TemplateUpdate(BaseModel):
    """Fields left out keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    category: str | None = Field(default=None, min_length=1, max_length=100)
    definition: dict[str, Any] | None = None
    parameters: list[TemplateParameter] | None = Field(default=None, max_length=100)
    is_public: bool | None = None

    _not_null = field_validator(
        "name", "description", "category", "definition", "parameters", "is_public"
    )(refuse_null)


class TemplateSummary(BaseModel):
    id: str
    owner_id: str | None = Field(
        description="the owner; null for the starter templates shipped with the service"
    )
    name: str
    description: str
    category: str
    parameters: list[TemplateParameter]
    is_public: bool
    created_at: datetime
    updated_at: datetime


class TemplateRead(TemplateSummary):
    definition: dict[str, Any]


class TemplateInstantiate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(
        default=None, max_length=5000, description="defaults to the template's"
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
