"""Registering terminals."""

from __future__ import annotations

from datetime import date

import pytest

from posdesk.audit.models import AuditEntry
from posdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from posdesk.terminals.models import Terminal
from posdesk.terminals.services import terminal_register
from tests import factories as f


@pytest.fixture
def model(db):
    return f.TerminalModelFactory()


def test_desk_registers_a_terminal_bound_to_a_merchant(world, model):
    terminal = terminal_register(
        actor=world.agent,
        sn="n7nl00000777",
        tid="10000777",
        model=model,
        merchant=world.merchant,
        firmware=" V2.4.0 ",
        install_date=date(2026, 1, 5),
        warranty_end=date(2028, 1, 5),
    )
    assert (terminal.sn, terminal.tid, terminal.status, terminal.firmware) == (
        "N7NL00000777",
        "10000777",
        Terminal.Status.ACTIVE,
        "V2.4.0",
    )
    assert terminal.in_warranty(date(2027, 6, 1)) and not terminal.in_warranty(date(2028, 1, 6))
    assert AuditEntry.objects.filter(object_type="terminals.terminal", object_id=str(terminal.pk)).exists()


def test_an_unbound_terminal_is_in_stock(world, model):
    terminal = terminal_register(actor=world.agent, sn="N7NL00000778", model=model)
    assert (terminal.tid, terminal.status) == (None, Terminal.Status.IN_STOCK)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"sn": "N7"}, "invalid_sn"),
        ({"sn": "N7NL 0001"}, "invalid_sn"),
        ({"tid": "1234567"}, "invalid_tid"),
        ({"tid": "1000077a"}, "invalid_tid"),
        ({"install_date": date(2026, 2, 1), "warranty_end": date(2026, 1, 1)}, "validation_error"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_created(world, model, fields, code):
    before = Terminal.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        terminal_register(actor=world.agent, model=model, **{"sn": "N7NL00000779", **fields})
    assert refused.value.code == code
    assert Terminal.objects.count() == before


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"sn": "n7nl00000001"}, "terminal_exists"),
        ({"tid": "10000001"}, "tid_in_use"),
    ],
)
def test_a_taken_sn_or_tid_is_a_conflict(world, model, fields, code):
    with pytest.raises(Conflict) as refused:
        terminal_register(actor=world.agent, model=model, **{"sn": "N7NL00000780", **fields})
    assert refused.value.code == code


@pytest.mark.parametrize("role", ["merchant", "technician", "vendor"])
def test_only_the_desk_registers_terminals(world, model, role):
    with pytest.raises(PermissionDenied):
        terminal_register(actor=world.users[role], sn="N7NL00000781", model=model)
