"""The incident notice on the merchant's portal: the confirmed, unresolved outages that touch the
merchant — their district, their terminals' model or firmware, a scope with no place, or a ticket
of theirs the incident holds — chosen by that scope in the database (not from the newest few
incidents), newest first, with the latest public update. One query."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from django.test import Client
from django.utils import timezone

from posdesk.incidents import detector
from posdesk.incidents.models import Incident, IncidentEvent, IncidentTicket
from posdesk.incidents.selectors import incidents_affecting_merchants
from posdesk.incidents.services import _scope_words, _title
from tests import factories as f

_numbers = count(1)


def incident(scope_key: str, *, status: str = "open", hours_ago: float = 0) -> Incident:
    """An incident as the detector opens it for `scope_key`."""
    at = timezone.now() - timedelta(hours=hours_ago)
    scope = _scope_words(scope_key)
    return Incident.objects.create(
        number=f"INC991231{next(_numbers):03d}",
        title=_title(scope),
        scope_key=scope_key,
        scope_kind=detector.kind_of(scope_key),
        scope=scope,
        status=status,
        detected_at=at,
        opened_at=at if status != "proposed" else None,
        created_at=at,
        updated_at=at,
    )


def numbers(incidents) -> list[str]:
    return [i.number for i in incidents]


@pytest.fixture
def merchant_client(world) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(world.merchant_user)
    return client


@pytest.mark.django_db
def test_a_merchant_still_sees_an_old_outage_in_their_district_however_many_newer_ones_there_are(
    world, django_assert_num_queries
):
    # given an outage in the merchant's district (Xihu) open since yesterday
    xihu, binjiang = f.district("xihu"), f.district("binjiang")
    assert world.merchant.district_id == xihu.pk
    old = incident(f"r=96;d={xihu.pk}", hours_ago=20)
    # and 25 newer outages in Binjiang
    newer = [incident(f"r=Z{n};d={binjiang.pk}", hours_ago=10 - n / 10) for n in range(25)]

    # when the merchant's notice is read
    with django_assert_num_queries(1):
        shown = incidents_affecting_merchants([world.merchant.pk])

    # then it shows the old outage, and none of Binjiang's
    assert numbers(shown) == [old.number]
    # and a Binjiang merchant sees the 20 newest of theirs, newest first
    assert numbers(incidents_affecting_merchants([world.other_merchant.pk])) == numbers(newer[::-1][:20])


@pytest.mark.django_db
def test_the_notice_covers_the_merchants_terminals_places_and_held_tickets_and_nothing_else(world):
    # given the merchant's terminals: a ME31 on V2.3.1 and one whose firmware string has separators
    xihu, binjiang = f.district("xihu"), f.district("binjiang")
    me31 = world.terminal.model
    odd = f.TerminalFactory(
        merchant=world.merchant,
        model=f.TerminalModelFactory(code="pax-a920", name="A920"),
        firmware=" V3;beta=2 ",
    )
    other_model = f.TerminalModelFactory(code="ingenico-ict250", name="iCT250")
    # and outages of every kind
    covering = [
        incident(f"m={me31.pk}", hours_ago=1),  # the merchant's model
        incident(f"m={me31.pk};f=V2.3.1", hours_ago=2),  # the merchant's model and firmware
        incident(
            f"m={odd.model_id};f={detector._clean(odd.firmware)}", hours_ago=3
        ),  # as the detector keys it
        incident("c=hardware", hours_ago=4),  # no place: everyone
        incident("r=A0", hours_ago=5),  # no place: everyone
        incident(f"c=network;d={xihu.pk}", hours_ago=6, status="monitoring"),  # the merchant's district
    ]
    held = incident(f"r=51;d={binjiang.pk}", hours_ago=7)  # elsewhere, but holding a ticket of theirs
    ticket = f.TicketFactory(merchant=world.merchant, created_at=timezone.now())
    IncidentTicket.objects.create(
        incident=held,
        ticket=ticket,
        merchant=world.merchant,
        ticket_created_at=ticket.created_at,
        linked_at=timezone.now(),
    )
    released = incident(f"r=55;d={binjiang.pk}", hours_ago=8)  # it let the merchant's ticket go
    let_go = f.TicketFactory(merchant=world.merchant, created_at=timezone.now())
    IncidentTicket.objects.create(
        incident=released,
        ticket=let_go,
        merchant=world.merchant,
        ticket_created_at=let_go.created_at,
        linked_at=timezone.now(),
        released_at=timezone.now(),
    )
    for scope_key in (f"m={me31.pk};f=V2.4.0", f"m={other_model.pk}", f"r=96;d={binjiang.pk}"):
        incident(scope_key, hours_ago=1)  # another firmware, another model, another district
    incident(f"r=96;d={xihu.pk}", status="proposed")  # not confirmed yet
    incident("r=05", status="resolved")  # over

    # when the merchant's notice is read, then it holds exactly the outages that touch them
    assert numbers(incidents_affecting_merchants([world.merchant.pk])) == numbers([*covering, held])
    assert incidents_affecting_merchants([]) == []


@pytest.mark.django_db
def test_the_portal_home_shows_the_outage_with_its_latest_public_update(
    world, merchant_client, django_assert_max_num_queries
):
    # given an outage in the merchant's district with an ETA, a public update and an internal note
    outage = incident(f"r=96;d={world.merchant.district_id}", hours_ago=30)
    outage.eta = timezone.now() + timedelta(hours=2)
    outage.save(update_fields=["eta"])
    now = timezone.now()
    IncidentEvent.objects.create(
        incident=outage,
        kind="update",
        is_public=True,
        body="银联主机正在切换线路",
        created_at=now - timedelta(minutes=5),
    )
    IncidentEvent.objects.create(
        incident=outage,
        kind="update",
        is_public=True,
        body="备用线路已接通，交易逐步恢复",
        created_at=now - timedelta(minutes=1),
    )
    IncidentEvent.objects.create(
        incident=outage, kind="note", is_public=False, body="主机厂商在排查", created_at=now
    )

    # when the merchant opens the portal (the notice costs one query, as when there is none)
    with django_assert_max_num_queries(9):
        page = merchant_client.get("/portal/").content.decode()

    # then the notice shows the outage, its ETA and its latest public update — never the note
    notice = page.split('id="incident-notice"')[1].split("</section>")[0]
    assert f'data-incident="{outage.number}"' in notice and outage.title in notice
    assert "Expected recovery" in notice and "Latest update: 备用线路已接通，交易逐步恢复" in notice
    assert "银联主机正在切换线路" not in notice and "主机厂商在排查" not in notice
