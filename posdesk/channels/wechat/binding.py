"""Binding a WeChat follower (openid) to a merchant's contact, so their messages open tickets for
the right merchant: the follower sends the merchant's MID or a registered mobile, we text a
one-time code to the registered mobile, and the follower sends the code back in WeChat.

Only someone holding the registered phone can finish, and the follower learns no more about a
merchant than the masked mobile the code went to. Each function answers the text to send back.

A follower who runs several shops binds each of them the same way from WeChat (sending the next
shop's MID or mobile while already bound). Their report goes to the merchant whose MID, SN or TID it
names, else to the one they used last (`current_merchant`); sending the MID of a shop they bound
switches to it."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.channels.models import WeChatBinding
from posdesk.core.identifiers import MID_RE, MOBILE_RE, normalise_mobile
from posdesk.core.masking import mask_mobile
from posdesk.merchants.models import Merchant, MerchantContact
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_enqueue

logger = logging.getLogger("posdesk.channels")

CODE_TTL = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5
# one text message per follower per minute, so WeChat cannot be used to flood a merchant's phone
RESEND_COOLDOWN = timedelta(seconds=60)
CODE_RE = re.compile(r"^\d{6}$", re.ASCII)
_SPACES = re.compile(r"\s+")
# "绑定 898…" / "bind 898…": what a follower may put before the MID or mobile of the next shop
_BIND_WORD = re.compile(r"^(?:绑定|bind)[:：]?", re.IGNORECASE)

# What the follower reads (merchants write and read Chinese; outbound texts to them are Chinese,
# like the ticket service's).
INSTRUCTIONS = "绑定商户后即可在这里报修：请回复您的 15 位商户号，或商户登记的手机号，我们会向登记的手机发送验证码。"
CODE_SENT = "验证码已发送至 %(mobile)s，请在 10 分钟内回复 6 位验证码完成绑定。"
TOO_SOON = "操作太频繁，请 1 分钟后再试。"
NOT_FOUND = "未能发送验证码：请确认商户号或手机号与登记的一致。如有疑问请致电客服。"
NO_CODE_PENDING = "请先回复商户号或登记的手机号获取验证码。"
CODE_EXPIRED = "验证码已过期，请重新回复商户号或手机号获取新的验证码。"
CODE_WRONG = "验证码不正确，还可以再试 %(left)d 次。"
CODE_EXHAUSTED = "验证码错误次数过多，已失效。请重新回复商户号或手机号获取新的验证码。"
BOUND = "绑定成功！现在可以直接在这里描述 POS 机的问题，我们会为「%(merchant)s」开单处理。"
BOUND_SEVERAL = "绑定成功！现在可以直接在这里描述 POS 机的问题，请在消息中注明商户号或终端号。"
BOUND_ANOTHER = ("绑定成功！「%(merchant)s」已加入您绑定的商户，之后未注明商户号的报修都记在该商户名下；"
                 "发送其他已绑定商户的商户号即可切换。")
SWITCHED = "已切换到「%(merchant)s」（商户号 %(mid)s），之后未注明商户号的报修都记在该商户名下。"
SMS_CODE = "【posdesk】您正在绑定微信公众号，验证码 %(code)s，10 分钟内有效。如非本人操作，请忽略本短信。"


def code_digest(openid: str, code: str) -> str:
    """What is stored instead of the code: keyed with the site's secret and bound to the follower,
    so a leaked table does not give the codes away by hashing the million candidates."""
    return hmac.new(settings.SECRET_KEY.encode(), f"wechat-binding:{openid}:{code}".encode(),
                    hashlib.sha256).hexdigest()


def _normalised(text: str) -> str:
    # full-width digits (１２３) and spaces inside numbers are how people type on phones
    return _SPACES.sub("", unicodedata.normalize("NFKC", text))


def is_binding_code(text: str) -> bool:
    return bool(CODE_RE.match(_normalised(text)))


def wechat_binding_answer(*, openid: str, text: str, at: datetime | None = None) -> str:
    """What a follower who is not bound yet wrote: a code, a MID, a mobile, or anything else
    (answered with the instructions)."""
    compact = _normalised(text)
    if CODE_RE.match(compact):
        return wechat_binding_confirm(openid=openid, code=compact, at=at)
    mobile = normalise_mobile(compact)
    if MID_RE.match(compact) or MOBILE_RE.match(mobile):
        return wechat_binding_start(openid=openid, identifier=compact, at=at)
    return INSTRUCTIONS


def _contacts_for(identifier: str) -> tuple[list[MerchantContact], Merchant | None]:
    """Whom a MID or mobile points to: a MID, its merchant's contacts sharing the primary mobile;
    a mobile, every active merchant's contacts registered with it (one person, several shops)."""
    active = MerchantContact.objects.select_related("merchant").filter(merchant__status=Merchant.Status.ACTIVE)
    if MID_RE.match(identifier):
        ranked = [c for c in active.filter(merchant__mid=identifier).exclude(mobile="").order_by("-is_primary", "pk")]
        if not ranked:
            return [], None
        return [c for c in ranked if c.mobile == ranked[0].mobile], ranked[0].merchant
    contacts = list(active.filter(mobile=normalise_mobile(identifier)).order_by("-is_primary", "pk"))
    merchants = {c.merchant_id for c in contacts}
    return contacts, (contacts[0].merchant if len(merchants) == 1 else None)


