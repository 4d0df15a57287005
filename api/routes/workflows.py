"""Workflows: definitions stored as immutable versions, owned by one user."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from sqlalchemy import Select, func, select, update

from api.db.models import Workflow, WorkflowVersion
from api.db.queries import current_workflow_version
from api.deps import CurrentUser, DbSession
from api.errors import Conflict, NotFound, ValidationFailed
from api.pagination import PageQuery, fetch_page
from api.schemas import Envelope, Page
from api.schemas.workflows import (
    WorkflowCreate,
    WorkflowRead,
    WorkflowSummary,
    WorkflowUpdate,
    WorkflowVersionRead,
)
from workflows_runtime.definition import validate_definition

router = APIRouter(prefix="/api/workflows", tags=["workflows"])

# The largest version number a database integer column holds everywhere.
MAX_VERSION = 2**31 - 1

WorkflowSort = Literal[
    "created_at", "-created_at", "updated_at", "-updated_at", "name", "-name"
]
_SORT_COLUMNS = {
    "created_at": Workflow.created_at,
    "updated_at": Workflow.updated_at,
    "name": Workflow.name,
}


@router.get("")
async def list_workflows(
    user: CurrentUser,
    db: DbSession,
    page: PageQuery,
    search: Annotated[
        str | None, Query(max_length=200, description="part of the name, any case")
    ] = None,
    is_active: bool | None = None,
    sort: Annotated[
        WorkflowSort, Query(description="a field; a leading `-` sorts descending")
    ] = "-created_at",
) -> Page[WorkflowSummary]:
    """The caller's workflows, a page at a time, without their definitions."""
    query = _live_workflows(user.id)
    if search:
        query = query.where(
            func.lower(Workflow.name).contains(search.lower(), autoescape=True)
        )
    if is_active is not None:
        query = query.where(Workflow.is_active == is_active)
    column = _SORT_COLUMNS[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    # The id breaks ties, so a row never shows on two pages.
    query = query.order_by(order, Workflow.id)

    workflows, pagination = await fetch_page(db, query, page)
    return Page(
        data=[workflow_summary(workflow) for workflow in workflows],
        pagination=pagination,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_workflow(
    body: WorkflowCreate, user: CurrentUser, db: DbSession
) -> Envelope[WorkflowRead]:
    """Store a workflow; its definition is validated and saved as version 1."""
    workflow, version = await save_new_workflow(db, user.id, body)
    return Envelope(data=workflow_read(workflow, version), message="Workflow created")


@router.get("/{workflow_id}")
async def get_workflow(
    workflow_id: str, user: CurrentUser, db: DbSession
) -> Envelope[WorkflowRead]:
    """One of the caller's workflows, with its current definition."""
    workflow, version = await load_workflow(db, workflow_id, user.id)
    return Envelope(data=workflow_read(workflow, version))


@router.put("/{workflow_id}")
async def update_workflow(
    workflow_id: str, body: WorkflowUpdate, user: CurrentUser, db: DbSession
) -> Envelope[WorkflowRead]:
    """Change name, description or `is_active`; a `definition` saves a new version.

    Past versions stay as they were, and running executions keep the one they started
    with.
    """
    workflow, version = await load_workflow(db, workflow_id, user.id)
    if not body.model_fields_set:
        return Envelope(
            data=workflow_read(workflow, version), message="Nothing changed"
        )
    if body.definition is not None:
        ensure_valid_definition(body.definition)
    now = datetime.now(UTC)
    changes = body.model_dump(exclude_unset=True, exclude={"definition"})
    new_version = version.version + (body.definition is not None)

    # Only the update that still sees the version it read wins a race.
    result = await db.execute(
        update(Workflow)
        .where(
            Workflow.id == workflow.id,
            Workflow.current_version == version.version,
            Workflow.deleted_at.is_(None),
        )
        .values(**changes, current_version=new_version, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await db.rollback()
        raise Conflict("The workflow was changed meanwhile; read it and try again")
    if body.definition is not None:
        version = WorkflowVersion(
            workflow_id=workflow.id, version=new_version, definition=body.definition
        )
        db.add(version)
    await db.commit()
    await db.refresh(workflow)
    return Envelope(data=workflow_read(workflow, version), message="Workflow updated")


@router.delete("/{workflow_id}")
async def delete_workflow(
    workflow_id: str, user: CurrentUser, db: DbSession
) -> Envelope[None]:
    """Remove the workflow from lists and from execution; its executions stay."""
    workflow, _ = await load_workflow(db, workflow_id, user.id)
    workflow.deleted_at = datetime.now(UTC)
    await db.commit()
    return Envelope(data=None, message="Workflow deleted")


@router.get("/{workflow_id}/versions")
async def list_workflow_versions(
    workflow_id: str, user: CurrentUser, db: DbSession, page: PageQuery
) -> Page[WorkflowVersionRead]:
    """Every saved version of one workflow, newest first."""
    await load_workflow(db, workflow_id, user.id)
    query = (
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.version.desc())
    )
    versions, pagination = await fetch_page(db, query, page)
    return Page(data=[version_read(v) for v in versions], pagination=pagination)


@router.get("/{workflow_id}/versions/{version}")
async def get_workflow_version(
    workflow_id: str,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    user: CurrentUser,
    db: DbSession,
) -> Envelope[WorkflowVersionRead]:
    """One saved version of a workflow."""
    await load_workflow(db, workflow_id, user.id)
    row = await db.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.version == version,
        )
    )
    if row is None:
        raise NotFound("Workflow version not found")
    return Envelope(data=version_read(row))


async def save_new_workflow(
    db: DbSession, owner_id: str, body: WorkflowCreate
) -> tuple[Workflow, WorkflowVersion]:
    """Validate and store a workflow with its definition as version 1."""
    ensure_valid_definition(body.definition)
    workflow = Workflow(
        owner_id=owner_id,
        name=body.name,
        description=body.description,
        is_active=body.is_active,
    )
    db.add(workflow)
    await db.flush()
    version = WorkflowVersion(
        workflow_id=workflow.id, version=1, definition=body.definition
    )
    db.add(version)
    await db.commit()
    return workflow, version


def ensure_valid_definition(definition: object) -> None:
    problems = validate_definition(definition)
    if problems:
        raise ValidationFailed(
            "The workflow definition is invalid",
            details=[problem.model_dump(exclude_none=True) for problem in problems],
        )


def _live_workflows(owner_id: str) -> Select[tuple[Workflow]]:
    return select(Workflow).where(
        Workflow.owner_id == owner_id, Workflow.deleted_at.is_(None)
    )


async def load_workflow(
    db: DbSession, workflow_id: str, owner_id: str
) -> tuple[Workflow, WorkflowVersion]:
    """The owner's live workflow and its current version; 404 for anyone else's."""
    row = (await db.execute(current_workflow_version(workflow_id, owner_id))).first()
    if row is None:
        raise NotFound("Workflow not found")
    return row.Workflow, row.WorkflowVersion


def workflow_summary(workflow: Workflow) -> WorkflowSummary:
    return WorkflowSummary(
        id=workflow.id,
        owner_id=workflow.owner_id,
        name=workflow.name,
        description=workflow.description,
        is_active=workflow.is_active,
        version=workflow.current_version,
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
    )


def workflow_read(workflow: Workflow, version: WorkflowVersion) -> WorkflowRead:
    return WorkflowRead(
        **workflow_summary(workflow).model_dump(exclude={"version"}),
        version=version.version,
        definition=version.definition,
    )


def version_read(version: WorkflowVersion) -> WorkflowVersionRead:
    return WorkflowVersionRead(
        workflow_id=version.workflow_id,
        version=version.version,
        definition=version.definition,
        created_at=version.created_at,
    )
