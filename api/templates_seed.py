"""The public starter templates shipped with the service, for a car dealership.

Each calls the outside world only through `http` nodes whose URLs are parameters, so
it runs against any service that answers as described (the tests use a loopback
peer). The API writes them at startup: missing ones are inserted and changed ones
brought back to what this module says, so every replica agrees.
"""

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db.models import Template, utcnow

logger = logging.getLogger(__name__)

URL_PATTERN = r"^https?://"


def _url(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "string",
        "required": True,
        "pattern": URL_PATTERN,
        "description": description,
    }


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": url,
        "body": body,
        "timeout_seconds": 30,
        "retry": {"max_attempts": 3, "initial_interval_seconds": 1},
    }


def _input_schema(required: list[str], properties: dict[str, str]) -> dict[str, Any]:
    return {
        "input_schema": {
            "type": "object",
            "required": required,
            "properties": {name: {"type": kind} for name, kind in properties.items()},
        }
    }


def _edges(*pairs: tuple[str, str] | tuple[str, str, str]) -> list[dict[str, str]]:
    edges = []
    for source, target, *branch in pairs:
        edge = {"source": source, "target": target}
        if branch:
            edge["branch"] = branch[0]
        edges.append(edge)
    return edges


LEAD_QUALIFICATION: dict[str, Any] = {
    "id": "5a1e5000-0000-4000-8000-000000000001",
    "name": "Lead qualification",
    "category": "sales",
    "description": (
        "Qualify a sales lead by budget and buying timeframe. A hot lead is posted "
        "to the CRM for a sales rep; any other goes to nurturing with a follow-up "
        "date. Input: customer, email, budget, timeframe (phone and vehicle "
        "optional)."
    ),
    "parameters": [
        _url("crm_webhook_url", "where hot leads are posted (JSON) for assignment"),
        {
            "name": "min_budget",
            "type": "number",
            "default": 15000,
            "min": 0,
            "description": "the smallest budget of a hot lead",
        },
        {
            "name": "hot_timeframes",
            "type": "array",
            "default": ["now", "this_week", "this_month"],
            "min_length": 1,
            "description": "buying timeframes that make a lead hot",
        },
        {
            "name": "sales_team",
            "type": "string",
            "default": "sales",
            "max_length": 100,
            "description": "the team hot leads are assigned to",
        },
        {
            "name": "nurture_follow_up_days",
            "type": "number",
            "default": 14,
            "min": 1,
            "max": 90,
            "description": "days until a nurtured lead is contacted again",
        },
    ],
    "definition": {
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "data": _input_schema(
                    ["customer", "email", "budget", "timeframe"],
                    {
                        "customer": "string",
                        "email": "string",
                        "phone": "string",
                        "vehicle": "string",
                        "budget": "number",
                        "timeframe": "string",
                    },
                ),
            },
            {
                "id": "qualify",
                "type": "condition",
                "data": {
                    "expression": "input.budget >= `{{min_budget}}` && "
                    "contains(`{{hot_timeframes}}`, input.timeframe)"
                },
            },
            {
                "id": "assign",
                "type": "http",
                "data": _post(
                    "{{crm_webhook_url}}",
                    {
                        "event": "hot_lead",
                        "team": "{{sales_team}}",
                        "customer": "${input.customer}",
                        "email": "${input.email}",
                        "phone": "${input.phone}",
                        "vehicle": "${input.vehicle}",
                        "budget": "${input.budget}",
                    },
                ),
            },
            {
                "id": "hot",
                "type": "transform",
                "data": {"output": {"tier": "hot", "assigned_to": "{{sales_team}}"}},
            },
            {
                "id": "nurture",
                "type": "transform",
                "data": {
                    "output": {
                        "tier": "nurture",
                        "follow_up_in_days": "{{nurture_follow_up_days}}",
                    }
                },
            },
            {
                "id": "done",
                "type": "end",
                "data": {
                    "output": {
                        "customer": "${input.customer}",
                        "result": "${steps.hot.output || steps.nurture.output}",
                    }
                },
            },
        ],
        "edges": _edges(
            ("start", "qualify"),
            ("qualify", "assign", "true"),
            ("qualify", "nurture", "false"),
            ("assign", "hot"),
            ("hot", "done"),
            ("nurture", "done"),
        ),
    },
}

