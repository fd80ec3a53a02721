"""Writes for users, tokens, sign-in throttling and one-time codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import ApiToken, LoginCode, User
from posdesk.core.errors import Throttled
from posdesk.core.rows import PreparedRead

TOKEN_PREFIX = "pd_"  # noqa: S105 - a public prefix, not a secret


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_issue(*, user: User, name: str = "") -> str:
    """Create a token and return its secret; only its digest is stored, so it is shown once."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=secret[:10], digest=_digest(secret))
    return secret


def api_token_authenticate(secret: str) -> User | None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    found = _active_token_row(_digest(secret))
    if not found:
        return None
    token_id, last_used_at, *user_values = found[0]
    now = timezone.now()
    # Touch at most once a minute: a write per API call would cost more than it tells.
    if last_used_at is None or now - last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return User.from_db(DEFAULT_DB_ALIAS, _USER_ATTNAMES, user_values)


# every API call runs this read: its SQL is compiled once (core/rows.py)
_USER_ATTNAMES = [field.attname for field in User._meta.concrete_fields]
_active_token_row = PreparedRead(
    lambda digest: ApiToken.objects.filter(digest=digest, revoked_at__isnull=True, user__is_active=True)
    .values_list("pk", "last_used_at", *(f"user__{name}" for name in _USER_ATTNAMES))[:1]
)


def api_token_revoke(*, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])


# --- sign-in throttling (SPEC §8: login throttled) --------------------------------------------

def _failures_key(scope: str, ident: str) -> str:
    return f"login-fail:{scope}:{hashlib.sha256(ident.lower().encode()).hexdigest()[:24]}"


def login_throttle_check(*, scope: str, ident: str) -> None:
    if cache.get(_failures_key(scope, ident), 0) >= settings.LOGIN_FAILURES_ALLOWED:
        raise Throttled(_("Too many failed sign-in attempts. Try again in 15 minutes."), code="login_throttled")


def login_failure_record(*, scope: str, ident: str) -> None:
    key = _failures_key(scope, ident)
    cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def login_failures_clear(*, scope: str, ident: str) -> None:
    cache.delete(_failures_key(scope, ident))


# --- one-time SMS codes --------------------------------------------------------------------

OTP_MAX_ATTEMPTS = 5


def _code_digest(mobile: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def login_code_issue(*, mobile: str) -> str:
    """Make a 6-digit code for `mobile`; refuses a new one within the resend interval."""
    now = timezone.now()
    recent = LoginCode.objects.filter(
        mobile=mobile, created_at__gt=now - timedelta(seconds=settings.OTP_RESEND_SECONDS)
    ).exists()
    if recent:
        raise Throttled(_("A code was sent less than a minute ago. Please wait before asking again."),
                        code="otp_resend_too_soon")
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        LoginCode.objects.filter(mobile=mobile, consumed_at__isnull=True).update(consumed_at=now)
        LoginCode.objects.create(
            mobile=mobile,
            code_digest=_code_digest(mobile, code),
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
    return code


def login_code_verify(*, mobile: str, code: str) -> bool:
    """True once for the right, unexpired code; every wrong try counts against the code."""
    now = timezone.now()
    with transaction.atomic():
        login_code = (
            LoginCode.objects.select_for_update()
            .filter(mobile=mobile, consumed_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at")
            .first()
        )
        if login_code is None or login_code.attempts >= OTP_MAX_ATTEMPTS:
            return False
        if not hmac.compare_digest(login_code.code_digest, _code_digest(mobile, code.strip())):
            login_code.attempts += 1
            login_code.save(update_fields=["attempts"])
            return False
        login_code.consumed_at = now
        login_code.save(update_fields=["consumed_at"])
        return True
