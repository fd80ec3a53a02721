"""WeChat Official Account (公众号) push messages: a hardened parser for what WeChat posts to our
server and the passive text reply we may answer with.

The body comes from the Internet before anything is authenticated (in plaintext mode it is never
authenticated at all), so the parser refuses DTDs, entities and external references outright,
caps the size, and accepts only WeChat's flat `<xml>…</xml>` shape."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DefusedElementTree
from defusedxml import DefusedXmlException

# WeChat's own pushes are a few KiB at most; anything far larger is not from WeChat.
MAX_BODY_BYTES = 64 * 1024

REQUIRED_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType")

# Characters XML 1.0 cannot carry at all, not even inside CDATA (C0 controls, lone surrogates,
# U+FFFE/U+FFFF). A reply containing one would be rejected by WeChat as malformed.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class MalformedMessage(Exception):
    """A pushed body we refuse to read. `reason` is a stable code: too_large, not_xml,
    forbidden_xml (DTD, entity or external reference), bad_root, duplicate_field, missing_field,
    bad_create_time. `field` names the XML tag concerned, when there is one."""

    def __init__(self, reason: str, message: str, *, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class InboundMessage:
    to_user: str  # the Official Account's original id (gh_…)
    from_user: str  # the sender's openid
    create_time: int  # Unix seconds, as WeChat stamped it
    msg_type: str  # 'text', 'image', 'voice', 'video', 'location', 'link', 'event', …
    msg_id: str | None = None
    content: str = ""
    pic_url: str | None = None
    media_id: str | None = None
    event: str | None = None  # 'subscribe', 'unsubscribe', 'CLICK', 'VIEW', 'SCAN', …
    event_key: str | None = None
    raw: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def dedupe_key(self) -> str:
        """WeChat retries a push up to three times; the same message always yields the same key.
        Messages carry a MsgId; events have none, so WeChat's rule is FromUserName + CreateTime
        (the event name keeps two different events of the same second apart)."""
        if self.msg_id:
            return self.msg_id
        return f"{self.from_user}:{self.create_time}:{self.event or self.msg_type}"


def read_xml_fields(xml_text: str | bytes) -> dict[str, str]:
    """The top-level children of a WeChat `<xml>` document as tag → text. Nested elements (for
    example `<ScanCodeInfo>`) appear with their own direct text only, usually empty."""
    body = xml_text.encode("utf-8") if isinstance(xml_text, str) else xml_text
    if len(body) > MAX_BODY_BYTES:
        raise MalformedMessage(
            "too_large", f"The body has {len(body)} bytes, more than the {MAX_BODY_BYTES} accepted."
        )
    root = _parse_hardened(body)
    if root.tag != "xml":
        raise MalformedMessage("bad_root", "The root element must be <xml>.", field=str(root.tag))
    fields: dict[str, str] = {}
    for child in root:
        tag = str(child.tag)
        if tag in fields:
            # Two different values for one field let a checker and a consumer read different
            # things; WeChat never sends duplicates.
            raise MalformedMessage("duplicate_field", f"The field {tag} appears twice.", field=tag)
        fields[tag] = child.text or ""
    return fields


def _parse_hardened(body: bytes) -> Element:
    try:
        return DefusedElementTree.fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise MalformedMessage(
            "forbidden_xml", "DTDs, entities and external references are not accepted."
        ) from exc
    except ParseError as exc:
        raise MalformedMessage("not_xml", f"The body is not well-formed XML: {exc}.") from exc


def parse_message(xml_text: str | bytes) -> InboundMessage:
    """A plaintext push (or the plaintext decrypted from a safe-mode envelope) as a message."""
    fields = read_xml_fields(xml_text)
    for tag in REQUIRED_FIELDS:
        if not fields.get(tag, "").strip():
            raise MalformedMessage("missing_field", f"The field {tag} is missing or empty.", field=tag)
    create_time = fields["CreateTime"].strip()
    if not create_time.isascii() or not create_time.isdigit():
        raise MalformedMessage(
            "bad_create_time", "CreateTime must be a whole number of seconds.", field="CreateTime"
        )
    msg_type = fields["MsgType"].strip()
    event = _optional(fields, "Event")
    if msg_type == "event" and event is None:
        raise MalformedMessage("missing_field", "An event push must name its Event.", field="Event")
    return InboundMessage(
        to_user=fields["ToUserName"].strip(),
        from_user=fields["FromUserName"].strip(),
        create_time=int(create_time),
        msg_type=msg_type,
        msg_id=_optional(fields, "MsgId"),
        # What the merchant typed is kept exactly, surrounding spaces included.
        content=fields.get("Content", ""),
        pic_url=_optional(fields, "PicUrl"),
        media_id=_optional(fields, "MediaId"),
        event=event,
        event_key=_optional(fields, "EventKey"),
        raw=MappingProxyType(fields),
    )


def _optional(fields: Mapping[str, str], tag: str) -> str | None:
    value = fields.get(tag, "").strip()
    return value or None


def cdata_section(text: str) -> str:
    """`text` as CDATA that cannot be broken out of: every "]]>" is split across two sections,
    and characters XML cannot carry are dropped."""
    safe_text = _NOT_XML_CHAR.sub("", text)
    return "<![CDATA[" + safe_text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """The passive reply XML for a text answer. `to_user` is the sender's openid and `from_user`
    the Official Account's id, i.e. the inbound message's fields swapped."""
    if isinstance(create_time, bool) or not isinstance(create_time, int) or create_time < 0:
        raise ValueError("create_time must be a non-negative whole number of Unix seconds")
    return (
        "<xml>"
        f"<ToUserName>{cdata_section(to_user)}</ToUserName>"
        f"<FromUserName>{cdata_section(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata_section(content)}</Content>"
        "</xml>"
    )
