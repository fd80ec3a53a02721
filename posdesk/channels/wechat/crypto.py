"""WeChat Official Account server verification and safe-mode (安全模式) message security.

- Plain signature (URL verification and every push): sha1 of the sorted token, timestamp, nonce.
- Safe mode: AESKey = base64decode(EncodingAESKey + "="), AES-256-CBC with IV = AESKey[:16],
  PKCS#7 padding to a 32-byte block (WeChat's choice, not AES's 16), and
  plaintext = random(16) + length(4, big-endian) + message + appid.
  msg_signature = sha1 of the sorted token, timestamp, nonce and the base64 ciphertext.

Every refusal raises `WeChatSecurityError` with a stable `reason`, so the web adapter can answer
403 and log why without echoing attacker-controlled data."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import time
from datetime import datetime

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from posdesk.channels.wechat.messages import MalformedMessage, cdata_section, read_xml_fields

ENCODING_AES_KEY_LENGTH = 43
PAD_BLOCK_BYTES = 32
RANDOM_PREFIX_BYTES = 16
LENGTH_FIELD_BYTES = 4
MAX_TIMESTAMP_SKEW_SECONDS = 300
_RANDOM_ALPHABET = string.ascii_letters + string.digits


class WeChatSecurityError(Exception):
    """A request or ciphertext we refuse. `reason` is one of: bad_signature, bad_app_id,
    bad_padding, bad_ciphertext, bad_envelope, bad_timestamp, stale_timestamp."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


def _sha1_of_sorted(*parts: str) -> str:
    # SHA-1 is what WeChat's protocol mandates; we cannot choose another digest.
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


def _same_signature(expected: str, given: str) -> bool:
    # Encoded first: compare_digest refuses non-ASCII str, and a query string can hold anything.
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))


def check_signature(token: str, signature: str, timestamp: str | int, nonce: str) -> bool:
    """Whether `signature` (the `signature` query parameter) proves the request came from WeChat."""
    return _same_signature(_sha1_of_sorted(token, str(timestamp), nonce), signature)


def msg_signature(token: str, timestamp: str | int, nonce: str, encrypted: str) -> str:
    """The safe-mode signature over a base64 ciphertext."""
    return _sha1_of_sorted(token, str(timestamp), nonce, encrypted)


def check_timestamp(
    timestamp: str | int, now: float | datetime, max_skew_seconds: int = MAX_TIMESTAMP_SKEW_SECONDS
) -> None:
    """Refuse a push whose timestamp is further than `max_skew_seconds` from `now`, in either
    direction, so a captured request cannot be replayed later."""
    stamped = str(timestamp).strip()
    # str.isdigit alone would accept other scripts' digits, int() alone "+5" and "1_000".
    if not stamped.isascii() or not stamped.isdigit():
        raise WeChatSecurityError("bad_timestamp", "The timestamp is not a whole number.")
    now_seconds = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(now_seconds - int(stamped)) > max_skew_seconds:
        raise WeChatSecurityError(
            "stale_timestamp", f"The timestamp is more than {max_skew_seconds} s away from now."
        )


