"""Writes for terminals."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import User
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.core.errors import Conflict, PermissionDenied, field_error
from posdesk.core.identifiers import parse_sn, parse_tid
from posdesk.core.text import clean_line
from posdesk.merchants.models import Merchant
from posdesk.terminals.models import Terminal, TerminalModel


@transaction.atomic
def terminal_register(
    *,
    actor: User,
    sn: str,
    model: TerminalModel,
    merchant: Merchant | None = None,
    tid: str | None = None,
    firmware: str = "",
    sim_iccid: str = "",
    sim_carrier: str = "",
    install_date: date | None = None,
    warranty_end: date | None = None,
) -> Terminal:
    if not actor.is_desk:
        raise PermissionDenied()
    sn = parse_sn(sn)
    tid = parse_tid(tid) if tid else None
    if install_date and warranty_end and warranty_end < install_date:
        raise field_error("warranty_end", _("The warranty cannot end before the install date."))
    if Terminal.objects.filter(sn=sn).exists():
        raise Conflict(_("A terminal with this SN is already registered."), code="terminal_exists")
    if tid and Terminal.objects.filter(tid=tid).exists():
        raise Conflict(_("This TID is already bound to another terminal."), code="tid_in_use")
    try:
        with transaction.atomic():
            terminal = Terminal.objects.create(
                sn=sn, tid=tid, model=model, merchant=merchant, firmware=clean_line(firmware),
                sim_iccid=clean_line(sim_iccid), sim_carrier=clean_line(sim_carrier),
                install_date=install_date, warranty_end=warranty_end,
                status=Terminal.Status.ACTIVE if merchant else Terminal.Status.IN_STOCK,
            )
    except IntegrityError as exc:
        raise Conflict(_("A terminal with this SN or TID is already registered."), code="terminal_exists") from exc
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, target=terminal, summary=f"terminal {sn}")
    return terminal
