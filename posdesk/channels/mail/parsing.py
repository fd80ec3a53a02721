"""One inbound e-mail (RFC 5322 bytes) turned into what the intake needs, and the threading headers
of our replies. Pure: no database, no network, no Django settings.

Mail from merchants in China is often not what the RFCs describe: GBK text labelled GB2312, raw
8-bit headers, encoded words inside quoted strings, encoded words split in the middle of a
character, filenames as encoded words. So headers are read raw (`raw_items`) and decoded here,
and every field is extracted on its own: a broken part leaves that field empty, never the message.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.message
import email.policy
import email.utils
import logging
import mimetypes
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import NamedTuple, TypeVar

from posdesk.core.text import without_nul

logger = logging.getLogger("posdesk.channels.mail")

T = TypeVar("T")

# GB2312 is a subset of GBK, which is a subset of GB18030: senders label GBK text "gb2312", so every
# Chinese national charset is decoded as the superset.
_GB_CHARSETS = frozenset(
    {
        "gb2312",
        "gb_2312",
        "gb_2312-80",
        "csgb2312",
        "euc-cn",
        "x-euc-cn",
        "gbk",
        "x-gbk",
        "cp936",
        "ms936",
        "windows-936",
        "chinese",
        "gb18030",
    }
)
# Labels that promise nothing: the bytes decide.
_UNKNOWN_CHARSETS = frozenset({"", "unknown-8bit", "x-unknown", "unknown", "us-ascii", "ascii", "default"})

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_ANGLE_ID = re.compile(r"<([^<>]*)>")

# T + YYMMDD + a per-day sequence (posdesk.tickets.services.ticket_number_next). Month and day are
# checked so that other T-prefixed references (courier numbers, order ids) are not taken for ours.
_TICKET_NUMBER = re.compile(
    r"(?<![A-Za-z0-9])T([0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{4,8})(?![0-9])",
    re.IGNORECASE,
)
_BRACKETED_TICKET_NUMBER = re.compile(r"[\[【(（]\s*(T[0-9]{10,14})\s*[\]】)）]", re.IGNORECASE)

_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:(?:re|回复|答复)\s*[:：]\s*)*"
    r"(?:自动回复|自动答复|auto[\s_-]?reply|auto[\s_-]?response|automatic\s+reply|out\s+of\s+(?:the\s+)?office)",
    re.IGNORECASE,
)
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoreply-from", "x-mail-autoreply")
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster")

# Where quoted history begins: everything from such a line on is the conversation so far.
_HISTORY_MARKERS = (
    re.compile(r"^-{2,}\s*Original\s+Message\s*-{2,}$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*(?:Forwarded\s+message|转发邮件|转发的邮件)\s*-{2,}$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*(?:原始邮件|回复的原邮件)\s*-{2,}$"),
    re.compile(r"^_{10,}$"),  # Outlook's rule above its From:/Sent: block
)
# "On … wrote:" and "在 …写道：" introduce a quote; a bottom-posted reply may follow the quote.
_ATTRIBUTION_MARKERS = (
    re.compile(r"^On\s.+\swrote:$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^(?=.*[0-9]).{0,300}写道\s*[:：]$", re.DOTALL),  # a date, so "屏幕上写道：" stays
)
_SIGNATURE_MARKERS = (
    re.compile(r"^--$"),  # "-- " with its trailing space stripped
    re.compile(r"^(?:发自|来自)我的\S{1,20}$"),
    re.compile(r"^发自(?:网易邮箱大师|手机QQ邮箱|QQ邮箱|Outlook|WPS邮箱)\S{0,20}$", re.IGNORECASE),
    re.compile(r"^Sent\s+from\s+my\s.+$", re.IGNORECASE),
    re.compile(r"^Get\s+Outlook\s+for\s.+$", re.IGNORECASE),
)
# The header block Outlook, Foxmail and QQ Mail put above the quoted message.
_QUOTE_HEADER_FROM = re.compile(r"^\*?\s*(?:From|发件人)\s*\*?\s*[:：]", re.IGNORECASE)
_QUOTE_HEADER_OTHER = re.compile(
    r"^\*?\s*(?:Sent|Date|To|Cc|Subject|发送时间|时间|日期|收件人|抄送|主题)\s*\*?\s*[:：]", re.IGNORECASE
)

_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|回复|答复|转发)\s*[:：]\s*|\[\s*T[0-9]{10,14}\s*\]\s*)", re.IGNORECASE
)
_MAX_REFERENCES = 20
# An attached message is handed on as it came, its headers not refolded.
_VERBATIM = email.policy.default.clone(refold_source="none")
_MAX_MIME_DEPTH = 30


class MailAttachment(NamedTuple):
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundMail:
    """What the intake needs from one message. Missing or unreadable parts are empty, never errors.
    Message ids are normalised: no angle brackets, no whitespace."""

    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    reply_to_address: str = ""
    to_addresses: list[str] = field(default_factory=list)
    cc_addresses: list[str] = field(default_factory=list)
    date: datetime | None = None
    ticket_number: str = ""
    body_text: str = ""
    reply_text: str = ""
    attachments: list[MailAttachment] = field(default_factory=list)
    is_auto: bool = False
    is_bounce: bool = False

    @property
    def thread_ids(self) -> list[str]:
        """Every message id this one answers, nearest first, without repeats: what to look up to
        find the ticket this mail belongs to."""
        ids = [self.in_reply_to, *self.references] if self.in_reply_to else list(self.references)
        return list(dict.fromkeys(i for i in ids if i))


# --- public API -----------------------------------------------------------------------------


def parse_mail(raw: bytes) -> InboundMail:
    """Parse one message. Never raises: what cannot be read is left empty."""
    try:
        message = email.message_from_bytes(bytes(raw), policy=email.policy.default)
    except Exception:  # the parser is lenient; this is the last line of defence
        logger.debug("unparseable message", exc_info=True)
        return InboundMail()
    headers = _best_effort(lambda: _raw_headers(message), {})

    def header(name: str) -> str:
        return headers.get(name, [""])[0]

    subject = _best_effort(lambda: _clean_header_text(header("subject")), "")
    sender = header("from") or header("sender")
    from_name, from_address = _best_effort(lambda: _first_address(sender), ("", ""))
    body_text, attachments = _best_effort(lambda: _body_and_attachments(message), ("", []))
    return InboundMail(
        message_id=_best_effort(lambda: normalise_message_id(header("message-id")), ""),
        in_reply_to=_best_effort(lambda: normalise_message_id(header("in-reply-to")), ""),
        references=_best_effort(lambda: _message_ids(" ".join(headers.get("references", []))), []),
        subject=subject,
        from_address=from_address,
        from_name=from_name,
        reply_to_address=_best_effort(lambda: _first_address(header("reply-to"))[1], ""),
        to_addresses=_best_effort(lambda: _addresses(headers.get("to", [])), []),
        cc_addresses=_best_effort(lambda: _addresses(headers.get("cc", [])), []),
        date=_best_effort(lambda: _date(header("date")), None),
        ticket_number=_best_effort(lambda: ticket_number_in(subject), ""),
        body_text=body_text,
        reply_text=_best_effort(lambda: reply_text_of(body_text), ""),
        attachments=attachments,
        is_auto=_best_effort(lambda: _is_auto(headers, subject), False),
        is_bounce=_best_effort(lambda: _is_bounce(message, headers, from_address), False),
    )


# an e-mail has at least one of these; bytes with none of them are not a message at all
_MESSAGE_HEADERS = ("from", "sender", "reply-to", "to", "date", "message-id", "subject")


def is_mime_message(raw: bytes) -> bool:
    """Whether `raw` can be read as an RFC 5322 / MIME message at all: it parses, and has at least
    one of the headers every mail has. The lenient parse_mail would turn garbage into an empty
    mail; this tells the intake to refuse it instead (a broken part of a real mail is still read)."""
    try:
        message = email.message_from_bytes(bytes(raw), policy=email.policy.compat32)
    except Exception:  # the last line of defence, like parse_mail's
        return False
    return any(name.lower() in _MESSAGE_HEADERS for name in message)


def normalise_message_id(value: str) -> str:
    """`<Abc@Host>` → `Abc@Host`: the first id in a header, without brackets or whitespace.
    Case is kept: the part left of @ is case-sensitive."""
    ids = _message_ids(value)
    return ids[0] if ids else ""


def ticket_number_in(subject: str) -> str:
    """The posdesk ticket number a subject refers to ("[T2611233852] …", "工单 T2611233852"),
    upper-cased, or "". A bracketed number wins over a bare one."""
    text = unicodedata.normalize("NFKC", subject or "")  # full-width Ｔ２６… as typed on phones
    bracketed = _BRACKETED_TICKET_NUMBER.search(text)
    if bracketed and _TICKET_NUMBER.fullmatch(bracketed.group(1)):
        return bracketed.group(1).upper()
    bare = _TICKET_NUMBER.search(text)
    return f"T{bare.group(1)}" if bare else ""


def reply_text_of(body_text: str) -> str:
    """The new words of a reply: quoted history, attribution lines and the signature trimmed.
    Falls back to the whole body when trimming would leave nothing (a bare forward)."""
    lines = [line.rstrip() for line in body_text.split("\n")]
    kept = _lines_before_history(lines, allow_bottom_post=True)
    reply = _strip_blank_edges(kept)
    return reply or body_text.strip()


def build_reply_headers(
    ticket_number: str,
    original_message_id: str,
    references: Sequence[str] = (),
    *,
    subject: str = "",
) -> dict[str, str]:
    """Headers for our reply to a message so the merchant's client threads it and our intake finds
    the ticket again: Subject "Re: [T…] <subject without earlier Re:/[T…] prefixes>",
    In-Reply-To the original id, References the thread so far plus the original id (bounded)."""
    topic = subject or ""
    while True:
        stripped = _REPLY_PREFIX.sub("", topic, count=1)
        if stripped == topic:
            break
        topic = stripped
    topic = re.sub(
        rf"\s*[\[【]\s*{re.escape(ticket_number)}\s*[\]】]", "", topic, flags=re.IGNORECASE
    ).strip()
    headers = {"Subject": f"Re: [{ticket_number}] {topic}".rstrip()}
    original = normalise_message_id(original_message_id)
    thread = [i for i in (normalise_message_id(r) for r in references) if i]
    if original:
        headers["In-Reply-To"] = f"<{original}>"
        thread.append(original)
    thread = list(dict.fromkeys(thread))
    if len(thread) > _MAX_REFERENCES:  # RFC 5322 §3.6.4: keep the root and the newest
        thread = [thread[0], *thread[-(_MAX_REFERENCES - 1) :]]
    if thread:
        headers["References"] = " ".join(f"<{i}>" for i in thread)
    return headers


def new_message_id(domain: str) -> str:
    """A fresh Message-ID header value, `<…@domain>`; store it with normalise_message_id."""
    domain = (domain or "").strip().lower()
    if not domain or re.search(r"[\s<>@\[\]]", domain):
        raise ValueError(f"not a mail domain: {domain!r}")
    return email.utils.make_msgid(idstring="posdesk", domain=domain)


# --- headers ------------------------------------------------------------------------------


def _best_effort(extract: Callable[[], T], default: T) -> T:
    try:
        return extract()
    except Exception:  # one broken field must not lose the message
        logger.debug("mail field not readable", exc_info=True)
        return default


def _raw_headers(message: email.message.Message) -> dict[str, list[str]]:
    """Header values as sent (policy.default would decode GB2312-labelled GBK into mojibake),
    unfolded and with raw 8-bit bytes decoded."""
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        text = _best_effort(lambda value=value: _FOLD.sub("", _undo_surrogates(str(value))), "")
        headers.setdefault(name.strip().lower(), []).append(text.replace("\r", "").replace("\n", " "))
    return headers


def _undo_surrogates(value: str) -> str:
    """The parser keeps undecodable 8-bit header bytes as surrogates; decode them as UTF-8 or GBK."""
    if not any("\udc80" <= char <= "\udcff" for char in value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"), None)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from bytes in a declared (and possibly wrong) charset: the declared one if the bytes fit
    it, else UTF-8, else GB18030, else the declared one with replacement characters."""
    codec = _codec(charset)
    for candidate in dict.fromkeys(c for c in (codec, "utf-8", "gb18030") if c):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(codec or "utf-8", errors="replace")