class WeChatCrypto:
    """Safe-mode encryption for one Official Account (token, EncodingAESKey and AppID from the
    account's developer settings)."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        if not token:
            raise ValueError("The WeChat token must not be empty.")
        if not app_id:
            raise ValueError("The WeChat AppID must not be empty.")
        self.token = token
        self.app_id = app_id
        self._app_id_bytes = app_id.encode("utf-8")
        self._key = self._aes_key(encoding_aes_key)

    @staticmethod
    def _aes_key(encoding_aes_key: str) -> bytes:
        if len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
            raise ValueError(f"The EncodingAESKey must be {ENCODING_AES_KEY_LENGTH} characters long.")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise ValueError(
                "The EncodingAESKey must use the base64 alphabet (A-Z, a-z, 0-9, +, /)."
            ) from None
        if len(key) != 32:  # 43 base64 characters always give 32 bytes; kept as a guard
            raise ValueError("The EncodingAESKey does not decode to a 256-bit key.")
        return key

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(
        self,
        xml_text: str,
        nonce: str | None = None,
        timestamp: str | int | None = None,
        random_bytes: bytes | None = None,
    ) -> tuple[str, str, str, str]:
        """Encrypt a reply. Returns (encrypted_b64, msg_signature, timestamp, nonce); nonce,
        timestamp and the 16 random bytes are generated when not given (tests pin them)."""
        if random_bytes is None:
            # Letters and digits, like WeChat's own samples, so any receiver's decoder copes.
            random_bytes = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(16)).encode("ascii")
        if len(random_bytes) != RANDOM_PREFIX_BYTES:
            raise ValueError(f"random_bytes must be exactly {RANDOM_PREFIX_BYTES} bytes.")
        nonce = nonce if nonce is not None else str(secrets.randbelow(10**10))
        timestamp = str(timestamp if timestamp is not None else int(time.time()))
        if not timestamp.isascii() or not timestamp.isdigit():
            raise WeChatSecurityError("bad_timestamp", "The timestamp is not a whole number.")

        message = xml_text.encode("utf-8")
        plaintext = (
            random_bytes + len(message).to_bytes(LENGTH_FIELD_BYTES, "big") + message + self._app_id_bytes
        )
        pad_length = PAD_BLOCK_BYTES - len(plaintext) % PAD_BLOCK_BYTES
        plaintext += bytes([pad_length]) * pad_length
        encryptor = self._cipher().encryptor()
        encrypted = base64.b64encode(encryptor.update(plaintext) + encryptor.finalize()).decode("ascii")
        return encrypted, msg_signature(self.token, timestamp, nonce, encrypted), timestamp, nonce

    def decrypt(self, encrypted_b64: str) -> str:
        """The message inside a safe-mode ciphertext, after checking padding, length and AppID.
        Feed it only ciphertexts whose msg_signature was checked (decrypt_message does): its
        distinct padding errors would otherwise serve an attacker as a CBC padding oracle."""
        try:
            ciphertext = base64.b64decode(encrypted_b64, validate=True)
        except (binascii.Error, ValueError):
            raise WeChatSecurityError("bad_ciphertext", "The ciphertext is not base64.") from None
        if not ciphertext or len(ciphertext) % 16:
            raise WeChatSecurityError("bad_ciphertext", "The ciphertext is not a whole number of AES blocks.")
        decryptor = self._cipher().decryptor()
        plaintext = decryptor.update(ciphertext) + decryptor.finalize()

        pad_length = plaintext[-1]
        if not 1 <= pad_length <= PAD_BLOCK_BYTES or pad_length > len(plaintext):
            raise WeChatSecurityError("bad_padding", "The padding is not PKCS#7.")
        if not hmac.compare_digest(plaintext[-pad_length:], bytes([pad_length]) * pad_length):
            raise WeChatSecurityError("bad_padding", "The padding is not PKCS#7.")
        content = plaintext[RANDOM_PREFIX_BYTES:-pad_length]

        if len(content) < LENGTH_FIELD_BYTES:
            raise WeChatSecurityError("bad_ciphertext", "The plaintext is too short.")
        message_length = int.from_bytes(content[:LENGTH_FIELD_BYTES], "big")
        message_end = LENGTH_FIELD_BYTES + message_length
        if message_end > len(content):
            raise WeChatSecurityError("bad_ciphertext", "The declared message length exceeds the plaintext.")
        if not hmac.compare_digest(content[message_end:], self._app_id_bytes):
            raise WeChatSecurityError("bad_app_id", "The message was encrypted for another AppID.")
        try:
            return content[LENGTH_FIELD_BYTES:message_end].decode("utf-8")
        except UnicodeDecodeError:
            raise WeChatSecurityError("bad_ciphertext", "The message is not UTF-8.") from None

    def decrypt_message(
        self,
        post_body_xml: str | bytes,
        msg_signature: str,
        timestamp: str | int,
        nonce: str,
        *,
        now: float | datetime | None = None,
        max_skew_seconds: int = MAX_TIMESTAMP_SKEW_SECONDS,
    ) -> str:
        """The plaintext XML of a safe-mode push: reads <Encrypt>, checks msg_signature (and the
        timestamp's freshness when `now` is given), decrypts and checks the AppID."""
        try:
            fields = read_xml_fields(post_body_xml)
        except MalformedMessage as exc:
            raise WeChatSecurityError(
                "bad_envelope", f"The envelope is not acceptable ({exc.reason})."
            ) from exc
        encrypted = fields.get("Encrypt", "").strip()
        if not encrypted:
            raise WeChatSecurityError("bad_envelope", "The envelope has no <Encrypt> element.")
        expected = _sha1_of_sorted(self.token, str(timestamp), nonce, encrypted)
        if not _same_signature(expected, msg_signature):
            raise WeChatSecurityError("bad_signature", "The msg_signature does not match.")
        if now is not None:
            check_timestamp(timestamp, now, max_skew_seconds)
        return self.decrypt(encrypted)

    def encrypt_message(
        self,
        reply_xml: str,
        nonce: str | None = None,
        timestamp: str | int | None = None,
        random_bytes: bytes | None = None,
    ) -> str:
        """The encrypted passive-reply envelope WeChat expects in safe mode."""
        encrypted, signature, timestamp, nonce = self.encrypt(reply_xml, nonce, timestamp, random_bytes)
        return (
            "<xml>\n"
            f"<Encrypt>{cdata_section(encrypted)}</Encrypt>\n"
            f"<MsgSignature>{cdata_section(signature)}</MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n"
            f"<Nonce>{cdata_section(nonce)}</Nonce>\n"
            "</xml>"
        )
