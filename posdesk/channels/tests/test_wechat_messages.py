"""The hardened parser for WeChat pushes and the passive text reply (C3). Pure: no database.
Sample bodies follow the shapes in WeChat's Official Account documentation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posdesk.channels.wechat.messages import (
    MAX_BODY_BYTES,
    InboundMessage,
    MalformedMessage,
    cdata_section,
    parse_message,
    read_xml_fields,
    text_reply,
)

ACCOUNT = "gh_10f6c3c3ac5a"
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


def push(msg_type: str, extra: str = "", *, create_time: str = "1718000000", from_user: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{from_user}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>{extra}</xml>"
    )


def event(name: str, extra: str = "", **kwargs: str) -> str:
    return push("event", f"<Event><![CDATA[{name}]]></Event>{extra}", **kwargs)


def refusal(body: str | bytes) -> MalformedMessage:
    with pytest.raises(MalformedMessage) as refused:
        parse_message(body)
    return refused.value


# --- messages ---------------------------------------------------------------------------------


def test_a_text_message_is_parsed() -> None:
    body = push(
        "text", "<Content><![CDATA[刷卡显示应答码 05，怎么办？]]></Content><MsgId>24615822416120498</MsgId>"
    )

    message = parse_message(body)

    assert message == InboundMessage(
        to_user=ACCOUNT,
        from_user=OPENID,
        create_time=1718000000,
        msg_type="text",
        msg_id="24615822416120498",
        content="刷卡显示应答码 05，怎么办？",
        raw=message.raw,
    )
    assert message.raw["Content"] == "刷卡显示应答码 05，怎么办？"
    assert message.raw["MsgId"] == "24615822416120498"


def test_a_text_message_is_parsed_from_utf8_bytes() -> None:
    body = push("text", "<Content><![CDATA[打印机不出纸]]></Content><MsgId>1</MsgId>").encode("utf-8")

    assert parse_message(body).content == "打印机不出纸"


def test_the_text_keeps_what_the_merchant_typed_including_markup_like_characters() -> None:
    body = push("text", "<Content><![CDATA[  <b>SN: A&B </b>  ]]></Content><MsgId>2</MsgId>")

    assert parse_message(body).content == "  <b>SN: A&B </b>  "


def test_an_image_message_carries_its_picture_url_and_media_id() -> None:
    body = push(
        "image",
        "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc/0]]></PicUrl>"
        "<MediaId><![CDATA[media_id_123]]></MediaId><MsgId>1234567890123456</MsgId>",
    )

    message = parse_message(body)

    assert message.msg_type == "image"
    assert message.pic_url == "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"
    assert message.media_id == "media_id_123"
    assert message.content == ""
    assert message.dedupe_key == "1234567890123456"


def test_a_voice_message_keeps_wechats_recognition_in_raw() -> None:
    body = push(
        "voice",
        "<MediaId><![CDATA[voice_1]]></MediaId><Format><![CDATA[amr]]></Format>"
        "<Recognition><![CDATA[机器坏了]]></Recognition><MsgId>77</MsgId>",
    )

    message = parse_message(body)

    assert message.media_id == "voice_1"
    assert message.raw["Recognition"] == "机器坏了"
    assert message.raw["Format"] == "amr"


def test_spaces_and_line_breaks_around_identifiers_are_ignored() -> None:
    # WeChat's own sample pads MsgType: <MsgType>  <![CDATA[video]]></MsgType>
    body = push("text").replace("<MsgType>", "<MsgType>\n  ").replace("<CreateTime>", "<CreateTime> ")

    message = parse_message(body)

    assert (message.msg_type, message.create_time) == ("text", 1718000000)


# --- events -----------------------------------------------------------------------------------


def test_a_subscribe_event_from_a_parametric_qr_code_is_parsed() -> None:
    body = event(
        "subscribe",
        "<EventKey><![CDATA[qrscene_MID898310048990001]]></EventKey><Ticket><![CDATA[T]]></Ticket>",
    )

    message = parse_message(body)

    assert (message.msg_type, message.event) == ("event", "subscribe")
    assert message.event_key == "qrscene_MID898310048990001"
    assert message.msg_id is None
    assert message.raw["Ticket"] == "T"


def test_a_plain_subscribe_event_has_no_event_key() -> None:
    message = parse_message(event("subscribe", "<EventKey><![CDATA[]]></EventKey>"))

    assert message.event_key is None


def test_an_unsubscribe_event_is_parsed() -> None:
    message = parse_message(event("unsubscribe"))

    assert message.event == "unsubscribe"


def test_a_menu_click_event_keeps_its_key_and_wechats_case() -> None:
    message = parse_message(event("CLICK", "<EventKey><![CDATA[REPORT_FAULT]]></EventKey>"))

    assert (message.event, message.event_key) == ("CLICK", "REPORT_FAULT")


def test_an_event_without_its_event_name_is_refused() -> None:
    error = refusal(push("event"))

    assert (error.reason, error.field) == ("missing_field", "Event")


# --- de-duplication ---------------------------------------------------------------------------


def test_the_dedupe_key_of_a_message_is_its_msg_id() -> None:
    body = push("text", "<Content>a</Content><MsgId>6054768590064713728</MsgId>")

    assert parse_message(body).dedupe_key == "6054768590064713728"


def test_the_dedupe_key_of_an_event_is_sender_create_time_and_event() -> None:
    message = parse_message(event("subscribe", create_time="1718000001"))

    assert message.dedupe_key == f"{OPENID}:1718000001:subscribe"


def test_wechats_retries_of_one_event_share_a_dedupe_key() -> None:
    # given the same push delivered three times (WeChat retries when we are slow)
    keys = {parse_message(event("CLICK", "<EventKey>K</EventKey>")).dedupe_key for _ in range(3)}

    assert len(keys) == 1


def test_different_events_are_told_apart_by_their_dedupe_keys() -> None:
    same_second_other_event = parse_message(event("unsubscribe")).dedupe_key
    later = parse_message(event("subscribe", create_time="1718000002")).dedupe_key
    other_sender = parse_message(event("subscribe", from_user="oOtherOpenid")).dedupe_key
    original = parse_message(event("subscribe")).dedupe_key

    assert len({original, same_second_other_event, later, other_sender}) == 4


def test_an_inbound_message_is_immutable_and_hashable() -> None:
    message = parse_message(push("text", "<Content>a</Content><MsgId>1</MsgId>"))

    with pytest.raises(AttributeError):
        message.content = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        message.raw["Content"] = "changed"  # type: ignore[index]
    assert {message: 1}[message] == 1


# --- hostile and malformed bodies -------------------------------------------------------------


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

XXE_FILE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""

XXE_PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<xml><ToUserName>a</ToUserName></xml>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd">
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType></xml>"""

