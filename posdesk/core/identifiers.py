"""Parsers for the identifiers of the POS business (SPEC §4, shared/data/README.md):
商户号 MID (ISO 8583 field 42, 15 digits), 终端号 TID (field 41, 8 digits), terminal SN and
mainland mobile numbers. Each returns the normalised value or raises a field error."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from posdesk.core.errors import field_error

# ASCII digits only: `\d` alone also matches full-width and other scripts' digits (１２３…).
MID_RE = re.compile(r"^\d{15}$", re.ASCII)
TID_RE = re.compile(r"^\d{8}$", re.ASCII)
SN_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{4,30}[A-Z0-9]$", re.ASCII)
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)


def parse_mid(value: str, field: str = "mid") -> str:
    value = (value or "").strip()
    if not MID_RE.match(value):
        raise field_error(field, _("A merchant number (MID) is exactly 15 digits."), code="invalid_mid")
    return value


def parse_tid(value: str, field: str = "tid") -> str:
    value = (value or "").strip()
    if not TID_RE.match(value):
        raise field_error(field, _("A terminal number (TID) is exactly 8 digits."), code="invalid_tid")
    return value


def parse_sn(value: str, field: str = "sn") -> str:
    value = (value or "").strip().upper()
    if not SN_RE.match(value):
        raise field_error(
            field,
            _("A serial number (SN) is 6 to 32 letters, digits or hyphens."),
            code="invalid_sn",
        )
    return value


_MOBILE_SEPARATORS = re.compile(r"[\s\-()]")


def normalise_mobile(value: str | None) -> str:
    """11 digits for a mainland mobile written with a country code (+86, 0086, 86) or with spaces,
    hyphens or brackets; anything else comes back as the digits and signs it had, for the caller
    to refuse."""
    compact = _MOBILE_SEPARATORS.sub("", value or "")
    for prefix in ("+86", "0086", "86"):
        rest = compact.removeprefix(prefix)
        if rest != compact and MOBILE_RE.match(rest):
            return rest
    return compact


def is_mainland_mobile(value: str) -> bool:
    return bool(MOBILE_RE.match(value))


def parse_mobile(value: str, field: str = "mobile") -> str:
    mobile = normalise_mobile(value)
    if not MOBILE_RE.match(mobile):
        raise field_error(field, _("Enter an 11-digit mainland mobile number."), code="invalid_mobile")
    return mobile
