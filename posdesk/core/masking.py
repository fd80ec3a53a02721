"""Masking of personal financial information (PIPL; JR/T 0171-2020) for lists, logs and API
answers. Unmasked values are shown only through audited services."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\D")
# A mobile stands alone, or follows the country code (+86 / 0086, which stays visible).
MOBILE_IN_TEXT = re.compile(r"(?:(?<=\+86)|(?<=0086)|(?<!\d))(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")


def mask_mobile(mobile: str | None) -> str:
    """138****5678 for a mainland mobile; other numbers keep their first 3 and last 2 digits."""
    if not mobile:
        return ""
    digits = _DIGITS.sub("", mobile)
    if len(digits) == 13 and digits.startswith("86") and mobile.lstrip().startswith("+"):
        digits = digits[2:]  # +86 country code
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 5)}{digits[-2:]}"


def mask_id_number(value: str | None) -> str:
    """Resident ID or account number: first 6 and last 4 kept (e.g. 330102********1234)."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * (len(value) - 2)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return email or ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


# WeChat adds the follower's openid to the push URL (…/wechat/?signature=…&openid=o6_bm…), and
# Django's own request log writes whole URLs
OPENID_IN_TEXT = re.compile(r"(?i)((?:^|[?&\s\"'])(?:open_?id|FromUserName)=[\"']?)([A-Za-z0-9_-]{0,3})[A-Za-z0-9_-]*")


def mask_text(text: str) -> str:
    """Mask every mainland mobile number and every openid parameter inside free text (log lines)."""
    text = MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return OPENID_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


_EMAIL_IN_TEXT = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_#=+/-]{17,}")  # openids, keys, base64: kept as their first 3


def mask_excerpt(body: bytes, limit: int = 80) -> str:
    """The first `limit` characters of a body nobody vouched for, showing its shape and nothing
    personal: digits become #, any non-ASCII character (Chinese names, addresses, texts) *,
    e-mail addresses keep their first letter and domain, long tokens (openids) their first 3
    characters, control characters become a middle dot. For telling XML from JSON from an HTML
    error page, not for reading what someone wrote."""
    text = body[: limit * 4].decode("utf-8", "replace")[:limit]
    text = _EMAIL_IN_TEXT.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = "".join(
        "#" if ch.isdigit() else "*" if not ch.isascii() else "·" if not ch.isprintable() else ch
        for ch in text
    )
    return _LONG_TOKEN.sub(lambda m: m.group(0)[:3] + "…", text)
