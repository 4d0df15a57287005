"""Queries that more than one part of the API runs."""

from sqlalchemy import Select, select

from api.db.models import Workflow, WorkflowVersion


def current_workflow_version(
    workflow_id: str, owner_id: str
) -> Select[tuple[Workflow, WorkflowVersion]]:
    """The owner's live (not deleted) workflow joined to its current version."""
    return (
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
