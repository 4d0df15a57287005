"""Checking a definition without storing it: what saving would say, and more."""

from fastapi import APIRouter

from api.deps import CurrentUser, DbSession
from api.schemas import Envelope
from api.schemas.definitions import DefinitionCheck, DefinitionDiagnostics
from api.workflow_references import resolve_references
from workflows_runtime.definition import Definition, validate_definition
from workflows_runtime.diagnostics import definition_warnings

router = APIRouter(prefix="/api/workflows", tags=["workflows"])


@router.post("/validate")
async def validate_workflow_definition(
    body: DefinitionCheck, user: CurrentUser, db: DbSession
) -> Envelope[DefinitionDiagnostics]:
    """Every problem of a definition at once, plus warnings; nothing is stored."""
    errors = validate_definition(body.definition)
    warnings = []
    if not errors:
        definition = Definition.model_validate(body.definition)
        warnings = definition_warnings(definition)
        _, errors = await resolve_references(db, user.id, body.definition)
    diagnostics = DefinitionDiagnostics(
        valid=not errors, errors=errors, warnings=warnings
    )
    message = "The definition is valid" if not errors else "The definition is invalid"
    return Envelope(data=diagnostics, message=message)