def _codec(charset: str | None) -> str | None:
    name = (charset or "").strip().strip("\"'").lower().split("*", 1)[0]
    if name in _UNKNOWN_CHARSETS:
        return None
    if name in _GB_CHARSETS:
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_header_text(value: str) -> str:
    """RFC 2047 encoded words decoded, also where senders break the rules: words inside quoted
    strings, and a character split across two adjacent words (their bytes are joined first)."""
    pieces: list[str] = []
    pending_charset: str | None = None
    pending: bytearray = bytearray()
    position = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            pieces.append(decode_bytes(bytes(pending), pending_charset))
            pending.clear()
            pending_charset = None

    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        # Whitespace between two encoded words is not text (RFC 2047 §6.2).
        if between and not (pending_charset is not None and between.isspace()):
            flush()
            pieces.append(between)
        charset, encoding, encoded = match.group(1), match.group(2).lower(), match.group(3)
        data = _decode_encoded_word(encoding, encoded)
        if data is None:
            flush()
            pieces.append(match.group(0))
        else:
            if pending_charset is not None and pending_charset.lower() != charset.lower():
                flush()
            pending_charset = charset
            pending.extend(data)
        position = match.end()
    flush()
    pieces.append(value[position:])
    return "".join(pieces)


def _decode_encoded_word(encoding: str, encoded: str) -> bytes | None:
    if encoding == "q":
        return binascii.a2b_qp(encoded.encode("ascii", "replace"), header=True)
    if re.search(r"[^A-Za-z0-9+/=\s]", encoded):
        return None
    compact = re.sub(r"[^A-Za-z0-9+/]", "", encoded)
    compact = compact[: len(compact) - len(compact) % 4 if len(compact) % 4 == 1 else len(compact)]
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):
        return None