HARMLESS_DTD = """<?xml version="1.0"?>
<!DOCTYPE xml>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType></xml>"""


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, XXE_FILE, XXE_PARAMETER_ENTITY, EXTERNAL_DTD, HARMLESS_DTD],
    ids=["billion-laughs", "xxe-file", "xxe-parameter-entity", "external-dtd", "empty-dtd"],
)
def test_dtds_and_entities_are_refused(body: str) -> None:
    error = refusal(body)

    assert error.reason == "forbidden_xml"


def test_a_body_with_a_dtd_is_refused_even_as_bytes() -> None:
    assert refusal(XXE_FILE.encode("utf-8")).reason == "forbidden_xml"


@pytest.mark.parametrize(
    "body",
    ["", "success", "<xml><ToUserName>a</ToUserName>", "<xml><a></b></xml>", "<xml/><xml/>", "\x00<xml/>"],
)
def test_malformed_xml_is_refused(body: str) -> None:
    assert refusal(body).reason == "not_xml"


@pytest.mark.parametrize(
    "body", ["<html><ToUserName>a</ToUserName></html>", "<XML/>", "<ns:xml xmlns:ns='urn:x'/>"]
)
def test_a_root_other_than_xml_is_refused(body: str) -> None:
    assert refusal(body).reason == "bad_root"


def test_a_body_of_exactly_64_kib_is_accepted() -> None:
    body = push("text", "<Content><![CDATA[{}]]></Content><MsgId>1</MsgId>")
    body = body.replace("{}", "x" * (MAX_BODY_BYTES - len(body.encode()) + 2))
    assert len(body.encode()) == MAX_BODY_BYTES

    assert len(parse_message(body).content) > 60_000


def test_a_body_over_64_kib_is_refused_before_parsing() -> None:
    # given one byte too many, and it is not even XML: the size alone decides
    assert refusal("x" * (MAX_BODY_BYTES + 1)).reason == "too_large"
    assert refusal(b"<" * (MAX_BODY_BYTES + 1)).reason == "too_large"


