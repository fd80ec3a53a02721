"""One-time SMS codes for the merchant portal sign-in, and the sign-in built on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from posdesk.accounts.models import LoginCode, Role, User
from posdesk.accounts.services import (
    OTP_MAX_ATTEMPTS,
    login_code_issue,
    login_code_verify,
    login_failure_record,
    login_failures_clear,
    login_throttle_check,
)
from posdesk.audit.models import AuditEntry
from posdesk.core.errors import PermissionDenied, Throttled, ValidationFailed
from posdesk.merchants.services import merchant_login, merchant_login_code_send
from posdesk.outbox.models import OutboxMessage
from tests import factories as f

MOBILE = "13812345678"
START = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_is_six_digits_stored_only_as_a_digest(frozen, settings):
    code = login_code_issue(mobile=MOBILE)
    assert len(code) == 6 and code.isdigit()
    stored = LoginCode.objects.get(mobile=MOBILE)
    assert code not in stored.code_digest
    assert stored.expires_at == START + timedelta(seconds=settings.OTP_TTL_SECONDS)


def test_the_right_code_works_once(frozen):
    code = login_code_issue(mobile=MOBILE)
    assert login_code_verify(mobile=MOBILE, code=code) is True
    assert login_code_verify(mobile=MOBILE, code=code) is False


def test_a_code_for_another_mobile_does_not_work(frozen):
    code = login_code_issue(mobile=MOBILE)
    assert login_code_verify(mobile="13900001111", code=code) is False


def test_wrong_codes_count_attempts_and_five_wrong_tries_burn_the_code(frozen):
    code = login_code_issue(mobile=MOBILE)
    for attempt in range(1, OTP_MAX_ATTEMPTS + 1):
        assert login_code_verify(mobile=MOBILE, code=_wrong(code)) is False
        assert LoginCode.objects.get(mobile=MOBILE).attempts == attempt
    # after five wrong tries even the right code is refused
    assert OTP_MAX_ATTEMPTS == 5
    assert login_code_verify(mobile=MOBILE, code=code) is False


def test_four_wrong_tries_still_leave_the_right_code_usable(frozen):
    code = login_code_issue(mobile=MOBILE)
    for _ in range(OTP_MAX_ATTEMPTS - 1):
        login_code_verify(mobile=MOBILE, code=_wrong(code))
    assert login_code_verify(mobile=MOBILE, code=f" {code} ") is True


def test_a_code_expires(frozen, settings):
    code = login_code_issue(mobile=MOBILE)
    frozen.move_to(START + timedelta(seconds=settings.OTP_TTL_SECONDS + 1), tick=False)
    assert login_code_verify(mobile=MOBILE, code=code) is False


def test_a_new_code_is_refused_within_the_resend_interval(frozen, settings):
    login_code_issue(mobile=MOBILE)
    frozen.move_to(START + timedelta(seconds=settings.OTP_RESEND_SECONDS - 1), tick=False)
    with pytest.raises(Throttled) as refused:
        login_code_issue(mobile=MOBILE)
    assert refused.value.code == "otp_resend_too_soon"
    assert LoginCode.objects.filter(mobile=MOBILE).count() == 1


def test_after_the_interval_a_new_code_replaces_the_old_one(frozen, settings):
    old = login_code_issue(mobile=MOBILE)
    frozen.move_to(START + timedelta(seconds=settings.OTP_RESEND_SECONDS + 1), tick=False)
    new = login_code_issue(mobile=MOBILE)
    if old != new:
        assert login_code_verify(mobile=MOBILE, code=old) is False
    assert login_code_verify(mobile=MOBILE, code=new) is True


def test_sign_in_failures_lock_out_after_the_allowed_number(settings):
    settings.LOGIN_FAILURES_ALLOWED = 3
    for _ in range(3):
        login_throttle_check(scope="console", ident="Agent")
        login_failure_record(scope="console", ident="Agent")
    with pytest.raises(Throttled) as refused:
        login_throttle_check(scope="console", ident="agent")  # the name's case does not matter
    assert refused.value.code == "login_throttled"
    login_throttle_check(scope="portal", ident="agent")  # another scope is separate
    login_failures_clear(scope="console", ident="agent")
    login_throttle_check(scope="console", ident="agent")


# --- the portal sign-in -------------------------------------------------------------------


def test_a_registered_mobile_gets_its_code_by_sms(world, frozen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        merchant_login_code_send(mobile="138 1234 5678")
    message = OutboxMessage.objects.get(purpose=OutboxMessage.Purpose.LOGIN_CODE)
    assert message.recipient == MOBILE
    assert message.status == OutboxMessage.Status.SENT
    assert LoginCode.objects.filter(mobile=MOBILE).count() == 1


def test_an_unregistered_mobile_gets_the_same_silence_and_no_code(world, frozen):
    merchant_login_code_send(mobile="13700000000")
    assert not LoginCode.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_malformed_mobile_is_refused(world):
    with pytest.raises(ValidationFailed) as refused:
        merchant_login_code_send(mobile="12345")
    assert refused.value.code == "invalid_mobile"


def test_first_sign_in_creates_the_merchant_user_and_links_every_contact(frozen):
    shop = f.MerchantFactory()
    second_shop = f.MerchantFactory()
    f.MerchantContactFactory(merchant=shop, mobile="13700001234", name="陈老板")
    f.MerchantContactFactory(merchant=second_shop, mobile="13700001234", name="陈老板", is_primary=False)
    code = login_code_issue(mobile="13700001234")

    user = merchant_login(mobile="137-0000-1234", code=code)

    assert (user.role, user.mobile, user.display_name, user.has_usable_password()) == (
        Role.MERCHANT,
        "13700001234",
        "陈老板",
        False,
    )
    assert set(user.merchant_contacts.values_list("merchant_id", flat=True)) == {shop.pk, second_shop.pk}
    assert AuditEntry.objects.filter(actor=user, action=AuditEntry.Action.SIGN_IN).exists()


def test_a_wrong_code_is_refused_and_counted_towards_the_lockout(world, frozen, settings):
    settings.LOGIN_FAILURES_ALLOWED = 2
    code = login_code_issue(mobile=MOBILE)
    for _ in range(2):
        with pytest.raises(ValidationFailed) as refused:
            merchant_login(mobile=MOBILE, code=_wrong(code))
        assert refused.value.code == "invalid_login_code"
    with pytest.raises(Throttled):
        merchant_login(mobile=MOBILE, code=code)


def test_a_staff_mobile_cannot_sign_in_to_the_portal(world, frozen):
    staff = f.UserFactory(username="staff-with-mobile", role=Role.AGENT, mobile="13600001111")
    f.MerchantContactFactory(mobile="13600001111")
    code = login_code_issue(mobile="13600001111")
    with pytest.raises(PermissionDenied) as refused:
        merchant_login(mobile="13600001111", code=code)
    assert refused.value.code == "not_a_merchant_account"
    assert User.objects.get(pk=staff.pk).role == Role.AGENT


def test_a_wrong_code_at_sign_in_is_counted_against_the_code(world, frozen, settings):
    # the failed sign-in raises, but the attempt must not be rolled back with it
    settings.LOGIN_FAILURES_ALLOWED = 10  # the lockout is tested above; here the code itself burns
    code = login_code_issue(mobile=MOBILE)
    for attempt in range(1, OTP_MAX_ATTEMPTS + 1):
        with pytest.raises(ValidationFailed):
            merchant_login(mobile=MOBILE, code=_wrong(code))
        assert LoginCode.objects.get(mobile=MOBILE).attempts == attempt
    with pytest.raises(ValidationFailed):
        merchant_login(mobile=MOBILE, code=code)  # the code is burnt after five wrong tries
