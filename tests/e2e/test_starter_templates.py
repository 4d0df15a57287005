"""Each starter template, instantiated and executed against the loopback peer."""

from typing import Any

import pytest

from api.templates_seed import (
    INQUIRY_TRIAGE,
    LEAD_QUALIFICATION,
    PARTS_ROUTING,
    SERVICE_REMINDER,
)
from tests.http_peer import HttpPeer
from tests.service import Service

pytestmark = pytest.mark.database


async def run_template(
    service: Service,
    template: dict[str, Any],
    parameters: dict[str, Any],
    input: dict[str, Any],
) -> dict[str, Any]:
    """Instantiate `template` as a new workflow, execute it, and wait for the end."""
    headers = await service.register_and_login()
    created = await service.client.post(
        f"/api/templates/{template['id']}/instantiate",
        json={"name": template["name"], "parameters": parameters},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    execution_id = await service.execute(headers, created.json()["data"]["id"], input)
    final = await service.wait_for_status(
        headers, execution_id, {"completed", "failed", "cancelled"}
    )
    assert final["status"] == "completed", final
    return final


@pytest.mark.parametrize(
    "budget, timeframe, tier",
    [
        (30000, "this_week", "hot"),
        (30000, "next_year", "nurture"),
        (500, "now", "nurture"),
    ],
)
async def test_lead_qualification_tiers_a_lead(
    service: Service, http_peer: HttpPeer, budget: int, timeframe: str, tier: str
) -> None:
    final = await run_template(
        service,
        LEAD_QUALIFICATION,
        {"crm_webhook_url": f"{http_peer.url}/echo", "sales_team": "north"},
        {
            "customer": "Ada",
            "email": "ada@example.com",
            "budget": budget,
            "timeframe": timeframe,
            "vehicle": "Roadster",
        },
    )

    result = final["output"]["result"]
    assert result["tier"] == tier
    if tier == "hot":
        assert result["assigned_to"] == "north"
        sent = final["nodes"]["assign"]["output"]["body"]["body"]
        assert sent["customer"] == "Ada" and sent["budget"] == budget
    else:
        assert result["follow_up_in_days"] == 14
        assert final["nodes"]["assign"]["status"] == "skipped"


@pytest.mark.parametrize("confirmed, asks", [(False, True), (True, False)])
async def test_service_reminder_sends_the_message(
    service: Service, http_peer: HttpPeer, confirmed: bool, asks: bool
) -> None:
    final = await run_template(
        service,
        SERVICE_REMINDER,
        {
            "messaging_webhook_url": f"{http_peer.url}/echo",
            "dealership_name": "Maple Motors",
            "channel": "email",
        },
        {
            "customer": "Ada",
            "contact": "ada@example.com",
            "service": "oil change",
            "appointment_at": "2027-01-05T09:00",
            "confirmed": confirmed,
        },
    )

    output = final["output"]
    assert output["channel"] == "email"
    assert output["gateway_status"] == 200
    assert output["text"].startswith(
        "Hi Ada, this is Maple Motors: your oil change appointment is on "
        "2027-01-05T09:00."
    )
    assert ("Reply YES" in output["text"]) is asks
    sent = final["nodes"]["send"]["output"]["body"]["body"]
    assert sent == {"channel": "email", "to": "ada@example.com", "text": output["text"]}


@pytest.mark.parametrize("quantity, route", [(2, "parts_desk"), (9, "special_order")])
async def test_parts_inquiry_routes_by_stock(
    service: Service, http_peer: HttpPeer, quantity: int, route: str
) -> None:
    final = await run_template(
        service,
        PARTS_ROUTING,
        {
            "inventory_url": f"{http_peer.url}/json?quantity_on_hand=5",
            "parts_desk_webhook_url": f"{http_peer.url}/echo?desk=parts",
            "special_order_webhook_url": f"{http_peer.url}/echo?desk=orders",
        },
        {"customer": "Ada", "part_number": "BRK-221", "quantity": quantity},
    )

    assert final["output"]["result"]["route"] == route
    lookup = final["nodes"]["lookup"]["output"]["body"]
    assert lookup == {"quantity_on_hand": "5", "part_number": "BRK-221"}


@pytest.mark.parametrize(
    "topic, department, urgent",
    [
        ("breakdown", "service", True),
        ("financing", "sales", False),
        ("opening_hours", "general", False),
    ],
)
async def test_inquiry_triage_sends_each_topic_to_its_desk(
    service: Service, http_peer: HttpPeer, topic: str, department: str, urgent: bool
) -> None:
    final = await run_template(
        service,
        INQUIRY_TRIAGE,
        {
            "service_webhook_url": f"{http_peer.url}/echo?desk=service",
            "sales_webhook_url": f"{http_peer.url}/echo?desk=sales",
            "general_webhook_url": f"{http_peer.url}/echo?desk=general",
        },
        {
            "customer": "Ada",
            "contact": "ada@example.com",
            "topic": topic,
            "message": "Hello",
        },
    )

    assert final["output"] == {"department": department, "urgent": urgent}
    delivered = final["nodes"][f"to_{department}"]["output"]["body"]
    assert delivered["query"] == {"desk": department}
    assert delivered["body"]["urgent"] is urgent
