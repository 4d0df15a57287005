"""Workflows: definitions stored as immutable versions, owned by one user."""

from fastapi import APIRouter, status
from sqlalchemy import select

from api.db.models import Workflow, WorkflowVersion
from api.deps import CurrentUser, DbSession
from api.errors import NotFound, ValidationFailed
from api.schemas import Envelope
from api.schemas.workflows import WorkflowCreate, WorkflowRead
from workflows_runtime.definition import validate_definition

router = APIRouter(prefix="/api/workflows", tags=["workflows"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_workflow(
    body: WorkflowCreate, user: CurrentUser, db: DbSession
) -> Envelope[WorkflowRead]:
    """Store a workflow; its definition is validated and saved as version 1."""
    ensure_valid_definition(body.definition)

    workflow = Workflow(
        owner_id=user.id,
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
    return Envelope(data=workflow_read(workflow, version), message="Workflow created")


@router.get("/{workflow_id}")
async def get_workflow(
    workflow_id: str, user: CurrentUser, db: DbSession
) -> Envelope[WorkflowRead]:
    """One of the caller's workflows, with its current definition."""
    workflow, version = await load_workflow(db, workflow_id, user.id)
    return Envelope(data=workflow_read(workflow, version))


def ensure_valid_definition(definition: object) -> None:
    problems = validate_definition(definition)
    if problems:
        raise ValidationFailed(
            "The workflow definition is invalid",
            details=[problem.model_dump(exclude_none=True) for problem in problems],
        )


async def load_workflow(
    db: DbSession, workflow_id: str, owner_id: str
) -> tuple[Workflow, WorkflowVersion]:
    """The owner's live workflow and its current version; 404 for anyone else's."""
    row = (
        await db.execute(
            select(Workflow, WorkflowVersion)
            .join(
                WorkflowVersion,
                (WorkflowVersion.workflow_id == Workflow.id)
                & (WorkflowVersion.version == Workflow.current_version),
            )
            .where(
                Workflow.id == workflow_id,
                Workflow.owner_id == owner_id,
                Workflow.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound("Workflow not found")
    return row.Workflow, row.WorkflowVersion


def workflow_read(workflow: Workflow, version: WorkflowVersion) -> WorkflowRead:
    return WorkflowRead(
        id=workflow.id,
        owner_id=workflow.owner_id,
        name=workflow.name,
        description=workflow.description,
        is_active=workflow.is_active,
        version=version.version,
        definition=version.definition,
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
    )