def wechat_bound_follower_answer(*, openid: str, text: str, bound: dict[int, Merchant],
                                 at: datetime | None = None) -> str | None:
    """What a follower already bound to `bound` (merchant id → merchant) wrote, when it is about
    their bindings rather than a fault: the code of a binding in progress confirms it; the MID of
    a shop they bound switches to it; another MID, or a mobile, starts binding that shop. None: a
    fault report (a report carries words, not just a number)."""
    compact = _BIND_WORD.sub("", _normalised(text))
    if CODE_RE.match(compact):
        pending = WeChatBinding.objects.filter(openid=openid).exclude(code_digest="").exists()
        return wechat_binding_confirm(openid=openid, code=compact, at=at) if pending else None
    if MID_RE.match(compact):
        for merchant in bound.values():
            if merchant.mid == compact:
                wechat_binding_use(openid=openid, merchant=merchant, at=at)
                return SWITCHED % {"merchant": merchant.name, "mid": merchant.mid}
        return wechat_binding_start(openid=openid, identifier=compact, at=at)
    if MOBILE_RE.match(normalise_mobile(compact)):
        return wechat_binding_start(openid=openid, identifier=compact, at=at)
    return None


def wechat_binding_use(*, openid: str, merchant: Merchant, at: datetime | None = None) -> None:
    """Remember the merchant the follower reported for or switched to last."""
    binding, created = WeChatBinding.objects.get_or_create(
        openid=openid, defaults={"created_at": at or timezone.now(), "current_merchant": merchant})
    if not created and binding.current_merchant_id != merchant.pk:
        binding.current_merchant = merchant
        binding.save(update_fields=["current_merchant"])


def wechat_current_merchant_id(openid: str) -> int | None:
    return WeChatBinding.objects.filter(openid=openid).values_list("current_merchant_id", flat=True).first()


@transaction.atomic
def wechat_binding_start(*, openid: str, identifier: str, at: datetime | None = None) -> str:
    """Text a one-time code to the registered mobile behind `identifier` (MID or mobile)."""
    now = at or timezone.now()
    binding, _created = WeChatBinding.objects.select_for_update().get_or_create(
        openid=openid, defaults={"created_at": now})
    if binding.code_expires_at is not None and binding.code_expires_at - CODE_TTL + RESEND_COOLDOWN > now:
        return TOO_SOON
    contacts, merchant = _contacts_for(identifier)
    if not contacts:
        logger.info("wechat binding asked for an unknown merchant or mobile")
        return NOT_FOUND
    contact = contacts[0]
    code = f"{secrets.randbelow(10**6):06d}"
    binding.merchant, binding.contact = merchant, contact
    binding.code_digest, binding.code_expires_at, binding.attempts = code_digest(openid, code), now + CODE_TTL, 0
    binding.bound_at = None
    binding.save(update_fields=["merchant", "contact", "code_digest", "code_expires_at", "attempts", "bound_at"])
    outbox_enqueue(channel=OutboxMessage.Channel.SMS, purpose=OutboxMessage.Purpose.LOGIN_CODE,
                   recipient=contact.mobile, body=SMS_CODE % {"code": code})
    return CODE_SENT % {"mobile": mask_mobile(contact.mobile)}


def _spend_code(binding: WeChatBinding, fields: list[str]) -> None:
    binding.code_digest = ""
    binding.save(update_fields=["code_digest", *fields])


@transaction.atomic
def wechat_binding_confirm(*, openid: str, code: str, at: datetime | None = None) -> str:
    """Check the code the follower sent; right, their openid is set on the contacts it was sent
    for. Wrong five times, or older than ten minutes, and the code is spent."""
    now = at or timezone.now()
    binding = WeChatBinding.objects.select_for_update().filter(openid=openid).first()
    if binding is None or not binding.code_digest or binding.code_expires_at is None or binding.contact_id is None:
        return NO_CODE_PENDING
    if binding.code_expires_at <= now:
        _spend_code(binding, [])
        return CODE_EXPIRED
    if not hmac.compare_digest(code_digest(openid, _normalised(code)), binding.code_digest):
        binding.attempts += 1
        if binding.attempts >= MAX_CODE_ATTEMPTS:
            _spend_code(binding, ["attempts"])
            return CODE_EXHAUSTED
        binding.save(update_fields=["attempts"])
        return CODE_WRONG % {"left": MAX_CODE_ATTEMPTS - binding.attempts}
    contact = binding.contact
    targets = MerchantContact.objects.filter(mobile=contact.mobile, merchant__status=Merchant.Status.ACTIVE)
    if binding.merchant_id is not None:
        targets = targets.filter(merchant_id=binding.merchant_id)
    bound = list(targets.select_related("merchant", "user").order_by("-is_primary", "pk"))
    if not bound:  # the contact or its merchant left since the code was sent
        _spend_code(binding, [])
        return NOT_FOUND
    bound_before = set(MerchantContact.objects.filter(wechat_openid=openid).values_list("merchant_id", flat=True))
    for target in bound:
        if target.wechat_openid != openid:
            previous = "set" if target.wechat_openid else ""
            target.wechat_openid = openid
            target.save(update_fields=["wechat_openid"])
            # the openid itself stays out of the log: it identifies a person across services
            audit_record(actor=target.user, action=AuditEntry.Action.UPDATE, target=target,
                         summary="WeChat follower bound by SMS code",
                         changes={"wechat_openid": [previous or None, "bound"]})
    binding.bound_at = now
    merchants = {target.merchant_id: target.merchant for target in bound}
    if len(merchants) != 1:
        _spend_code(binding, ["bound_at"])
        return BOUND_SEVERAL
    merchant = next(iter(merchants.values()))
    binding.current_merchant = merchant  # the shop just bound is the one they mean next
    _spend_code(binding, ["bound_at", "current_merchant"])
    if bound_before - {merchant.pk}:
        return BOUND_ANOTHER % {"merchant": merchant.name}
    return BOUND % {"merchant": merchant.name}
