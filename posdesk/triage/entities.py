"""The identifiers a merchant writes in a message (SPEC §4–5, C6): terminal SN, 终端号 TID (8 digits),
商户号 MID (15 digits), the transaction's response code (应答码, two characters), phone numbers
(mobiles and landlines) and amounts. Pure: no database, no Django.

Numbers in a message overlap in shape — a TID is eight of a MID's fifteen digits, a mobile is eleven
digits, a date is eight — so each kind is found in a fixed order (SN, MID, phone, amount, then TID)
and a span already taken is never read again: a MID's digits never give a TID, a phone never gives a
MID. Every pattern is anchored on both sides against more digits or letters, so a number is taken
whole or not at all (a 19-digit card number gives nothing).

Values come back normalised: SN upper-case, mobiles as 11 digits (+86 and separators dropped),
landlines as `<area code>-<number>`, response codes upper-case, amounts as plain decimals."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

# Terminal SN formats of the fleet (see posdesk/demo/catalogue.py: manufacturer prefix + year + serial,
# e.g. N3NL24000123, PAXA92024001234, LDE55023004567): a known prefix followed by 6–12 digits.
SN_PREFIXES = (
    "PAXA920", "PAXS90", "PAXQ92", "PAXD210", "LDE550", "FR40NL", "LDA8", "N3NL", "N6NL", "N9NL",
    "VF675", "VF520", "SMP2",
)
_B = r"(?<![0-9A-Za-z_-])"  # start: not inside a longer token
_E = r"(?![0-9A-Za-z_-])"   # end: the token ends here
_KNOWN_SN = re.compile(
    _B + "(" + "|".join(sorted(SN_PREFIXES, key=len, reverse=True)) + r")(\d{6,12})" + _E,
    re.IGNORECASE | re.ASCII,
)
# A labelled SN of any maker: "SN:ABC1234567", "序列号 xyz-001234", "机身号…" (core.identifiers.SN_RE).
_LABELLED_SN = re.compile(
    r"(?:\bS/?N|序列号|机身号|机器号|SN号|sn码|串号)\s*(?:号|码)?\s*(?:是|为)?\s*[:：=#]?\s*"
    r"([A-Za-z0-9][A-Za-z0-9-]{4,30}[A-Za-z0-9])" + _E,
    re.IGNORECASE | re.ASCII,
)
# An unlabelled token that reads as a serial: letters and at least six digits (QT6700A1 — a firmware
# name with five — is not one, nor a ticket number T2026…).
_SN_LIKE = re.compile(_B + r"([A-Za-z][A-Za-z0-9-]{4,30}[0-9])" + _E, re.ASCII)
_TICKET_NUMBER = re.compile(r"^T\d{10,}$", re.IGNORECASE)

_MID = re.compile(r"(?<![0-9A-Za-z])(\d{15})(?![0-9A-Za-z])", re.ASCII)
_TID = re.compile(r"(?<![0-9A-Za-z.])(?<!\d-)(\d{8})(?![0-9A-Za-z]|\.\d)", re.ASCII)
_TID_LABEL = re.compile(r"(?:终端号|终端编号|终端代码|终端|TID|T\.I\.D)\s*(?:号|码)?\s*(?:是|为)?\s*[:：=#]?\s*$",
                        re.IGNORECASE)

# A number written in groups (card numbers "6222 0212 3456 7890") is one number: a phone may not
# start right after a digit and a separator, nor be followed by a separator and four more digits.
_NOT_AFTER_GROUP = r"(?<!\d)(?<!\d[ -])"
_NOT_BEFORE_GROUP = r"(?!\d)(?![ -]\d{4})"
_MOBILE = re.compile(
    r"(?:(?<![0-9A-Za-z+])(?:\+|00)?86[ -]?|" + _NOT_AFTER_GROUP + r"(?<![A-Za-z]))"
    r"(1[3-9]\d(?:[ -]?\d){8})" + _NOT_BEFORE_GROUP,
    re.ASCII,
)
# Area code: 010 and 02X are three digits, every other one four (0571 Hangzhou); the local number
# is 7–8 digits starting 2–9. Written 0571-88888888, 0571 8888 8888, (0571)88888888 or 057188888888.
_LANDLINE = re.compile(
    _NOT_AFTER_GROUP + r"(?<![A-Za-z])"
    r"(?:\((0\d{2,3})\)|\b(0\d{2,3}))[ -]?([2-9]\d{2,3})[ -]?(\d{4})" + _NOT_BEFORE_GROUP,
    re.ASCII,
)
_LANDLINE_COMPACT = re.compile(_NOT_AFTER_GROUP + r"(?<![A-Za-z])(0\d{10,11})" + _NOT_BEFORE_GROUP, re.ASCII)
_SERVICE_LINE = re.compile(_NOT_AFTER_GROUP + r"([48]00)[ -]?(\d{3})[ -]?(\d{4})" + _NOT_BEFORE_GROUP, re.ASCII)

_NUMBER = r"(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"
_AMOUNT = re.compile(
    r"[¥$]\s?" + _NUMBER + r"(?![\d.])"
    r"|(?<![\d.,A-Za-z])" + _NUMBER + r"\s?(?:元|块|RMB\b|CNY\b|yuan\b)"
    r"|(?:金额|扣了|扣款|多扣了?|少了|少到账?|退款|到账)\s*[:：]?\s*(?<![\d.])" + _NUMBER
    + r"(?![\d.])(?!\s*(?:笔|次|个|天|台|号|点|分钟|小时|%|位))",
    re.IGNORECASE,
)

# Response codes (ISO 8583 field 39): two characters, read only where the message says it is one —
# after 返回码 / 应答码 / 错误码 / code (any two characters), after 显示 / 提示 / 报 / 出现 / 失败 (two
# characters with a digit, so "显示OK" is not a code), or before 错误 / 码 ("报96错误", "51码").
# Any other two digits (a quantity, a time, a price) are not a code.
_CODE = r"([0-9A-Z]{2})"
_STRONG_LABEL = (
    r"(?:返回码|应答码|错误码|响应码|错误代码|故障码|交易码|回应码|返回代码|应答代码|"
    r"response\s*code|resp\s*code|error\s*code|err\s*code|code|rc|错误|error|err)"
)
_WEAK_LABEL = r"(?:显示|提示|报错|报了|报|出现|弹出|跳出|失败|拒绝|被拒)"
_HAS_DIGIT = r"(?=[A-Z]?\d|\d[A-Z])"
# "报了10次", "出了3笔": a count, not a code
_NOT_A_COUNT = r"(?!\s*(?:次|个|台|天|元|块|分钟|分|秒|小时|号|点|多|年|月|日|笔|张|%|万|千|百|位|岁))"
_LINK = r"\s*(?:是|为|号|:|：|=|#)?\s*[\"“'‘「【(（\[]?\s*"
_RESPONSE_CODE = re.compile(
    r"(?<![A-Za-z])" + _STRONG_LABEL + _LINK + _HAS_DIGIT + _CODE + r"(?![0-9A-Za-z])" + _NOT_A_COUNT
    + r"|" + _WEAK_LABEL + _LINK + _HAS_DIGIT + _CODE + r"(?![0-9A-Za-z:：.])" + _NOT_A_COUNT
    + r"|(?<![0-9A-Za-z.:])" + _HAS_DIGIT + _CODE + r"\s*(?:错误|错|码|的错)",
    re.IGNORECASE | re.ASCII,
)


@dataclass
class Entities:
    sn: list[str] = field(default_factory=list)
    tid: list[str] = field(default_factory=list)
    mid: list[str] = field(default_factory=list)
    response_code: list[str] = field(default_factory=list)
    phone: list[str] = field(default_factory=list)
    amount: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return asdict(self)

    def __bool__(self) -> bool:
        return any((self.sn, self.tid, self.mid, self.response_code, self.phone, self.amount))


class _Spans:
    """The parts of the text already read as one identifier, so no other kind reads them again."""

    def __init__(self) -> None:
        self._taken: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self._taken)

    def take(self, start: int, end: int) -> None:
        self._taken.append((start, end))


def _add(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _looks_like_date(digits: str) -> bool:
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    return 1990 <= year <= 2039 and 1 <= month <= 12 and 1 <= day <= 31


def _landline(area: str, local: str) -> str:
    return f"{area}-{local}"


def _split_compact_landline(digits: str) -> tuple[str, str] | None:
    area_len = 3 if digits[1] in "12" else 4
    area, local = digits[:area_len], digits[area_len:]
    if len(local) in (7, 8) and local[0] in "23456789":
        return area, local
    return None


def extract_entities(text: str) -> Entities:
    """Every SN, TID, MID, response code, phone and amount written in `text`, each once, in order."""
    found = Entities()
    if not text:
        return found
    # NFKC: full-width digits and letters (１２３, ＳＮ), ＋, （） and ￥ read as their ASCII forms
    text = unicodedata.normalize("NFKC", text)
    spans = _Spans()

    for pattern in (_KNOWN_SN, _LABELLED_SN):
        for match in pattern.finditer(text):
            value = match.group(0) if pattern is _KNOWN_SN else match.group(1)
            start, end = (match.start(), match.end()) if pattern is _KNOWN_SN else match.span(1)
            value = value.upper()
            if spans.free(start, end) and sum(c.isdigit() for c in value) >= 4 and not _TICKET_NUMBER.match(value):
                spans.take(start, end)
                _add(found.sn, value)
    for match in _SN_LIKE.finditer(text):
        value = match.group(1).upper()
        digits = sum(c.isdigit() for c in value)
        if digits >= 6 and not _TICKET_NUMBER.match(value) and spans.free(*match.span(1)):
            spans.take(*match.span(1))
            _add(found.sn, value)

    for match in _MID.finditer(text):
        if spans.free(*match.span(1)):
            spans.take(*match.span(1))
            _add(found.mid, match.group(1))

    phones: list[tuple[int, str]] = []  # (position, value): mobiles and landlines in reading order
    for match in _MOBILE.finditer(text):
        if spans.free(*match.span(1)):
            spans.take(match.start(), match.end())
            phones.append((match.start(), re.sub(r"\D", "", match.group(1))))
    for match in _LANDLINE.finditer(text):
        if spans.free(match.start(), match.end()):
            spans.take(match.start(), match.end())
            phones.append((match.start(), _landline(match.group(1) or match.group(2), match.group(3) + match.group(4))))
    for match in _LANDLINE_COMPACT.finditer(text):
        parts = _split_compact_landline(match.group(1))
        if parts and spans.free(*match.span(1)):
            spans.take(*match.span(1))
            phones.append((match.start(), _landline(*parts)))
    for match in _SERVICE_LINE.finditer(text):
        if spans.free(match.start(), match.end()):
            spans.take(match.start(), match.end())
            phones.append((match.start(), "".join(match.groups())))
    for _, phone in sorted(phones):
        _add(found.phone, phone)

    for match in _AMOUNT.finditer(text):
        group = next(i for i in (1, 2, 3) if match.group(i) is not None)
        if spans.free(*match.span(group)):
            spans.take(*match.span(group))
            _add(found.amount, match.group(group).replace(",", ""))

    for match in _RESPONSE_CODE.finditer(text):
        group = next(i for i in (1, 2, 3) if match.group(i) is not None)
        if spans.free(*match.span(group)):
            spans.take(*match.span(group))
            _add(found.response_code, match.group(group).upper())

    for match in _TID.finditer(text):
        digits = match.group(1)
        if not spans.free(*match.span(1)):
            continue
        labelled = bool(_TID_LABEL.search(text[max(0, match.start() - 12):match.start()]))
        if labelled or not _looks_like_date(digits):
            spans.take(*match.span(1))
            _add(found.tid, digits)
    return found
