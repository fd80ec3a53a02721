"""Parsers for MID, TID, SN and mobile numbers: what they accept, normalise and refuse."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from posdesk.core.errors import ValidationFailed
from posdesk.core.identifiers import normalise_mobile, parse_mid, parse_mobile, parse_sn, parse_tid

ASCII_DIGITS = "0123456789"
blanks = st.text(alphabet=" \t\n", max_size=3)


@given(digits=st.text(alphabet=ASCII_DIGITS, min_size=15, max_size=15), before=blanks, after=blanks)
def test_any_15_digits_are_a_mid_around_any_whitespace(digits, before, after):
    assert parse_mid(before + digits + after) == digits


@given(value=st.text(max_size=20))
@example("１２３４５６７８９０１２３４５")  # full-width digits
@example("٨٩٨٣٣٠١٦٠١٢٠٠٢١٥")  # Arabic-Indic digits
@example("89833016012002")
@example("8983301601200210")
@example("898330-16012002")
def test_anything_else_is_refused_as_a_mid(value):
    if re.fullmatch(r"[0-9]{15}", value.strip(), flags=re.ASCII):
        return
    with pytest.raises(ValidationFailed) as refused:
        parse_mid(value)
    assert refused.value.code == "invalid_mid"
    assert refused.value.detail == {"field": "mid"}


@given(digits=st.text(alphabet=ASCII_DIGITS, min_size=8, max_size=8))
def test_any_8_digits_are_a_tid(digits):
    assert parse_tid(f" {digits} ") == digits


@given(value=st.text(max_size=12))
@example("１２３４５６７８")
@example("1000000")
@example("100000001")
@example("1000 0001")
def test_anything_else_is_refused_as_a_tid(value):
    if re.fullmatch(r"[0-9]{8}", value.strip(), flags=re.ASCII):
        return
    with pytest.raises(ValidationFailed) as refused:
        parse_tid(value, field="terminal_tid")
    assert refused.value.code == "invalid_tid"
    assert refused.value.detail == {"field": "terminal_tid"}


@given(sn=st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{4,30}[A-Z0-9]\Z"))
def test_serial_numbers_are_accepted_and_upper_cased(sn):
    assert parse_sn(sn.lower()) == sn


@pytest.mark.parametrize(
    "bad", ["", "N7NL", "-N7NL0001", "N7NL0001-", "N7NL 0001", "N7NL_0001", "A" * 33, "序列号123456"]
)
def test_malformed_serial_numbers_are_refused(bad):
    with pytest.raises(ValidationFailed) as refused:
        parse_sn(bad)
    assert refused.value.code == "invalid_sn"


@given(rest=st.text(alphabet=ASCII_DIGITS, min_size=9, max_size=9), second=st.sampled_from("3456789"))
def test_mainland_mobiles_are_accepted_in_the_usual_spellings(rest, second):
    mobile = f"1{second}{rest}"
    for spelling in (
        mobile,
        f"+86{mobile}",
        f"0086{mobile}",
        f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}",
        f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
        f"+86 {mobile}",
    ):
        assert parse_mobile(spelling) == mobile


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "12812345678",
        "1381234567",
        "138123456789",
        "1381234567a",
        "１３８１２３４５６７８",
        "010-12345678",
    ],
)
def test_malformed_mobiles_are_refused(bad):
    with pytest.raises(ValidationFailed) as refused:
        parse_mobile(bad)
    assert refused.value.code == "invalid_mobile"


def test_normalising_keeps_what_is_not_a_prefix_or_separator():
    assert normalise_mobile(" 138 1234-5678 ") == "13812345678"
    assert normalise_mobile("agent") == "agent"
    assert normalise_mobile("") == ""
