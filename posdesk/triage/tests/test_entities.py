"""Entity extraction (C6): exact on the formats SPEC names, and numbers never read as each other."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posdesk.triage.entities import SN_PREFIXES, extract_entities

# --- terminal SN ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sn"),
    [
        ("SN:N3NL24000123 机器坏了", "N3NL24000123"),
        ("机身号paxa92024001234黑屏", "PAXA92024001234"),  # lower case, glued to Chinese
        ("序列号是 LDE55023004567", "LDE55023004567"),
        ("我的机器 SMP225000321 打印不出来", "SMP225000321"),
        ("FR40NL24000088扫码盒子不亮", "FR40NL24000088"),
        ("sn号 ABC-2024-000917 一直重启", "ABC-2024-000917"),  # another maker, labelled
        ("ＳＮ：Ｎ６ＮＬ２３００００４５", "N6NL23000045"),  # full-width
        ("机器N7NL00000001坏了", "N7NL00000001"),  # an unlabelled serial: letters and ≥ 6 digits
    ],
)
def test_a_terminal_sn_is_read_in_its_formats(text, sn):
    assert extract_entities(text).sn == [sn]


@pytest.mark.parametrize(
    "text",
    ["固件版本 QT6700A1 / 31.20", "工单 T20261204000123 怎么没人处理", "机型A920 和 ME31", "V1.4.5 升级失败"],
)
def test_firmware_names_models_and_ticket_numbers_are_not_serials(text):
    assert extract_entities(text).sn == []


# --- TID and MID ---------------------------------------------------------------------------------


def test_a_tid_and_a_mid_written_together_are_each_read_once():
    entities = extract_entities("商户号898330157220001终端号12345678 刷不了卡")
    assert entities.mid == ["898330157220001"]
    assert entities.tid == ["12345678"]


def test_the_eight_digits_inside_a_mid_are_not_a_tid():
    entities = extract_entities("商户编号 898330157220001")
    assert entities.mid == ["898330157220001"]
    assert entities.tid == []


def test_longer_digit_runs_give_neither_a_mid_nor_a_tid():
    # a 19-digit card number and a 20-digit ICCID
    entities = extract_entities("卡号6222021234567890123 流量卡89860012345678901234")
    assert entities.mid == [] and entities.tid == [] and entities.phone == []


def test_a_date_is_not_a_tid_unless_it_is_labelled_as_one():
    assert extract_entities("20241203那天的钱没到").tid == []
    assert extract_entities("终端号20241203").tid == ["20241203"]
    assert extract_entities("TID: 20241203").tid == ["20241203"]


def test_an_amount_is_not_a_tid():
    entities = extract_entities("一共12345678元")
    assert entities.tid == [] and entities.amount == ["12345678"]


# --- response codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("交易失败 返回码96", ["96"]),
        ("刷卡显示A0", ["A0"]),
        ("应答码：51 余额不足", ["51"]),
        ("错误码是Z1", ["Z1"]),
        ("提示“55”密码错误", ["55"]),
        ("pos机报51错误", ["51"]),
        ("error code 05 on a card", ["05"]),
        ("response code: a7", ["A7"]),
        ("rc=96", ["96"]),
        ("交易失败96 客人走了", ["96"]),
        ("Z1错误 所有交易都这样", ["Z1"]),
        ("显示A0 然后又显示 96", ["A0", "96"]),
    ],
)
def test_a_response_code_is_read_where_the_message_says_it_is_one(text, codes):
    assert extract_entities(text).response_code == codes


@pytest.mark.parametrize(
    "text",
    [
        "今天刷了51笔", "报了10次错了", "12点以后刷不了", "显示OK", "一共96元", "3楼51号店铺",
        "提示12345678", "我们店有20台机器", "版本 V2.1.0 显示正常",
    ],
)
def test_other_two_digit_numbers_are_not_response_codes(text):
    assert extract_entities(text).response_code == []


# --- phones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("电话13800138000", "13800138000"),
        ("我的电话是138 0013 8000", "13800138000"),
        ("打138-0013-8000找我", "13800138000"),
        ("+86 139-1234-5678", "13912345678"),
        ("+8613912345678", "13912345678"),
        ("0086 13912345678", "13912345678"),
        ("座机0571-8888 8888", "0571-88888888"),
        ("(0571)88888888", "0571-88888888"),
        ("（0571）88888888", "0571-88888888"),
        ("0571 88888888", "0571-88888888"),
        ("057188888888", "0571-88888888"),
        ("北京的010-62345678", "010-62345678"),
        ("021 6234 5678", "021-62345678"),
        ("客服4008208820打不通", "4008208820"),
    ],
)
def test_mobiles_and_landlines_are_read_in_the_ways_people_write_them(text, phone):
    assert extract_entities(text).phone == [phone]


def test_phones_come_back_in_reading_order():
    entities = extract_entities("座机0571-88888888 手机13800138000")
    assert entities.phone == ["0571-88888888", "13800138000"]


def test_a_mid_is_not_a_phone_and_a_phone_is_not_a_tid():
    entities = extract_entities("商户号898313800138000 电话13812345678")
    assert entities.mid == ["898313800138000"]
    assert entities.phone == ["13812345678"]
    assert entities.tid == []


def test_a_card_number_written_in_groups_is_not_a_phone():
    assert extract_entities("客人卡号6222 0212 3456 7890刷不了").phone == []


def test_a_landline_number_is_not_a_tid():
    entities = extract_entities("打了0571-62345678没人接")
    assert entities.phone == ["0571-62345678"] and entities.tid == []


# --- amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("扣了两次 ¥1,280.50", ["1280.50"]),
        ("￥98", ["98"]),
        ("一共扣了2560元", ["2560"]),
        ("少了300块", ["300"]),
        ("金额：45.5", ["45.5"]),
        ("charged 120 RMB twice", ["120"]),
    ],
)
def test_amounts_are_read_with_their_currency_words(text, amounts):
    assert extract_entities(text).amount == amounts


def test_counts_are_not_amounts():
    assert extract_entities("退款 2笔 一共300块").amount == ["300"]


def test_each_value_is_listed_once():
    entities = extract_entities("终端号12345678 再说一遍终端号12345678")
    assert entities.tid == ["12345678"]


def test_an_empty_message_has_no_entities():
    assert not extract_entities("")
    assert extract_entities("").as_dict() == {
        "sn": [], "tid": [], "mid": [], "response_code": [], "phone": [], "amount": [],
    }


# --- properties: any identifier in any surrounding text comes back exactly -----------------------

_CHINESE = st.text(alphabet="机器坏了刷卡没反应终端号商户打印不出纸急麻烦看下谢谢的是在", min_size=0, max_size=12)
_SEPARATOR = st.sampled_from(["", " ", "，", "：", "。", "\n"])
mids = st.from_regex(r"\A[1-9][0-9]{14}\Z", fullmatch=True)
tids = st.from_regex(r"\A[1-9][0-9]{7}\Z", fullmatch=True)  # labelled: dates included
mobiles = st.from_regex(r"\A1[3-9][0-9]{9}\Z", fullmatch=True)
serials = st.builds(lambda prefix, year, serial: f"{prefix}{year}{serial:06d}",
                    st.sampled_from(SN_PREFIXES), st.integers(20, 26), st.integers(0, 999_999))


@settings(max_examples=200, deadline=None)
@given(before=_CHINESE, between=_CHINESE, sep1=_SEPARATOR, sep2=_SEPARATOR, mid=mids, tid=tids)
def test_any_mid_and_tid_in_chinese_text_come_back_exactly(before, between, sep1, sep2, mid, tid):
    entities = extract_entities(f"{before}商户号{sep1}{mid}{between}终端号{sep2}{tid}")
    assert entities.mid == [mid]
    assert entities.tid == [tid]
    assert entities.phone == []


@settings(max_examples=200, deadline=None)
@given(before=_CHINESE, after=_CHINESE, mobile=mobiles,
       style=st.sampled_from(["plain", "spaces", "dashes", "+86", "+86 spaces"]))
def test_any_mobile_written_any_usual_way_comes_back_as_eleven_digits(before, after, mobile, style):
    written = {
        "plain": mobile,
        "spaces": f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}",
        "dashes": f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
        "+86": f"+86{mobile}",
        "+86 spaces": f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}",
    }[style]
    entities = extract_entities(f"{before}电话{written} {after}")
    assert entities.phone == [mobile]
    assert entities.tid == [] and entities.mid == []


@settings(max_examples=200, deadline=None)
@given(before=_CHINESE, after=_CHINESE, sn=serials, lower=st.booleans())
def test_any_fleet_serial_comes_back_upper_case(before, after, sn, lower):
    entities = extract_entities(f"{before}{sn.lower() if lower else sn}{after}")
    assert entities.sn == [sn]
    assert entities.tid == [] and entities.mid == [] and entities.phone == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_well_formed_entities(text):
    entities = extract_entities(text)
    assert all(len(tid) == 8 and tid.isdigit() for tid in entities.tid)
    assert all(len(mid) == 15 and mid.isdigit() for mid in entities.mid)
    assert all(len(code) == 2 for code in entities.response_code)
