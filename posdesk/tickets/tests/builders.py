"""Builders shared by the ticket tests and the API tests: real tiny files of each accepted type,
and a way to bring a ticket to any status through legal moves only."""

from __future__ import annotations

import io
from collections import deque

from PIL import Image

from posdesk.accounts.models import User
from posdesk.core.taxonomy import Status
from posdesk.tickets.lifecycle import TRANSITIONS
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_transition


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


def png_bytes() -> bytes:
    return image_bytes("PNG")


def jpeg_bytes() -> bytes:
    return image_bytes("JPEG")


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def exe_bytes() -> bytes:
    """The start of a Windows executable (MZ header), as a renamed .exe would send it."""
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 48
        + b"This program cannot be run in DOS mode."
    )


def _shortest_paths() -> dict[Status, list[Status]]:
    paths: dict[Status, list[Status]] = {Status.NEW: []}
    queue = deque([Status.NEW])
    while queue:
        current = queue.popleft()
        for target in sorted(TRANSITIONS[current]):
            if target not in paths:
                paths[target] = [*paths[current], target]
                queue.append(target)
    return paths


PATH_FROM_NEW = _shortest_paths()


def drive_to(ticket: Ticket, status: str, *, actor: User) -> Ticket:
    """Move a new ticket to `status` along the shortest legal path, as a desk user would."""
    for step in PATH_FROM_NEW[Status(status)]:
        ticket_transition(ticket=ticket, actor=actor, to_status=step, reason="moving the test along")
    ticket.refresh_from_db()
    assert ticket.status == status
    return ticket


class Work:
    """Tickets spread over everybody's scope (see `spread_work`)."""


def spread_work(world, open_ticket) -> Work:  # noqa: ANN001 - test fixtures
    """One ticket for the merchant user's shop, one for another shop, one assigned to the
    technician, one given to the world's vendor (worked by its technician) and one given to
    another vendor, each at its own merchant and terminal."""
    from posdesk.tickets.services import ticket_assign
    from tests import factories as f

    w = Work()
    w.own = open_ticket(merchant=world.merchant, terminal=world.terminal)
    w.other = open_ticket(merchant=world.other_merchant, terminal=world.other_terminal)
    w.tech_terminal = f.TerminalFactory(sn="N7NL90000003", tid="90000003")
    w.tech_merchant = w.tech_terminal.merchant
    w.tech = open_ticket(merchant=w.tech_merchant, terminal=w.tech_terminal)
    ticket_assign(ticket=w.tech, actor=world.agent, assignee=world.technician)
    w.vendor_terminal = f.TerminalFactory(sn="N7NL90000004", tid="90000004")
    w.vendor_merchant = w.vendor_terminal.merchant
    w.vendor = open_ticket(merchant=w.vendor_merchant, terminal=w.vendor_terminal)
    ticket_assign(ticket=w.vendor, actor=world.agent, vendor=world.vendor_org, assignee=world.vendor_tech)
    w.other_vendor_terminal = f.TerminalFactory(sn="N7NL90000005", tid="90000005")
    w.other_vendor_merchant = w.other_vendor_terminal.merchant
    w.other_vendor = open_ticket(merchant=w.other_vendor_merchant, terminal=w.other_vendor_terminal)
    ticket_assign(ticket=w.other_vendor, actor=world.agent, vendor=world.other_vendor_org)
    w.tickets = [w.own, w.other, w.tech, w.vendor, w.other_vendor]
    return w
