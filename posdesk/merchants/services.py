"""Writes for merchants, their contacts, and the merchant portal sign-in."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import Role, User
from posdesk.accounts.services import (
    login_code_issue,
    login_code_verify,
    login_failure_record,
    login_failures_clear,
    login_throttle_check,
)
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_personal_data_view, audit_record
from posdesk.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from posdesk.core.identifiers import parse_mid, parse_mobile
from posdesk.core.masking import mask_mobile
from posdesk.core.text import clean_line
from posdesk.merchants.models import District, Merchant, MerchantContact
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_enqueue

logger = logging.getLogger(__name__)


def _require_desk(actor: User) -> None:
    if not actor.is_desk:
        raise PermissionDenied()


@transaction.atomic
def merchant_create(
    *,
    actor: User,
    mid: str,
    name: str,
    district: District | None = None,
    address: str = "",
    tier: str = Merchant.Tier.STANDARD,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    contact_name: str = "",
    contact_mobile: str = "",
    contact_email: str = "",
) -> Merchant:
    _require_desk(actor)
    mid = parse_mid(mid)
    name = clean_line(name)
    if not name:
        raise field_error("name", _("The merchant name is required."))
    if tier not in Merchant.Tier.values:
        raise field_error("tier", _("Unknown merchant tier."))
    if Merchant.objects.filter(mid=mid).exists():
        raise Conflict(_("A merchant with this MID already exists."), code="merchant_exists", detail={"mid": mid})
    try:
        with transaction.atomic():
            merchant = Merchant.objects.create(
                mid=mid, name=name, district=district, address=clean_line(address), tier=tier,
                latitude=latitude, longitude=longitude,
            )
    except IntegrityError as exc:  # a concurrent create with the same MID
        raise Conflict(_("A merchant with this MID already exists."), code="merchant_exists") from exc
    if contact_name or contact_mobile:
        merchant_contact_add(
            actor=actor, merchant=merchant, name=contact_name or name, mobile=contact_mobile,
            email=contact_email, is_primary=True,
        )
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, target=merchant, summary=f"merchant {mid}")
    return merchant


@transaction.atomic
def merchant_contact_add(
    *, actor: User, merchant: Merchant, name: str, mobile: str = "", email: str = "",
    wechat_openid: str = "", is_primary: bool = False,
) -> MerchantContact:
    mobile = parse_mobile(mobile) if mobile else ""
    contact = MerchantContact.objects.create(
        merchant=merchant, name=clean_line(name), mobile=mobile, email=clean_line(email).lower(),
        wechat_openid=wechat_openid, is_primary=is_primary,
    )
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, target=contact,
        summary=f"contact for merchant {merchant.mid}",
    )
    return contact


def merchant_contact_reveal(*, actor: User, contact: MerchantContact) -> dict[str, str]:
    """The unmasked contact details, for a role that needs them to call or visit. Audited.
    The caller has already fetched the merchant through its access gate."""
    if actor.role == Role.MERCHANT and contact.user_id != actor.pk:
        # a merchant user sees fellow contacts of their own merchants masked only
        raise PermissionDenied()
    audit_personal_data_view(actor=actor, target=contact, fields=["mobile", "email", "wechat_openid"])
    return {"mobile": contact.mobile, "email": contact.email, "wechat_openid": contact.wechat_openid}


# --- merchant portal sign-in ----------------------------------------------------------------

def merchant_login_code_send(*, mobile: str) -> None:
    """Send a sign-in code to a registered contact's mobile. The answer to the caller is the same
    whether or not the number is registered, so the form cannot be used to find merchants."""
    mobile = parse_mobile(mobile)
    registered = MerchantContact.objects.filter(
        mobile=mobile, merchant__status=Merchant.Status.ACTIVE
    ).exists()
    if not registered:
        logger.info("portal sign-in code asked for an unregistered mobile %s", mask_mobile(mobile))
        return
    with transaction.atomic():
        code = login_code_issue(mobile=mobile)
        outbox_enqueue(
            channel=OutboxMessage.Channel.SMS,
            purpose=OutboxMessage.Purpose.LOGIN_CODE,
            recipient=mobile,
            body=f"【posdesk】您的登录验证码为 {code}，5 分钟内有效，请勿告诉他人。",
        )


def merchant_login(*, mobile: str, code: str) -> User:
    """Verify the code and return the merchant user for this mobile, creating it on first sign-in
    and linking it to every contact registered with the number. The code check commits on its own,
    so a wrong try counts against the code even though this call then fails."""
    mobile = parse_mobile(mobile)
    login_throttle_check(scope="portal", ident=mobile)
    if not code or not code.strip().isdigit() or not login_code_verify(mobile=mobile, code=code):
        login_failure_record(scope="portal", ident=mobile)
        raise ValidationFailed(_("The code is wrong or has expired."), code="invalid_login_code",
                               detail={"field": "code"})
    login_failures_clear(scope="portal", ident=mobile)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(mobile=mobile).first()
        if user is None:
            user = User(username=f"m{mobile}", mobile=mobile, role=Role.MERCHANT)
            user.set_unusable_password()
            primary = MerchantContact.objects.filter(mobile=mobile).order_by("-is_primary", "pk").first()
            user.display_name = primary.name if primary else ""
            user.save()
            audit_record(actor=user, action=AuditEntry.Action.CREATE, target=user, summary="portal user")
        elif user.role != Role.MERCHANT or not user.is_active:
            raise PermissionDenied(_("This number belongs to a staff account; staff sign in to the console."),
                                   code="not_a_merchant_account")
        MerchantContact.objects.filter(mobile=mobile, user__isnull=True).update(user=user)
        audit_record(actor=user, action=AuditEntry.Action.SIGN_IN, target=user, summary="portal sign-in")
    return user