SERVICE_REMINDER: dict[str, Any] = {
    "id": "5a1e5000-0000-4000-8000-000000000002",
    "name": "Service appointment reminder",
    "category": "service",
    "description": (
        "Send a customer a reminder of a service appointment by SMS or email through "
        "a messaging webhook, asking to confirm when it is not confirmed yet. Input: "
        "customer, contact, service, appointment_at (vehicle and confirmed optional)."
    ),
    "parameters": [
        _url("messaging_webhook_url", "the SMS/email gateway messages are posted to"),
        {
            "name": "dealership_name",
            "type": "string",
            "required": True,
            "min_length": 1,
            "max_length": 100,
            "description": "how the message signs",
        },
        {
            "name": "channel",
            "type": "string",
            "default": "sms",
            "enum": ["sms", "email"],
            "description": "how the reminder is sent",
        },
        {
            "name": "ask_confirmation",
            "type": "boolean",
            "default": True,
            "description": "ask an unconfirmed customer to reply YES",
        },
    ],
    "definition": {
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "data": _input_schema(
                    ["customer", "contact", "service", "appointment_at"],
                    {
                        "customer": "string",
                        "contact": "string",
                        "vehicle": "string",
                        "service": "string",
                        "appointment_at": "string",
                        "confirmed": "boolean",
                    },
                ),
            },
            {
                "id": "compose",
                "type": "transform",
                "data": {
                    "output": "Hi ${input.customer}, this is {{dealership_name}}: "
                    "your ${input.service} appointment is on ${input.appointment_at}."
                },
            },
            {
                "id": "needs_confirmation",
                "type": "condition",
                "data": {"expression": "`{{ask_confirmation}}` && !(input.confirmed)"},
            },
            {
                "id": "ask",
                "type": "transform",
                "data": {"output": "${steps.compose.output} Reply YES to confirm."},
            },
            {
                "id": "inform",
                "type": "transform",
                "data": {"output": "${steps.compose.output}"},
            },
            {
                "id": "send",
                "type": "http",
                "data": _post(
                    "{{messaging_webhook_url}}",
                    {
                        "channel": "{{channel}}",
                        "to": "${input.contact}",
                        "text": "${steps.ask.output || steps.inform.output}",
                    },
                ),
            },
            {
                "id": "done",
                "type": "end",
                "data": {
                    "output": {
                        "channel": "{{channel}}",
                        "to": "${input.contact}",
                        "text": "${steps.ask.output || steps.inform.output}",
                        "gateway_status": "${steps.send.output.status}",
                    }
                },
            },
        ],
        "edges": _edges(
            ("start", "compose"),
            ("compose", "needs_confirmation"),
            ("needs_confirmation", "ask", "true"),
            ("needs_confirmation", "inform", "false"),
            ("ask", "send"),
            ("inform", "send"),
            ("send", "done"),
        ),
    },
}

PARTS_ROUTING: dict[str, Any] = {
    "id": "5a1e5000-0000-4000-8000-000000000003",
    "name": "Parts inquiry routing",
    "category": "parts",
    "description": (
        "Look a requested part up in inventory: when enough are on hand, the parts "
        "desk holds them for pickup; otherwise a special order is opened. The "
        "inventory service answers GET ?part_number=... with {quantity_on_hand}. "
        "Input: customer, part_number, quantity."
    ),
    "parameters": [
        _url("inventory_url", "answers GET ?part_number= with {quantity_on_hand}"),
        _url("parts_desk_webhook_url", "where parts to hold for pickup are posted"),
        _url("special_order_webhook_url", "where special orders are posted"),
    ],
    "definition": {
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "data": {
                    "input_schema": {
                        "type": "object",
                        "required": ["customer", "part_number", "quantity"],
                        "properties": {
                            "customer": {"type": "string"},
                            "part_number": {"type": "string", "minLength": 1},
                            "quantity": {"type": "integer", "minimum": 1},
                        },
                    }
                },
            },
            {
                "id": "lookup",
                "type": "http",
                "data": {
                    "url": "{{inventory_url}}",
                    "query": {"part_number": "${input.part_number}"},
                    "timeout_seconds": 30,
                    "retry": {"max_attempts": 3, "initial_interval_seconds": 1},
                },
            },
            {
                "id": "in_stock",
                "type": "condition",
                "data": {
                    "expression": "to_number(steps.lookup.output.body.quantity_on_hand)"
                    " >= input.quantity"
                },
            },
            {
                "id": "hold",
                "type": "http",
                "data": _post(
                    "{{parts_desk_webhook_url}}",
                    {
                        "action": "hold_for_pickup",
                        "customer": "${input.customer}",
                        "part_number": "${input.part_number}",
                        "quantity": "${input.quantity}",
                    },
                ),
            },
            {
                "id": "order",
                "type": "http",
                "data": _post(
                    "{{special_order_webhook_url}}",
                    {
                        "action": "special_order",
                        "customer": "${input.customer}",
                        "part_number": "${input.part_number}",
                        "quantity": "${input.quantity}",
                    },
                ),
            },
            {
                "id": "held",
                "type": "transform",
                "data": {"output": {"route": "parts_desk", "in_stock": True}},
            },
            {
                "id": "ordered",
                "type": "transform",
                "data": {"output": {"route": "special_order", "in_stock": False}},
            },
            {
                "id": "done",
                "type": "end",
                "data": {
                    "output": {
                        "part_number": "${input.part_number}",
                        "quantity": "${input.quantity}",
                        "result": "${steps.held.output || steps.ordered.output}",
                    }
                },
            },
        ],
        "edges": _edges(
            ("start", "lookup"),
            ("lookup", "in_stock"),
            ("in_stock", "hold", "true"),
            ("in_stock", "order", "false"),
            ("hold", "held"),
            ("order", "ordered"),
            ("held", "done"),
            ("ordered", "done"),
        ),
    },
}