def test_the_size_limit_counts_utf8_bytes_not_characters() -> None:
    # given 22 000 Chinese characters: 66 000 bytes in UTF-8
    body = push("text", f"<Content>{'中' * 22_000}</Content><MsgId>1</MsgId>")

    assert refusal(body).reason == "too_large"


@pytest.mark.parametrize("tag", ["ToUserName", "FromUserName", "CreateTime", "MsgType"])
def test_a_push_missing_a_required_field_is_refused(tag: str) -> None:
    body = push("text", "<MsgId>1</MsgId>")
    start = body.index(f"<{tag}>")
    without = body[:start] + body[body.index(f"</{tag}>") + len(tag) + 3 :]

    error = refusal(without)

    assert (error.reason, error.field) == ("missing_field", tag)


def test_a_push_with_an_empty_required_field_is_refused() -> None:
    error = refusal(push("text", from_user=""))

    assert (error.reason, error.field) == ("missing_field", "FromUserName")


@pytest.mark.parametrize("create_time", ["yesterday", "-1", "1.5", "١٢٣"])
def test_a_create_time_that_is_not_whole_seconds_is_refused(create_time: str) -> None:
    assert refusal(push("text", create_time=create_time)).reason == "bad_create_time"


def test_a_field_given_twice_is_refused() -> None:
    # given a second sender smuggled after the first
    body = push("text", "<FromUserName>oSomeoneElse</FromUserName>")

    error = refusal(body)

    assert (error.reason, error.field) == ("duplicate_field", "FromUserName")


def test_read_xml_fields_returns_top_level_text_only() -> None:
    body = event("scancode_push", "<ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo>")

    fields = read_xml_fields(body)

    assert fields["Event"] == "scancode_push"
    assert fields["ScanCodeInfo"] == ""
    assert "ScanType" not in fields


# --- passive text reply -----------------------------------------------------------------------


def test_a_text_reply_reads_back_as_wechats_passive_reply_shape() -> None:
    reply = text_reply(OPENID, ACCOUNT, "您好，工程师将在 2 小时内联系您。", 1718000005)

    fields = read_xml_fields(reply)

    assert fields == {
        "ToUserName": OPENID,
        "FromUserName": ACCOUNT,
        "CreateTime": "1718000005",
        "MsgType": "text",
        "Content": "您好，工程师将在 2 小时内联系您。",
    }


def test_a_reply_content_with_cdata_terminator_cannot_break_out() -> None:
    content = "a]]><MsgType>news</MsgType><![CDATA[b ]]> ]]]]>"

    reply = text_reply(OPENID, ACCOUNT, content, 1)

    fields = read_xml_fields(reply)
    assert fields["Content"] == content
    assert fields["MsgType"] == "text"


def test_reply_user_fields_cannot_inject_elements() -> None:
    reply = text_reply(OPENID + "]]></ToUserName><Injected/><x><![CDATA[", ACCOUNT, "hi", 1)

    fields = read_xml_fields(reply)

    assert "Injected" not in fields
    assert fields["ToUserName"].startswith(OPENID)


def test_characters_xml_cannot_carry_are_dropped_from_a_reply() -> None:
    reply = text_reply(OPENID, ACCOUNT, "bell\x07 nul\x00 ok\ufffe", 1)

    assert read_xml_fields(reply)["Content"] == "bell nul ok"


@pytest.mark.parametrize("create_time", [-1, 1.5, "1718000000", True])
def test_a_reply_needs_whole_unix_seconds(create_time: object) -> None:
    with pytest.raises(ValueError, match="create_time"):
        text_reply(OPENID, ACCOUNT, "hi", create_time)  # type: ignore[arg-type]


# Every character XML 1.0 can carry (the others are dropped, tested above).
XML_CHARACTERS = st.characters(
    exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"
) | st.sampled_from("\t\n\r")


@given(content=st.text(XML_CHARACTERS, max_size=600))
def test_any_reply_content_reads_back_unchanged(content: str) -> None:
    reply = text_reply(OPENID, ACCOUNT, content, 1718000005)

    read_back = read_xml_fields(reply)["Content"]

    # XML parsers turn \r\n and \r into \n (XML 1.0 §2.11), inside CDATA too
    assert read_back == content.replace("\r\n", "\n").replace("\r", "\n")


@given(text=st.text(max_size=200))
def test_a_cdata_section_is_always_one_text_node(text: str) -> None:
    fields = read_xml_fields(f"<xml><Content>{cdata_section(text)}</Content></xml>")

    assert list(fields) == ["Content"]
