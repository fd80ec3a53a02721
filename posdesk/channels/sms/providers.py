"""SMS gateway (SPEC C3): the interface every SMS provider implements, the embedded local provider,
and the rules shared by all of them — mainland mobile normalisation and the "TD" opt-out reply
(SPEC C4; MIIT Order 31 of 2015 requires an easy way to refuse commercial SMS, and replying "TD"
is the industry convention, see shared/data/README.md).

`send()` returns a `SendResult` only when the provider accepted the message; every failure raises
`SmsError`, whose `retryable` flag tells the outbox whether to try again (network, timeouts,
throttling) or to move the message to the dead-letter list (bad number, template, signature,
credentials, balance).

Idempotent sends: the outbox hands every attempt of a message the same `idempotency_key`. A
provider whose `idempotent_sends` is True answers a key it has accepted before with that first
result and sends nothing, so a message whose worker died after the provider accepted it (before
the outbox could mark it sent) still reaches the merchant once. The local provider does; Aliyun
SendSms does not (see aliyun.py), so with Aliyun such a crash can still send a text twice."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from posdesk.core.identifiers import is_mainland_mobile, normalise_mobile
from posdesk.core.masking import mask_mobile, mask_text

logger = logging.getLogger("posdesk.sms")


class SmsError(Exception):
    """A message the provider did not accept. `code` is the provider's own code where it gave one
    (for Aliyun e.g. `isv.MOBILE_NUMBER_ILLEGAL`), otherwise one of ours: `timeout`,
    `network_error`, `http_<status>`, `malformed_response`, `invalid_mobile`, `empty_text`,
    `missing_reference`. The message is for operators' logs, not for merchants."""

    def __init__(self, message: str, *, code: str, retryable: bool, provider: str = "") -> None:
        self.code = code
        self.retryable = retryable
        self.provider = provider
        super().__init__(message)


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_message_id: str
    accepted: bool
    error_code: str = ""
    error_message: str = ""

    @classmethod
    def refused(cls, provider: str, error: SmsError) -> SendResult:
        """The same shape for a refused message, so the outbox records successes and failures
        alike (`send()` itself raises instead of returning this)."""
        return cls(
            provider=provider,
            provider_message_id="",
            accepted=False,
            error_code=error.code,
            error_message=str(error),
        )


@runtime_checkable
class SmsProvider(Protocol):
    name: str
    # True when a repeated `idempotency_key` is answered with the first result, nothing sent again
    idempotent_sends: bool

    def send(self, *, mobile: str, text: str, reference: str, idempotency_key: str = "") -> SendResult:
        """Hand one text to the provider for one mobile. `reference` is our outbox id;
        `idempotency_key` is the same on every attempt of one message (empty: none). The provider
        echoes one of them in its delivery receipts (Aliyun's `out_id`: the key when given)."""
        ...


# --- the opt-out reply --------------------------------------------------------------------------
#
# What counts as "unsubscribe", decided for posdesk:
# - TD (any case, full-width, spaced "T D"), 退订, 取消订阅, 退订短信 — as the whole reply or as
#   its first or last word ("退订，别再发了", "别发了 TD"); "unsubscribe" and "stop" as the whole
#   reply or its first word ("STOP please", but not "don't stop"). Polite padding is ignored,
#   attached or not ("请退订", "我要退订", "退订 谢谢", "好的，TD，谢谢", "TD。").
# - Not a lone "N", "T" or "R": posdesk's own appointment and survey texts ask merchants to answer
#   Y/N or digits, so such a reply is an answer, not an opt-out; posdesk's texts say "回TD退订".
# - Not "td" inside a word ("Ltd", "std"), nor a keyword inside a longer phrase with no separator
#   ("我不想退订", "请问TD是什么意思"). Every inbound SMS is stored (SPEC C3), so an agent can
#   still record an opt-out the rule missed.
UNSUBSCRIBE_KEYWORDS = frozenset({"td", "退订", "取消订阅", "退订短信", "unsubscribe", "stop"})
# Keywords that also count as the last word: the Chinese convention puts "TD"/"退订" at the end.
_TRAILING_KEYWORDS = frozenset({"td", "退订", "取消订阅", "退订短信"})
_PADDING_WORDS = frozenset(
    {
        "谢谢",
        "谢谢你",
        "谢谢您",
        "谢了",
        "请",
        "麻烦",
        "麻烦了",
        "好的",
        "好",
        "ok",
        "please",
        "thanks",
        "thank",
        "you",
    }
)
# Chinese writes padding attached to the keyword ("请退订谢谢"); English padding is a word of its
# own, so "tdplease" stays a word that merely contains td.
_POLITE_PREFIXES = ("我要", "我想", "麻烦", "请")
_POLITE_SUFFIXES = ("谢谢你", "谢谢您", "谢谢", "了", "吧", "啊")


def _is_separator(char: str) -> bool:
    # Unicode punctuation (P*), symbols (S*) and spaces (Z*) split words; letters, CJK and
    # digits do not.
    return char.isspace() or unicodedata.category(char)[0] in "PSZ"


