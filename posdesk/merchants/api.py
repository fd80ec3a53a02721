from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja import Status as Answer

from posdesk.core.api import ERRORS, IDEMPOTENCY_HEADER_DOC, idempotency_key, principal
from posdesk.core.errors import NotFound, field_error
from posdesk.core.idempotency import idempotent_create
from posdesk.merchants import selectors, services
from posdesk.merchants.models import District, Merchant

MAX_OFFSET = 1_000_000

router = Router(tags=["merchants"])


class DistrictOut(Schema):
    code: str
    name_zh: str
    name_en: str


class ContactOut(Schema):
    id: int
    name: str
    mobile: str  # masked
    email: str  # masked
    is_primary: bool


class MerchantOut(Schema):
    id: int
    mid: str
    name: str
    tier: str
    status: str
    district: DistrictOut | None
    address: str
    latitude: Decimal | None
    longitude: Decimal | None


class MerchantDetailOut(MerchantOut):
    contacts: list[ContactOut]


class MerchantPage(Schema):
    items: list[MerchantOut]
    next_offset: int | None
    count: int


class MerchantIn(Schema):
    # lengths as the columns allow (PostgreSQL refuses longer values; SQLite would keep them)
    mid: str = Field(max_length=40)
    name: str = Field(max_length=120)
    district: str | None = Field(None, max_length=40)
    address: str = Field("", max_length=200)
    tier: str = Field(Merchant.Tier.STANDARD, max_length=12)
    latitude: Decimal | None = Field(None, ge=-90, le=90)
    longitude: Decimal | None = Field(None, ge=-180, le=180)
    contact_name: str = Field("", max_length=60)
    contact_mobile: str = Field("", max_length=40)
    contact_email: str = Field("", max_length=254)


class ContactRevealOut(Schema):
    mobile: str
    email: str
    wechat_openid: str


def merchant_detail(merchant: Merchant) -> dict:
    data = MerchantOut.from_orm(merchant).model_dump(mode="json")
    data["contacts"] = [
        {"id": c.pk, "name": c.name, "mobile": c.masked_mobile, "email": c.masked_email, "is_primary": c.is_primary}
        for c in selectors.merchant_contacts(merchant)
    ]
    return data


@router.get("/merchants", response={200: MerchantPage, **ERRORS}, summary="List merchants",
            description="Merchants the caller may see, by name; `q` matches a MID, a contact's mobile, "
                        "or part of the name or address.")
def merchant_list(request: HttpRequest, q: str = "", district: str = "", tier: str = "",
                  offset: int = 0, limit: int = Query(50, ge=1, le=200)) -> dict:
    merchants = selectors.merchant_list_for_user(request.auth, q=q, district=district, tier=tier)
    offset = max(offset, 0)
    if offset > MAX_OFFSET:
        raise field_error("offset", _("The offset is too large."), code="invalid_offset")
    rows = list(merchants[offset: offset + limit + 1])
    return {
        "items": rows[:limit],
        "next_offset": offset + limit if len(rows) > limit else None,
        "count": merchants.count(),
    }


@router.post("/merchants", response={201: MerchantDetailOut, **ERRORS}, summary="Register a merchant",
             description="Desk roles only. The MID is 15 digits and unique. " + IDEMPOTENCY_HEADER_DOC)
def merchant_create(request: HttpRequest, payload: MerchantIn) -> tuple[int, dict]:
    def produce() -> tuple[int, dict]:
        district = None
        if payload.district:
            district = District.objects.filter(code=payload.district).first()
            if district is None:
                raise field_error("district", _("Unknown district."), code="invalid_district")
        merchant = services.merchant_create(
            actor=request.auth, mid=payload.mid, name=payload.name, district=district,
            address=payload.address, tier=payload.tier, latitude=payload.latitude, longitude=payload.longitude,
            contact_name=payload.contact_name, contact_mobile=payload.contact_mobile,
            contact_email=payload.contact_email,
        )
        return 201, merchant_detail(merchant)

    answer, _replayed = idempotent_create(principal=principal(request), scope="merchant.create",
                                  key=idempotency_key(request), payload=payload.model_dump(mode="json"),
                                  produce=produce)
    return Answer(*answer)


@router.get("/merchants/{merchant_id}", response={200: MerchantDetailOut, **ERRORS}, summary="Get a merchant",
            description="Contacts' mobiles and e-mails are masked; see the reveal operation.")
def merchant_get(request: HttpRequest, merchant_id: int) -> dict:
    return merchant_detail(selectors.merchant_get_for_user(request.auth, merchant_id=merchant_id))


@router.post("/merchants/{merchant_id}/contacts/{contact_id}/reveal", response={200: ContactRevealOut, **ERRORS},
             summary="Reveal a contact's details",
             description="The unmasked mobile, e-mail and WeChat openid, for a role that must call or "
                         "visit. Every call is written to the audit log.")
def contact_reveal(request: HttpRequest, merchant_id: int, contact_id: int) -> dict:
    merchant = selectors.merchant_get_for_user(request.auth, merchant_id=merchant_id)
    contact = merchant.contacts.filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(code="contact_not_found")
    return services.merchant_contact_reveal(actor=request.auth, contact=contact)
