from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja import Status as Answer

from posdesk.core.api import ERRORS, IDEMPOTENCY_HEADER_DOC, idempotency_key, principal
from posdesk.core.errors import field_error
from posdesk.core.idempotency import idempotent_create
from posdesk.merchants.selectors import merchant_get_for_user
from posdesk.terminals import selectors, services
from posdesk.terminals.models import Terminal, TerminalModel

MAX_OFFSET = 1_000_000

router = Router(tags=["terminals"])


class TerminalModelOut(Schema):
    code: str
    manufacturer: str
    name: str
    kind: str


class TerminalMerchantOut(Schema):
    id: int
    mid: str
    name: str


class TerminalOut(Schema):
    id: int
    sn: str
    tid: str | None
    model: TerminalModelOut
    merchant: TerminalMerchantOut | None
    firmware: str
    sim_carrier: str
    install_date: date | None
    warranty_end: date | None
    status: str


class TerminalPage(Schema):
    items: list[TerminalOut]
    next_offset: int | None


class TerminalIn(Schema):
    # lengths as the columns allow (PostgreSQL refuses longer values; SQLite would keep them)
    sn: str = Field(max_length=64)
    model: str = Field(max_length=40)
    tid: str | None = Field(None, max_length=16)
    merchant_id: int | None = None
    firmware: str = Field("", max_length=40)
    sim_iccid: str = Field("", max_length=22)
    sim_carrier: str = Field("", max_length=20)
    install_date: date | None = None
    warranty_end: date | None = None


@router.get("/terminal-models", response={200: list[TerminalModelOut], **ERRORS}, summary="List terminal models")
def terminal_model_list(request: HttpRequest) -> list[TerminalModel]:
    return list(selectors.terminal_model_list())


@router.get("/terminals", response={200: TerminalPage, **ERRORS}, summary="List terminals",
            description="Terminals the caller may see; `q` is an exact SN or 8-digit TID.")
def terminal_list(request: HttpRequest, merchant_id: int | None = None, status: str = "", model: str = "",
                  q: str = "", offset: int = 0, limit: int = Query(50, ge=1, le=200)) -> dict:
    terminals = selectors.terminal_list_for_user(request.auth, merchant_id=merchant_id, status=status,
                                                 model=model, q=q)
    offset = max(offset, 0)
    if offset > MAX_OFFSET:
        raise field_error("offset", _("The offset is too large."), code="invalid_offset")
    rows = list(terminals[offset: offset + limit + 1])
    return {"items": rows[:limit], "next_offset": offset + limit if len(rows) > limit else None}


@router.post("/terminals", response={201: TerminalOut, **ERRORS}, summary="Register a terminal",
             description="Desk roles only. SN 6–32 letters/digits, TID exactly 8 digits; both unique. "
                         + IDEMPOTENCY_HEADER_DOC)
def terminal_create(request: HttpRequest, payload: TerminalIn) -> tuple[int, dict]:
    def produce() -> tuple[int, dict]:
        model = TerminalModel.objects.filter(code=payload.model).first()
        if model is None:
            raise field_error("model", _("Unknown terminal model."), code="invalid_model")
        merchant = None
        if payload.merchant_id is not None:
            merchant = merchant_get_for_user(request.auth, merchant_id=payload.merchant_id)
        terminal = services.terminal_register(
            actor=request.auth, sn=payload.sn, tid=payload.tid, model=model, merchant=merchant,
            firmware=payload.firmware, sim_iccid=payload.sim_iccid, sim_carrier=payload.sim_carrier,
            install_date=payload.install_date, warranty_end=payload.warranty_end,
        )
        return 201, TerminalOut.from_orm(terminal).model_dump(mode="json")

    answer, _replayed = idempotent_create(principal=principal(request), scope="terminal.create",
                                  key=idempotency_key(request), payload=payload.model_dump(mode="json"),
                                  produce=produce)
    return Answer(*answer)


@router.get("/terminals/{terminal_id}", response={200: TerminalOut, **ERRORS}, summary="Get a terminal")
def terminal_get(request: HttpRequest, terminal_id: int) -> Terminal:
    return selectors.terminal_get_for_user(request.auth, terminal_id=terminal_id)
