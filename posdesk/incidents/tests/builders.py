"""Builders for the incident tests: many merchants and tickets at once (bulk rows, as the tests of
the detector need thousands), and the signals the intake pipeline would send for them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from posdesk.core.taxonomy import Category, Channel, Priority, Status
from posdesk.incidents.signals import TicketSignal
from posdesk.merchants.models import Merchant, MerchantContact
from posdesk.tickets.models import Ticket
from tests import factories as f

if TYPE_CHECKING:
    from posdesk.incidents.models import Incident

_serial = iter(range(10**6))


def merchants_in(district_code: str, count: int) -> list[Merchant]:
    district = f.district(district_code)
    batch = next(_serial)
    merchants = Merchant.objects.bulk_create([
        # 15 digits whatever the district's id (PostgreSQL ids keep growing across flushed tests)
        Merchant(mid=f"8983{batch:05d}{i:06d}", name=f"{district.name_zh}商户{i}", district=district,
                 address="杭州市", tier=Merchant.Tier.STANDARD)
        for i in range(count)
    ])
    MerchantContact.objects.bulk_create([
        MerchantContact(merchant=m, name="老板", mobile=f"139{batch % 100:02d}{i:06d}", is_primary=True)
        for i, m in enumerate(merchants)
    ])
    return merchants


def tickets_at(merchants: Sequence[Merchant], times: Sequence[datetime], *, text: str = "交易失败 返回码96",
               category: str = Category.TRANSACTION, channel: str = Channel.PORTAL) -> list[Ticket]:
    """One ticket per time, the merchants taken in turn."""
    batch = next(_serial)
    return Ticket.objects.bulk_create([
        Ticket(number=f"T9{batch:04d}{i:05d}", merchant=merchants[i % len(merchants)], channel=channel,
               category=category, priority=Priority.P1, status=Status.NEW, subject=text[:60], description=text,
               district_id=merchants[i % len(merchants)].district_id, created_at=at, updated_at=at)
        for i, at in enumerate(times)
    ])


def signal_of(ticket: Ticket, *, response_codes: tuple[str, ...] = ("96",), terminal_model_id: int | None = None,
              firmware: str = "") -> TicketSignal:
    return TicketSignal(ticket_id=ticket.pk, merchant_id=ticket.merchant_id, created_at=ticket.created_at,
                        category=ticket.category, priority=ticket.priority, district_id=ticket.district_id,
                        terminal_model_id=terminal_model_id, firmware=firmware, response_codes=response_codes,
                        text=ticket.description)


def incident_open_for(tickets: Sequence[Ticket], **signal_kwargs: object) -> int:
    """Observe enough tickets of one scope to open an incident; its id."""
    from posdesk.incidents.models import Incident
    from posdesk.incidents.services import incidents_observe

    incidents_observe(signals=[signal_of(t, **signal_kwargs) for t in tickets])  # type: ignore[arg-type]
    return Incident.objects.latest("pk").pk


def now() -> datetime:
    return timezone.now()


def incident_linking(tickets: Sequence[Ticket], *, status: str = "open") -> Incident:
    """An incident row linking `tickets`, as the detector would leave it (for access tests)."""
    from posdesk.incidents.models import Incident, IncidentTicket

    at = timezone.now()
    incident = Incident.objects.create(
        number=f"INC990101{next(_serial):03d}", title="集中报障：西湖区 · 应答码 96", scope_key="r=96",
        scope_kind="response_code", scope={"response_code": "96"}, status=status, opened_automatically=True,
        detected_at=at, opened_at=at, created_at=at, updated_at=at)
    IncidentTicket.objects.bulk_create([IncidentTicket(incident=incident, ticket=t, merchant_id=t.merchant_id,
                                                       ticket_created_at=t.created_at, linked_at=at) for t in tickets])
    return incident