def _clean_header_text(value: str) -> str:
    text = without_nul(decode_header_text(value))
    text = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    return re.sub(r"\s+", " ", text).strip()


def _message_ids(value: str) -> list[str]:
    text = decode_header_text(value or "")
    bracketed = _ANGLE_ID.findall(text)
    candidates = bracketed if bracketed else re.split(r"[\s,]+", text)
    ids = (re.sub(r"[\s<>]+", "", without_nul(c)) for c in candidates)
    return list(dict.fromkeys(i for i in ids if i))


def _addresses(values: list[str]) -> list[str]:
    found = (address.strip().lower() for _name, address in email.utils.getaddresses(values))
    return list(dict.fromkeys(without_nul(a) for a in found if a))


def _first_address(value: str) -> tuple[str, str]:
    """(display name, lower-case address) of the first mailbox in an address header."""
    if not value:
        return "", ""
    for name, address in email.utils.getaddresses([value]):
        if address:
            return _clean_header_text(name).strip("\"' "), without_nul(address.strip().lower())
    return "", ""


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    parsed = email.utils.parsedate_to_datetime(value.strip())
    # "-0000" means the zone is unknown; UTC is the honest reading.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _is_auto(headers: dict[str, list[str]], subject: str) -> bool:
    auto_submitted = headers.get("auto-submitted", [""])[0].split(";", 1)[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if any(name in headers for name in _AUTO_HEADERS):
        return True
    precedence = headers.get("precedence", [""])[0].strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return True
    return bool(_AUTO_REPLY_SUBJECT.match(subject))


def _is_bounce(message: email.message.Message, headers: dict[str, list[str]], from_address: str) -> bool:
    if message.get_content_type() == "multipart/report":
        report_type = str(message.get_param("report-type", "") or "").strip().lower()
        if report_type == "delivery-status":
            return True
    if from_address.split("@", 1)[0] in _BOUNCE_SENDERS:
        return True
    return any(re.sub(r"\s+", "", v) == "<>" for v in headers.get("return-path", []))


# --- body and attachments -------------------------------------------------------------------


def _body_and_attachments(message: email.message.Message) -> tuple[str, list[MailAttachment]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[MailAttachment] = []
    for part in _leaf_parts(message, depth=0):
        content_type = _content_type(part)
        filename = _best_effort(lambda p=part: _filename(p), "")
        disposition = _best_effort(lambda p=part: str(p.get_content_disposition() or "").lower(), "")
        if content_type in {"text/plain", "text/html"} and not filename and disposition != "attachment":
            text = _best_effort(lambda p=part, ct=content_type: _part_text(p, ct), "")
            (plain if content_type == "text/plain" else html).append(text)
            continue
        data = _best_effort(lambda p=part: _part_bytes(p), b"")
        if not filename:
            filename = f"attachment-{len(attachments) + 1}{_extension(content_type)}"
        attachments.append(MailAttachment(filename, content_type, data))
    plain_text = _tidy_text("\n".join(t for t in plain if t.strip()))
    body = plain_text or _tidy_text("\n".join(t for t in html if t.strip()))
    return body, attachments


def _extension(content_type: str) -> str:
    if content_type == "message/rfc822":
        return ".eml"
    return mimetypes.guess_extension(content_type) or ".bin"


def _leaf_parts(part: email.message.Message, *, depth: int) -> Iterator[email.message.Message]:
    """Leaves of the MIME tree. An attached message (message/*) is one leaf: its text is not ours."""
    payload = part.get_payload()
    if part.get_content_maintype() == "multipart" and isinstance(payload, list) and depth < _MAX_MIME_DEPTH:
        for sub in payload:
            if isinstance(sub, email.message.Message):
                yield from _leaf_parts(sub, depth=depth + 1)
    elif part.get_content_maintype() != "multipart":
        yield part


def _content_type(part: email.message.Message) -> str:
    return _best_effort(lambda: part.get_content_type().lower(), "application/octet-stream")


def _filename(part: email.message.Message) -> str:
    """The attachment's name: Content-Disposition filename, else Content-Type name, decoded from
    RFC 2231 (with any charset) and from encoded words that clients put in the quoted value."""
    for header_name, param in (("content-disposition", "filename"), ("content-type", "name")):
        for name, value in part.raw_items():
            if name.strip().lower() != header_name:
                continue
            # A compat32 Message reads parameters from the raw text, including RFC 2231 continuations.
            probe = email.message.Message()
            probe[header_name] = _FOLD.sub("", _undo_surrogates(str(value)))
            found = probe.get_param(param, None, header=header_name)
            if isinstance(found, tuple):  # RFC 2231: (charset, language, %-decoded latin-1 text)
                charset, _language, text = found
                found = decode_bytes(str(text).encode("latin-1", "replace"), charset)
            if found:
                filename = _clean_header_text(email.utils.unquote(str(found)))
                # Only the last path component: names arrive as "C:\\Users\\…\\发票.pdf" too.
                filename = re.split(r"[\\/]", filename)[-1].strip()
                if filename:
                    return filename
    return ""


def _part_bytes(part: email.message.Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/rfc822, message/delivery-status
        return b"".join(
            sub.as_bytes(policy=_VERBATIM) for sub in payload if isinstance(sub, email.message.Message)
        )
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _part_text(part: email.message.Message, content_type: str) -> str:
    data = _part_bytes(part)
    charset = part.get_content_charset()
    if content_type == "text/html" and not charset:
        declared = re.search(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", data[:4096], re.IGNORECASE)
        charset = declared.group(1).decode("ascii") if declared else None
    text = decode_bytes(data, charset).replace("\r\n", "\n").replace("\r", "\n")
    if content_type == "text/html":
        return html_to_text(text)
    if str(part.get_param("format", "") or "").lower() == "flowed":
        text = _unflow(text, delsp=str(part.get_param("delsp", "") or "").lower() == "yes")
    return text


def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676: a line ending in a space continues on the next line (the signature line excepted)."""
    out: list[str] = []
    carry = ""
    for line in text.split("\n"):
        if line.endswith(" ") and line != "-- ":
            carry += line[:-1] if delsp else line
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in without_nul(text).replace("\xa0", " ").split("\n")]
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return tidy.strip("\n").rstrip()


# --- HTML ----------------------------------------------------------------------------------

# Tags that end a line, and the subset that also leaves a blank line (a paragraph) behind them.
# <div> is only a line: QQ Mail and Foxmail write every line of a message as a <div>.
_LINE_TAGS = frozenset(
    {"div", "tr", "li", "dt", "dd", "section", "article", "header", "footer", "address", "center", "form"}
)
_PARAGRAPH_TAGS = frozenset({"p", "ul", "ol", "dl", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre"})
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _HtmlText(HTMLParser):
    """HTML mail as plain text: blocks become lines, <blockquote> becomes "> " lines so the reply
    trimming treats HTML-only quotes like plain-text ones, scripts and styles are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._quote_depth = 0
        self._skip_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._flush(keep_empty=True)
        elif tag == "blockquote":
            self._end_block(paragraph=True)
            self._quote_depth += 1
        elif tag in _LINE_TAGS or tag in _PARAGRAPH_TAGS:
            self._end_block(paragraph=tag in _PARAGRAPH_TAGS)
            if tag == "pre":
                self._pre_depth += 1
        elif tag in {"td", "th"}:
            self._current.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._flush(keep_empty=True)
        elif tag in _LINE_TAGS or tag in _PARAGRAPH_TAGS:
            self._end_block(paragraph=tag in _PARAGRAPH_TAGS)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "blockquote":
            self._end_block(paragraph=True)
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag in _LINE_TAGS or tag in _PARAGRAPH_TAGS:
            self._end_block(paragraph=tag in _PARAGRAPH_TAGS)
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            first, *rest = data.split("\n")
            self._current.append(first)
            for line in rest:
                self._flush(keep_empty=True)
                self._current.append(line)
        else:
            self._current.append(re.sub(r"[ \t\r\n\f]+", " ", data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _end_block(self, *, paragraph: bool) -> None:
        self._flush()
        if paragraph and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def _flush(self, *, keep_empty: bool = False) -> None:
        text = "".join(self._current).replace("\xa0", " ")
        text = text.rstrip() if self._pre_depth else text.strip()
        self._current = []
        if text:
            self.lines.append("> " * self._quote_depth + text)
        elif keep_empty:
            self.lines.append(">" * self._quote_depth)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser gives up on some broken markup: strip the tags instead
        logger.debug("html body not parseable", exc_info=True)
        return _tidy_text(re.sub(r"<[^>]*>", " ", html))
    return _tidy_text("\n".join(parser.lines))


# --- reply trimming -----------------------------------------------------------------------


def _lines_before_history(lines: list[str], *, allow_bottom_post: bool) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip().replace("&nbsp;", " ").replace("\xa0", " ")
        joined = f"{line} {lines[index + 1].strip()}" if index + 1 < len(lines) else line
        if any(marker.match(line) for marker in _HISTORY_MARKERS + _SIGNATURE_MARKERS):
            break
        if _is_quote_header_block(lines, index):
            break
        attribution_lines = _attribution_length(line, joined)
        if attribution_lines:
            if allow_bottom_post and not _strip_blank_edges(kept):
                # Top of the body is "On … wrote:" + quote: the reply, if any, is below the quote.
                rest = [ln for ln in lines[index + attribution_lines :] if not ln.lstrip().startswith(">")]
                return _lines_before_history(rest, allow_bottom_post=False)
            break
        if not line.startswith(">"):
            kept.append(lines[index])
        index += 1
    return kept


def _attribution_length(line: str, joined: str) -> int:
    if any(marker.match(line) for marker in _ATTRIBUTION_MARKERS):
        return 1
    # Clients wrap a long "On Sat, 22 Nov 2026 … Zhang San <\nzhang@example.com> wrote:" line.
    if (line.lower().startswith("on ") or line.startswith("在")) and any(
        marker.match(joined) for marker in _ATTRIBUTION_MARKERS
    ):
        return 2
    return 0


def _is_quote_header_block(lines: list[str], index: int) -> bool:
    """A "From:/发件人:" line followed by at least one more quote header (Sent, To, Subject …)
    within four lines — one "From: our shop" line in a merchant's text is not enough."""
    if not _QUOTE_HEADER_FROM.match(lines[index].strip()):
        return False
    following = [ln.strip() for ln in lines[index + 1 : index + 5] if ln.strip()]
    return any(_QUOTE_HEADER_OTHER.match(ln) for ln in following)


def _strip_blank_edges(lines: list[str]) -> str:
    return "\n".join(lines).strip()
