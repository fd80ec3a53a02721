"""Reads of merchants. `merchant_scope_for_user` is the access gate: every view and API
operation reaches merchants through it."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from posdesk.accounts.models import Role, User
from posdesk.core.errors import NotFound
from posdesk.core.identifiers import MID_RE, normalise_mobile
from posdesk.core.rows import PreparedRead
from posdesk.core.text import clean_line
from posdesk.merchants.models import District, Merchant, MerchantContact


def merchant_ids_for_merchant_user(user: User) -> QuerySet:
    return MerchantContact.objects.filter(user=user).values("merchant_id")


def merchant_scope_for_user(user: User) -> QuerySet[Merchant]:
    merchants = Merchant.objects.all()
    if not user.is_authenticated or not user.is_active:
        return merchants.none()
    if user.is_desk:
        return merchants
    if user.role == Role.MERCHANT:
        return merchants.filter(pk__in=merchant_ids_for_merchant_user(user))
    # Field roles see the merchants of their own work only (relation names, no import upward).
    if user.role == Role.TECHNICIAN:
        return merchants.filter(tickets__assignee=user).distinct()
    if user.role == Role.VENDOR and user.organisation_id:
        return merchants.filter(tickets__vendor_id=user.organisation_id).distinct()
    return merchants.none()


def merchant_get_for_user(user: User, *, merchant_id: int | None = None, mid: str | None = None) -> Merchant:
    scope = merchant_scope_for_user(user).select_related("district")
    found: list[Merchant] = []
    if merchant_id is not None:
        found = list(scope.filter(pk=merchant_id)[:1])  # unique: no ORDER BY needed, unlike first()
    elif mid is not None:
        found = list(scope.filter(mid=mid)[:1])
    merchant = found[0] if found else None
    if merchant is None:
        raise NotFound(code="merchant_not_found")
    return merchant


def merchant_list_for_user(
    user: User, *, q: str = "", district: str = "", tier: str = ""
) -> QuerySet[Merchant]:
    merchants = merchant_scope_for_user(user).select_related("district")
    if district:
        merchants = merchants.filter(district__code=district)
    if tier:
        merchants = merchants.filter(tier=tier)
    q = clean_line(q)
    if q:
        if MID_RE.match(q):
            merchants = merchants.filter(mid=q)
        elif len(normalise_mobile(q)) == 11 and normalise_mobile(q).isdigit():
            merchants = merchants.filter(contacts__mobile=normalise_mobile(q))
        else:
            merchants = merchants.filter(Q(name__icontains=q) | Q(address__icontains=q))
    return merchants.order_by("name", "pk")


def merchant_contacts(merchant: Merchant) -> list[MerchantContact]:
    return list(merchant.contacts.order_by("-is_primary", "pk"))


def merchant_primary_mobile(merchant_id: int) -> str:
    """The mobile to notify: the primary contact's, else the first contact's that has one."""
    # A merchant has a handful of contacts: choosing in Python keeps this hot query simple.
    contacts = _contact_rows(merchant_id)
    ranked = sorted((not primary, pk, mobile) for primary, pk, mobile in contacts if mobile)
    return ranked[0][2] if ranked else ""


_contact_rows = PreparedRead(  # read on every ticket opened and every reply: compiled once (core/rows.py)
    lambda merchant_id: MerchantContact.objects.filter(merchant_id=merchant_id).values_list("is_primary", "pk", "mobile")
)


def district_list() -> QuerySet[District]:
    return District.objects.order_by("code")


def merchant_contact_get_for_user(user: User, *, contact_id: int) -> MerchantContact:
    """A contact of a merchant that `user` may see (through the merchant access gate), else NotFound."""
    contact = (
        MerchantContact.objects.filter(pk=contact_id, merchant__in=merchant_scope_for_user(user))
        .select_related("merchant")
        .first()
    )
    if contact is None:
        raise NotFound(code="contact_not_found")
    return contact