_DEPARTMENT = (
    "(contains(`{{service_topics}}`, input.topic) && 'service') || "
    "(contains(`{{sales_topics}}`, input.topic) && 'sales') || 'general'"
)


def _deliver(url: str) -> dict[str, Any]:
    return _post(
        url,
        {
            "customer": "${input.customer}",
            "contact": "${input.contact}",
            "topic": "${input.topic}",
            "message": "${input.message}",
            "urgent": "${steps.classify.output.urgent}",
        },
    )


INQUIRY_TRIAGE: dict[str, Any] = {
    "id": "5a1e5000-0000-4000-8000-000000000004",
    "name": "Customer inquiry triage",
    "category": "customer_service",
    "description": (
        "Sort an incoming customer inquiry by topic to the service, sales or general "
        "desk, flagging urgent topics. Input: customer, contact, topic, message."
    ),
    "parameters": [
        _url("service_webhook_url", "the service desk's inbox"),
        _url("sales_webhook_url", "the sales desk's inbox"),
        _url("general_webhook_url", "the inbox for everything else"),
        {
            "name": "service_topics",
            "type": "array",
            "default": ["service", "repair", "breakdown", "recall", "warranty"],
            "description": "topics the service desk handles",
        },
        {
            "name": "sales_topics",
            "type": "array",
            "default": ["sales", "trade_in", "financing", "test_drive"],
            "description": "topics the sales desk handles",
        },
        {
            "name": "urgent_topics",
            "type": "array",
            "default": ["breakdown", "recall"],
            "description": "topics flagged urgent",
        },
    ],
    "definition": {
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "data": _input_schema(
                    ["customer", "contact", "topic", "message"],
                    {
                        "customer": "string",
                        "contact": "string",
                        "topic": "string",
                        "message": "string",
                    },
                ),
            },
            {
                "id": "classify",
                "type": "transform",
                "data": {
                    "output": {
                        "department": "${" + _DEPARTMENT + "}",
                        "urgent": "${contains(`{{urgent_topics}}`, input.topic)}",
                    }
                },
            },
            {
                "id": "is_service",
                "type": "condition",
                "data": {"expression": "steps.classify.output.department == 'service'"},
            },
            {
                "id": "is_sales",
                "type": "condition",
                "data": {"expression": "steps.classify.output.department == 'sales'"},
            },
            {
                "id": "to_service",
                "type": "http",
                "data": _deliver("{{service_webhook_url}}"),
            },
            {
                "id": "to_sales",
                "type": "http",
                "data": _deliver("{{sales_webhook_url}}"),
            },
            {
                "id": "to_general",
                "type": "http",
                "data": _deliver("{{general_webhook_url}}"),
            },
            {
                "id": "done",
                "type": "end",
                "data": {
                    "output": {
                        "department": "${steps.classify.output.department}",
                        "urgent": "${steps.classify.output.urgent}",
                    }
                },
            },
        ],
        "edges": _edges(
            ("start", "classify"),
            ("classify", "is_service"),
            ("is_service", "to_service", "true"),
            ("is_service", "is_sales", "false"),
            ("is_sales", "to_sales", "true"),
            ("is_sales", "to_general", "false"),
            ("to_service", "done"),
            ("to_sales", "done"),
            ("to_general", "done"),
        ),
    },
}

STARTER_TEMPLATES = (
    LEAD_QUALIFICATION,
    SERVICE_REMINDER,
    PARTS_ROUTING,
    INQUIRY_TRIAGE,
)
_FIELDS = ("name", "category", "description", "parameters", "definition")


async def seed_starter_templates(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Insert the starter templates that are missing; restore changed ones.

    Idempotent, and safe when several API processes start at once: a row another
    process inserted first is left to it.
    """
    for starter in STARTER_TEMPLATES:
        async with sessions() as db:
            try:
                await _seed_one(db, starter)
            except IntegrityError:
                await db.rollback()


async def _seed_one(db: AsyncSession, starter: dict[str, Any]) -> None:
    row = await db.scalar(select(Template).where(Template.id == starter["id"]))
    if row is None:
        db.add(Template(**starter, owner_id=None, is_public=True, updated_at=utcnow()))
        logger.info("starter template %s added", starter["name"])
    elif any(getattr(row, field) != starter[field] for field in _FIELDS):
        for field in _FIELDS:
            setattr(row, field, starter[field])
        row.updated_at = utcnow()
        logger.info("starter template %s updated", starter["name"])
    await db.commit()