def _without_padding(word: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _POLITE_PREFIXES:
            if word.startswith(prefix) and len(word) > len(prefix):
                word, changed = word[len(prefix) :], True
        for suffix in _POLITE_SUFFIXES:
            if word.endswith(suffix) and len(word) > len(suffix):
                word, changed = word[: -len(suffix)], True
    return word


def is_unsubscribe(text: str | None) -> bool:
    """True when an inbound SMS asks to stop marketing messages (see the rules above)."""
    # NFKC folds full-width ＴＤ and compatibility forms; casefold handles Td/tD.
    normalised = unicodedata.normalize("NFKC", text or "").casefold()
    words = "".join(" " if _is_separator(c) else c for c in normalised).split()
    words = [word for word in words if word not in _PADDING_WORDS]
    if not words:
        return False
    if _without_padding("".join(words)) in UNSUBSCRIBE_KEYWORDS:  # "TD", "T D", "退订谢谢"
        return True
    if _without_padding(words[0]) in UNSUBSCRIBE_KEYWORDS:
        return True
    return _without_padding(words[-1]) in _TRAILING_KEYWORDS


# --- the embedded default -----------------------------------------------------------------------


def _now_utc() -> datetime:
    return datetime.now(UTC)


class LocalSmsProvider:
    """Writes each message as one JSON line to `path` (the embedded default, like Django's file
    e-mail backend) and logs it with the mobile masked. The file keeps the full number because
    demos and end-to-end tests must find the text sent to a given mobile (e.g. a login code); it
    is a data file under the local data folder, not a log.

    The id is derived from reference, mobile and text, so a retried outbox message gets the
    same id and different messages get different ids.

    It honours idempotency keys, like a gateway that de-duplicates: a line sent with a key
    carries it, and a later send with that key — from this process or another, before or after a
    restart, since the file is the record — answers the first line's result and writes nothing.
    Checking and appending happen under an exclusive lock on the file, so two workers sending
    the same key at once write one line."""

    name = "local"
    idempotent_sends = True

    def __init__(self, path: str | Path, *, clock: Callable[[], datetime] = _now_utc) -> None:
        self.path = Path(path)
        self.clock = clock

    def send(self, *, mobile: str, text: str, reference: str, idempotency_key: str = "") -> SendResult:
        number = normalise_mobile(mobile)
        if not is_mainland_mobile(number):
            raise SmsError(
                f"Not a mainland mobile number: {mask_mobile(mobile)}",
                code="invalid_mobile",
                retryable=False,
                provider=self.name,
            )
        if not text or not text.strip():
            raise SmsError("The text is empty.", code="empty_text", retryable=False, provider=self.name)
        if not reference:
            raise SmsError(
                "A reference (the outbox id) is required.",
                code="missing_reference",
                retryable=False,
                provider=self.name,
            )
        message_id = local_message_id(mobile=number, text=text, reference=reference)
        line = {
            "id": message_id,
            "mobile": number,
            "text": text,
            "reference": reference,
            "sent_at": self.clock().astimezone(UTC).isoformat(),
        }
        if idempotency_key:
            line["idempotency_key"] = idempotency_key
        encoded = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one line in append mode: concurrent writers (web and worker) do not
        # interleave lines this short.
        with self.path.open("a+b") as sent:
            if idempotency_key:
                fcntl.flock(sent, fcntl.LOCK_EX)  # released when the file closes
                first_id = _accepted_keys(self.path).first_id(sent, idempotency_key)
                if first_id is not None:
                    return self._repeated(first_id, message_id, idempotency_key, number)
            sent.write(encoded)
        logger.info(
            "sms %s to %s (reference %s): %s",
            message_id,
            mask_mobile(number),
            reference,
            mask_text(text),
        )
        return SendResult(provider=self.name, provider_message_id=message_id, accepted=True)

    def _repeated(self, first_id: str, message_id: str, idempotency_key: str, number: str) -> SendResult:
        if first_id != message_id:
            # the key came with another text, mobile or reference: a caller's bug, not a retry
            raise SmsError(
                f"Idempotency key {idempotency_key} was first used for another message ({first_id}).",
                code="idempotency_key_reused",
                retryable=False,
                provider=self.name,
            )
        logger.info(
            "sms %s to %s (key %s) was accepted before; not sent again",
            first_id,
            mask_mobile(number),
            idempotency_key,
        )
        return SendResult(provider=self.name, provider_message_id=first_id, accepted=True)


class _AcceptedKeys:
    """The keys in one local SMS file and the id each was first accepted under, read once per
    process and then only the lines appended since (by this process or any other): a send costs
    the new lines, not the whole file. Call with the file locked."""

    def __init__(self) -> None:
        self.first_ids: dict[str, str] = {}
        self.read_up_to = 0
        self.inode = -1

    def first_id(self, sent: BinaryIO, key: str) -> str | None:
        status = os.fstat(sent.fileno())
        if status.st_ino != self.inode or status.st_size < self.read_up_to:  # replaced or emptied
            self.first_ids, self.read_up_to, self.inode = {}, 0, status.st_ino
        sent.seek(self.read_up_to)
        new = sent.read()
        complete = new[: new.rfind(b"\n") + 1]  # a line still being written is read next time
        for raw in complete.splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue  # not ours to judge; the file is a record, not a database
            if isinstance(record, dict) and record.get("idempotency_key"):
                self.first_ids.setdefault(str(record["idempotency_key"]), str(record.get("id", "")))
        self.read_up_to += len(complete)
        return self.first_ids.get(key)


_accepted_by_path: dict[Path, _AcceptedKeys] = {}
_accepted_guard = threading.Lock()


def _accepted_keys(path: Path) -> _AcceptedKeys:
    with _accepted_guard:
        return _accepted_by_path.setdefault(path.resolve(), _AcceptedKeys())


def local_message_id(*, mobile: str, text: str, reference: str) -> str:
    digest = hashlib.sha256("\x1f".join((reference, mobile, text)).encode("utf-8")).hexdigest()
    return f"local-{digest[:24]}"
