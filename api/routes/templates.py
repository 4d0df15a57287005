"""Templates: reusable definitions with typed parameters, made into workflows."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import Select, false, func, or_, select

from api.db.models import Template, User
from api.deps import CurrentUser, DbSession
from api.errors import Forbidden, NotFound, ValidationFailed
from api.pagination import PageQuery, fetch_page
from api.placeholders import (
    fill,
    filled_size,
    placeholders,
    resolve_values,
    value_error,
)
from api.routes.workflows import save_new_workflow, workflow_read
from api.schemas import Envelope, Page
from api.schemas.templates import (
    TemplateCreate,
    TemplateInstantiate,
    TemplateParameter,
    TemplateRead,
    TemplateSummary,
    TemplateUpdate,
)
from api.schemas.workflows import WorkflowCreate, WorkflowRead
from workflows_runtime.definition import validate_definition
from workflows_runtime.limits import MAX_DEFINITION_BYTES, json_size, kilobytes

router = APIRouter(prefix="/api/templates", tags=["templates"])


@router.get("")
async def list_templates(
    user: CurrentUser,
    db: DbSession,
    page: PageQuery,
    category: Annotated[
        str | None, Query(max_length=100, description="exact category, any case")
    ] = None,
    search: Annotated[
        str | None,
        Query(max_length=200, description="part of the name or description, any case"),
    ] = None,
) -> Page[TemplateSummary]:
    """Public templates and the caller's own, by name, without their definitions."""
    query = _visible(user)
    if category:
        query = query.where(func.lower(Template.category) == category.lower())
    if search:
        term = search.lower()
        query = query.where(
            or_(
                func.lower(Template.name).contains(term, autoescape=True),
                func.lower(Template.description).contains(term, autoescape=True),
            )
        )
    query = query.order_by(Template.name, Template.id)

    templates, pagination = await fetch_page(db, query, page)
    return Page(data=[_summary(t) for t in templates], pagination=pagination)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_template(
    body: TemplateCreate, user: CurrentUser, db: DbSession
) -> Envelope[TemplateRead]:
    """Store a template owned by the caller; every placeholder must be a parameter."""
    _ensure_consistent(body.definition, body.parameters)
    template = Template(
        owner_id=user.id,
        name=body.name,
        description=body.description,
        category=body.category,
        definition=body.definition,
        parameters=_dump(body.parameters),
        is_public=body.is_public,
    )
    db.add(template)
    await db.commit()
    return Envelope(data=_read(template), message="Template created")


@router.get("/{template_id}")
async def get_template(
    template_id: str, user: CurrentUser, db: DbSession
) -> Envelope[TemplateRead]:
    """A public template or one of the caller's own."""
    return Envelope(data=_read(await _load_visible(db, template_id, user)))


@router.put("/{template_id}")
async def update_template(
    template_id: str, body: TemplateUpdate, user: CurrentUser, db: DbSession
) -> Envelope[TemplateRead]:
    """Change the caller's own template; fields left out keep their value."""
    template = await _load_own(db, template_id, user)
    if not body.model_fields_set:
        return Envelope(data=_read(template), message="Nothing changed")
    changes = body.model_dump(exclude_unset=True, exclude={"parameters"})
    parameters = body.parameters
    if parameters is None:
        parameters = [TemplateParameter(**p) for p in template.parameters]
    definition = body.definition
    _ensure_consistent(
        template.definition if definition is None else definition, parameters
    )

    for field, value in changes.items():
        setattr(template, field, value)
    template.parameters = _dump(parameters)
    template.updated_at = datetime.now(UTC)
    await db.commit()
    return Envelope(data=_read(template), message="Template updated")


@router.delete("/{template_id}")
async def delete_template(
    template_id: str, user: CurrentUser, db: DbSession
) -> Envelope[None]:
    """Delete the caller's own template; workflows made from it stay as they are."""
    template = await _load_own(db, template_id, user)
    await db.delete(template)
    await db.commit()
    return Envelope(data=None, message="Template deleted")


