"""WeChat server verification and safe-mode security (C3). Pure: no database, no network.

Worked vectors are public: WeChat's official WXBizMsgCrypt sample (token "spamtest") and
wechatpy's tests (tests/test_utils.py, tests/test_crypto.py)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from posdesk.channels.wechat.crypto import (
    WeChatCrypto,
    WeChatSecurityError,
    check_signature,
    check_timestamp,
    msg_signature,
)
from posdesk.channels.wechat.messages import parse_message, read_xml_fields

# WeChat's official sample (WXBizMsgCrypt): a text message "abcdteT" in compatible mode.
OFFICIAL_TOKEN = "spamtest"
OFFICIAL_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OFFICIAL_APP_ID = "wx2c2769f8efd9abc2"
OFFICIAL_TIMESTAMP = "1409735669"
OFFICIAL_NONCE = "1320562132"
OFFICIAL_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
OFFICIAL_ENCRYPTED = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFm"
    "OD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8d"
    "KOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5"
    "RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNP"
    "fUM669WuMyVWQLCzpu9GhglF2PE="
)
OFFICIAL_POST_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>"
    "<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId>"
    f"<Encrypt><![CDATA[{OFFICIAL_ENCRYPTED}]]></Encrypt></xml>"
)

# wechatpy's tests/test_crypto.py (the same scheme; its corp id plays the AppID's part).
WECHATPY_TOKEN = "123456"
WECHATPY_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
WECHATPY_APP_ID = "wx49f0ab532d5d035a"
WECHATPY_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
WECHATPY_ENCRYPTED_REPLY = """<xml>
<Encrypt><![CDATA[9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3]]></Encrypt>
<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>
<TimeStamp>1411525903</TimeStamp>
<Nonce><![CDATA[461056294]]></Nonce>
</xml>"""
WECHATPY_POST_BODY = """<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>
<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>
<AgentID><![CDATA[1]]></AgentID>
</xml>"""


def official_crypto(app_id: str = OFFICIAL_APP_ID) -> WeChatCrypto:
    return WeChatCrypto(OFFICIAL_TOKEN, OFFICIAL_KEY, app_id)


def raw_encrypt(plaintext: bytes, encoding_aes_key: str = OFFICIAL_KEY) -> str:
    """AES-256-CBC exactly as WeChat does it but with no framing or padding of its own, so a test
    can hand-craft a plaintext that a real sender would never produce."""
    key = base64.b64decode(encoding_aes_key + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plaintext) + encryptor.finalize()).decode("ascii")


def framed(
    message: bytes, app_id: bytes = OFFICIAL_APP_ID.encode(), declared_length: int | None = None
) -> bytes:
    length = len(message) if declared_length is None else declared_length
    return b"R" * 16 + length.to_bytes(4, "big") + message + app_id


def pkcs7_32(plaintext: bytes) -> bytes:
    pad = 32 - len(plaintext) % 32
    return plaintext + bytes([pad]) * pad


def reason_of(call: object, *args: object) -> str:
    with pytest.raises(WeChatSecurityError) as refused:
        call(*args)  # type: ignore[operator]
    return refused.value.reason


# --- URL verification signature --------------------------------------------------------------


def test_the_signature_from_wechatpys_vector_is_accepted() -> None:
    assert check_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test")


def test_a_forged_signature_is_refused() -> None:
    # given wechatpy's failing vector: one hex digit changed
    assert not check_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe", "1410685589", "test")


@pytest.mark.parametrize(
    "signature",
    ["", "f21891de", "F21891DE399B4E33A1A93C9A7B8A8FFFB5A443FF", "签名" * 20, "\ud800" * 40],
)
def test_a_malformed_signature_is_refused_without_crashing(signature: str) -> None:
    assert check_signature("test", signature, "1410685589", "test") is False


def test_the_signature_covers_timestamp_nonce_and_token() -> None:
    # given a valid signature, when any one signed value changes, then it no longer verifies
    good = "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    assert not check_signature("test", good, "1410685590", "test")
    assert not check_signature("test", good, "1410685589", "tesu")
    assert not check_signature("other-token", good, "1410685589", "test")


def test_msg_signature_matches_wechats_official_sample() -> None:
    signature = msg_signature(OFFICIAL_TOKEN, OFFICIAL_TIMESTAMP, OFFICIAL_NONCE, OFFICIAL_ENCRYPTED)

    assert signature == OFFICIAL_MSG_SIGNATURE


# --- EncodingAESKey ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding_aes_key",
    [OFFICIAL_KEY[:-1], OFFICIAL_KEY + "H", OFFICIAL_KEY[:-1] + "!", OFFICIAL_KEY[:-1] + "=", ""],
)
def test_an_encoding_aes_key_that_is_not_43_base64_characters_is_refused(encoding_aes_key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        WeChatCrypto(OFFICIAL_TOKEN, encoding_aes_key, OFFICIAL_APP_ID)


# --- decryption of published vectors ---------------------------------------------------------


def test_wechats_official_sample_decrypts_to_the_pushed_text_message() -> None:
    # when
    plaintext = official_crypto().decrypt_message(
        OFFICIAL_POST_BODY, OFFICIAL_MSG_SIGNATURE, OFFICIAL_TIMESTAMP, OFFICIAL_NONCE
    )

    # then
    message = parse_message(plaintext)
    assert message.content == "abcdteT"
    assert message.from_user == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert message.to_user == "gh_10f6c3c3ac5a"
    assert message.msg_id == "6054768590064713728"


def test_wechatpys_vector_decrypts_from_text_and_from_bytes() -> None:
    crypto = WeChatCrypto(WECHATPY_TOKEN, WECHATPY_KEY, WECHATPY_APP_ID)
    signature, timestamp, nonce = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294"

    for body in (WECHATPY_POST_BODY, WECHATPY_POST_BODY.encode("utf-8")):
        fields = read_xml_fields(crypto.decrypt_message(body, signature, timestamp, nonce))
        assert fields["Content"] == "test"
        assert fields["FromUserName"] == "messense"


def test_encrypt_message_reproduces_wechatpys_envelope_byte_for_byte() -> None:
    # given wechatpy's pinned random prefix, nonce and timestamp
    crypto = WeChatCrypto(WECHATPY_TOKEN, WECHATPY_KEY, WECHATPY_APP_ID)

    # when
    envelope = crypto.encrypt_message(
        WECHATPY_REPLY, nonce="461056294", timestamp="1411525903", random_bytes=b"1234567890123456"
    )

    # then
    assert envelope == WECHATPY_ENCRYPTED_REPLY


# --- refusals ---------------------------------------------------------------------------------


def test_a_forged_msg_signature_is_refused() -> None:
    forged = OFFICIAL_MSG_SIGNATURE[:-1] + "0"

    reason = reason_of(
        official_crypto().decrypt_message, OFFICIAL_POST_BODY, forged, OFFICIAL_TIMESTAMP, OFFICIAL_NONCE
    )

    assert reason == "bad_signature"


def test_a_replayed_envelope_with_a_new_timestamp_fails_the_signature() -> None:
    reason = reason_of(
        official_crypto().decrypt_message,
        OFFICIAL_POST_BODY,
        OFFICIAL_MSG_SIGNATURE,
        "1409735999",
        OFFICIAL_NONCE,
    )

    assert reason == "bad_signature"


def test_a_ciphertext_swapped_into_a_signed_envelope_is_refused() -> None:
    # given a genuine signature but another (validly encrypted) ciphertext in <Encrypt>
    other, _, _, _ = official_crypto().encrypt("<xml><Content>hijacked</Content></xml>")
    body = OFFICIAL_POST_BODY.replace(OFFICIAL_ENCRYPTED, other)

    reason = reason_of(
        official_crypto().decrypt_message, body, OFFICIAL_MSG_SIGNATURE, OFFICIAL_TIMESTAMP, OFFICIAL_NONCE
    )

    assert reason == "bad_signature"


def test_a_message_encrypted_for_another_app_id_is_refused() -> None:
    crypto = official_crypto(app_id="wx0000000000000000")

    reason = reason_of(
        crypto.decrypt_message, OFFICIAL_POST_BODY, OFFICIAL_MSG_SIGNATURE, OFFICIAL_TIMESTAMP, OFFICIAL_NONCE
    )

    assert reason == "bad_app_id"


def test_an_app_id_that_only_shares_a_prefix_is_refused() -> None:
    # given a sender whose AppID merely starts with ours
    ciphertext = raw_encrypt(pkcs7_32(framed(b"<xml/>", app_id=OFFICIAL_APP_ID.encode() + b"x")))

    assert reason_of(official_crypto().decrypt, ciphertext) == "bad_app_id"


@pytest.mark.parametrize(
    "ciphertext",
    [
        OFFICIAL_ENCRYPTED[:-8],  # truncated: no longer whole AES blocks
        OFFICIAL_ENCRYPTED[:-1],  # truncated: no longer base64
        "not base64 at all!!",
        "",
        base64.b64encode(b"fifteen bytes!!").decode(),  # shorter than one block
    ],
)
def test_a_truncated_or_garbage_ciphertext_is_refused(ciphertext: str) -> None:
    assert reason_of(official_crypto().decrypt, ciphertext) == "bad_ciphertext"


def test_a_ciphertext_cut_at_a_block_boundary_is_refused() -> None:
    # given the official ciphertext minus its last 16-byte block: base64 and block sizes still fine
    shortened = base64.b64encode(base64.b64decode(OFFICIAL_ENCRYPTED)[:-16]).decode()

    # then the last byte left is no padding (deterministic for this vector)
    assert reason_of(official_crypto().decrypt, shortened) == "bad_padding"


@pytest.mark.parametrize(
    "padding",
    [
        b"\x00" * 20,  # a zero pad byte
        b"\x21" * 20,  # 33: more than WeChat's 32-byte block allows
        b"\x14" * 19 + b"\x13",  # the pad bytes disagree with the last one
    ],
    ids=["zero", "over-32", "inconsistent"],
)
def test_bad_padding_is_refused(padding: bytes) -> None:
    # given a hand-made 64-byte plaintext (44 bytes of framing) whose padding is wrong
    plaintext = framed(b"<xml/>") + padding
    assert len(plaintext) == 64

    assert reason_of(official_crypto().decrypt, raw_encrypt(plaintext)) == "bad_padding"


def test_a_declared_length_beyond_the_plaintext_is_refused() -> None:
    plaintext = pkcs7_32(framed(b"<xml/>", declared_length=10_000))

    assert reason_of(official_crypto().decrypt, raw_encrypt(plaintext)) == "bad_ciphertext"


def test_a_message_that_is_not_utf8_is_refused() -> None:
    plaintext = pkcs7_32(framed(b"<xml>\xff\xfe</xml>"))

    assert reason_of(official_crypto().decrypt, raw_encrypt(plaintext)) == "bad_ciphertext"


def test_a_ciphertext_made_with_another_key_is_refused() -> None:
    # given WeChat's official ciphertext and wechatpy's (different) key
    crypto = WeChatCrypto(OFFICIAL_TOKEN, WECHATPY_KEY, OFFICIAL_APP_ID)

    # then the garbage plaintext fails its padding check (deterministic for this vector)
    assert reason_of(crypto.decrypt, OFFICIAL_ENCRYPTED) == "bad_padding"


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName></xml>",  # no <Encrypt>
        "<xml><Encrypt></Encrypt></xml>",  # empty <Encrypt>
        "not xml",
        '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>',
        "<envelope><Encrypt>abc</Encrypt></envelope>",
    ],
)
def test_an_unusable_envelope_is_refused(body: str) -> None:
    reason = reason_of(
        official_crypto().decrypt_message, body, OFFICIAL_MSG_SIGNATURE, OFFICIAL_TIMESTAMP, OFFICIAL_NONCE
    )

    assert reason == "bad_envelope"


# --- replay protection ------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-300, -1, 0, 1, 300])
def test_a_timestamp_within_five_minutes_of_now_is_accepted(skew: int) -> None:
    check_timestamp(str(1_700_000_000 + skew), now=1_700_000_000.0)


@pytest.mark.parametrize("skew", [-301, 301, -86_400])
def test_a_timestamp_more_than_five_minutes_away_is_stale(skew: int) -> None:
    assert reason_of(check_timestamp, str(1_700_000_000 + skew), 1_700_000_000.0) == "stale_timestamp"


@pytest.mark.parametrize("timestamp", ["", "abc", "+1700000000", "1_700_000_000", "١٧٠٠٠٠٠٠٠٠", "17e8"])
def test_a_timestamp_that_is_not_plain_digits_is_refused(timestamp: str) -> None:
    assert reason_of(check_timestamp, timestamp, 1_700_000_000.0) == "bad_timestamp"


def test_check_timestamp_accepts_an_aware_datetime_as_now() -> None:
    now = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
    check_timestamp(int(now.timestamp()) - 299, now)
    assert reason_of(check_timestamp, int(now.timestamp()) - 301, now) == "stale_timestamp"


def test_decrypt_message_refuses_a_correctly_signed_but_stale_push_when_given_now() -> None:
    # given the 2014 official sample, correctly signed, received "today"
    today = datetime(2026, 6, 10, tzinfo=UTC)

    reason = reason_of(
        lambda: official_crypto().decrypt_message(
            OFFICIAL_POST_BODY, OFFICIAL_MSG_SIGNATURE, OFFICIAL_TIMESTAMP, OFFICIAL_NONCE, now=today
        )
    )

    assert reason == "stale_timestamp"


def test_decrypt_message_accepts_a_fresh_push_when_given_now() -> None:
    now = int(OFFICIAL_TIMESTAMP) + 60

    plaintext = official_crypto().decrypt_message(
        OFFICIAL_POST_BODY, OFFICIAL_MSG_SIGNATURE, OFFICIAL_TIMESTAMP, OFFICIAL_NONCE, now=now
    )

    assert "abcdteT" in plaintext


# --- encryption -------------------------------------------------------------------------------


@given(
    message=st.text(max_size=3000)
    | st.text(alphabet="扫码失败交易超时请联系客服应答码ＰＯＳ机🙂", max_size=500)
)
def test_encrypt_then_decrypt_returns_the_message(message: str) -> None:
    crypto = official_crypto()

    # when
    envelope = crypto.encrypt_message(message)
    fields = read_xml_fields(envelope)
    plaintext = crypto.decrypt_message(envelope, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])

    # then
    assert plaintext == message
    # and the ciphertext is padded to WeChat's 32-byte block, not AES's 16
    assert len(base64.b64decode(fields["Encrypt"])) % 32 == 0


def test_encrypt_returns_a_signature_that_verifies() -> None:
    encrypted, signature, timestamp, nonce = official_crypto().encrypt(
        "<xml/>", nonce="42", timestamp=1_700_000_000
    )

    assert (timestamp, nonce) == ("1700000000", "42")
    assert signature == msg_signature(OFFICIAL_TOKEN, timestamp, nonce, encrypted)


def test_two_encryptions_of_the_same_reply_differ() -> None:
    # given fixed nonce and timestamp, the random prefix alone must make the ciphertexts differ
    crypto = official_crypto()

    first = crypto.encrypt("<xml/>", nonce="1", timestamp="1")[0]
    second = crypto.encrypt("<xml/>", nonce="1", timestamp="1")[0]

    assert first != second


def test_encrypt_refuses_a_random_prefix_that_is_not_16_bytes() -> None:
    with pytest.raises(ValueError, match="16"):
        official_crypto().encrypt("<xml/>", random_bytes=b"short")


def test_encrypt_message_cannot_be_broken_out_of_through_the_nonce() -> None:
    # given a nonce echoed from the query string that tries to close the CDATA section
    envelope = official_crypto().encrypt_message("<xml/>", nonce="1]]><Injected/>", timestamp="1")

    fields = read_xml_fields(envelope)

    assert fields["Nonce"] == "1]]><Injected/>"
    assert "Injected" not in fields


def test_encrypt_refuses_a_timestamp_that_is_not_digits() -> None:
    assert reason_of(official_crypto().encrypt, "<xml/>", "1", "12<x>") == "bad_timestamp"