@router.post("/{template_id}/instantiate", status_code=status.HTTP_201_CREATED)
async def instantiate_template(
    template_id: str, body: TemplateInstantiate, user: CurrentUser, db: DbSession
) -> Envelope[WorkflowRead]:
    """Fill the template in with the given parameter values and store the result as
    a new workflow of the caller's (version 1)."""
    template = await _load_visible(db, template_id, user)
    parameters = [TemplateParameter(**p) for p in template.parameters]
    values, problems = resolve_values(parameters, body.parameters)
    if problems:
        raise ValidationFailed("Invalid template parameters", details=problems)

    _ensure_fits(template.definition, values)
    definition = fill(template.definition, values)
    problems = [
        p.model_dump(exclude_none=True) for p in validate_definition(definition)
    ]
    if problems:
        raise ValidationFailed(
            "The workflow made from this template is invalid", details=problems
        )
    workflow, version = await save_new_workflow(
        db,
        user.id,
        WorkflowCreate(
            name=body.name,
            description=(
                body.description
                if body.description is not None
                else template.description
            ),
            definition=definition,
            is_active=body.is_active,
        ),
    )
    return Envelope(
        data=workflow_read(workflow, version), message="Workflow created from template"
    )


def _visible(user: User) -> Select[tuple[Template]]:
    return select(Template).where(
        or_(Template.is_public.is_not(false()), Template.owner_id == user.id)
    )


async def _load_visible(db: DbSession, template_id: str, user: User) -> Template:
    template = await db.scalar(_visible(user).where(Template.id == template_id))
    if template is None:
        raise NotFound("Template not found")
    return template


async def _load_own(db: DbSession, template_id: str, user: User) -> Template:
    """The caller's own template: another's public one is 403, a private one 404."""
    template = await _load_visible(db, template_id, user)
    if template.owner_id != user.id:
        raise Forbidden("Only the owner of a template can change it")
    return template


def _ensure_consistent(
    definition: dict[str, Any], parameters: list[TemplateParameter]
) -> None:
    problems = _shape_problems(definition)
    names = [parameter.name for parameter in parameters]
    for name in sorted({name for name in names if names.count(name) > 1}):
        problems.append(_problem("parameters", f"parameter {name} is declared twice"))
    for name in sorted(placeholders(definition) - set(names)):
        message = f"placeholder {{{{{name}}}}} names no parameter"
        problems.append(_problem("definition", message))
    for index, parameter in enumerate(parameters):
        if parameter.default is None:
            continue
        error = value_error(parameter, parameter.default)
        if error is not None:
            field = f"parameters.{index}.default"
            problems.append(_problem(field, f"default of {parameter.name}: {error}"))
    if problems:
        raise ValidationFailed("The template is inconsistent", details=problems)


def _shape_problems(definition: dict[str, Any]) -> list[dict[str, str]]:
    """What makes `definition` no definition at all, whatever its placeholders become.

    The rest is validated on instantiate: a placeholder may stand where a typed value
    goes, so only the filled-in definition can be checked in full.
    """
    problems = [
        _problem(f"definition.{key}", f"{key} must be a list")
        for key in ("nodes", "edges")
        if not isinstance(definition.get(key), list)
    ]
    try:
        size = json_size(definition)
    except ValueError as error:
        return [*problems, _problem("definition", f"definition is not JSON: {error}")]
    if size > MAX_DEFINITION_BYTES:
        message = (
            f"definition is {size} bytes; the limit for a definition "
            f"is {kilobytes(MAX_DEFINITION_BYTES)}"
        )
        problems.append(_problem("definition", message))
    return problems


def _ensure_fits(definition: dict[str, Any], values: dict[str, Any]) -> None:
    size = filled_size(definition, values)
    if size > MAX_DEFINITION_BYTES:
        message = (
            f"the workflow made from this template would be {size} bytes; the limit "
            f"for a definition is {kilobytes(MAX_DEFINITION_BYTES)}"
        )
        raise ValidationFailed(
            "The workflow made from this template is too large",
            details=[{"code": "definition_too_large", "message": message}],
        )


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _dump(parameters: list[TemplateParameter]) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json", exclude_none=True) for p in parameters]


def _summary(template: Template) -> TemplateSummary:
    return TemplateSummary(
        id=template.id,
        owner_id=template.owner_id,
        name=template.name,
        description=template.description,
        category=template.category,
        parameters=[TemplateParameter(**p) for p in template.parameters],
        is_public=template.is_public,
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


def _read(template: Template) -> TemplateRead:
    return TemplateRead(
        **_summary(template).model_dump(), definition=template.definition
    )
