"""Chinese text into words, for search and triage: jieba (CONVENTIONS) with the trade's own
vocabulary (`data/pos_words.txt`: 流量卡, 签到, 密钥, 非接, 到账, 押金, terminal models …), so that
"签到失败" is 签到 + 失败 and not 签 + 到 + 失败.

Text is normalised first (NFKC: full-width letters and digits become ASCII; Latin lower-cased),
so "ＰＯＳ机 Ａ０" and "pos机 a0" give the same words. The dictionary is loaded once per process,
on first use (about a second), from files shipped with jieba and with posdesk — nothing is fetched."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from pathlib import Path

import jieba

DOMAIN_WORDS = Path(__file__).resolve().parent / "data" / "pos_words.txt"
# a word is a run of CJK characters, letters or digits; punctuation and spaces separate words
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _load() -> jieba.Tokenizer:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            for line in DOMAIN_WORDS.read_text(encoding="utf-8").splitlines():
                word, _, rest = line.partition(" ")
                if word:
                    freq = rest.split()[0] if rest.split() else None
                    # jieba lower-cases nothing: add both spellings of Latin model names
                    tokenizer.add_word(word, int(freq) if freq else None)
                    if word.lower() != word:
                        tokenizer.add_word(word.lower(), int(freq) if freq else None)
            _tokenizer = tokenizer
    return _tokenizer


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def words(text: str) -> list[str]:
    """The words of `text`, in order (precise mode), without spaces and punctuation."""
    tokenizer = _tokenizer or _load()
    return [w for w in tokenizer.lcut(normalise(text), HMM=True) if _WORD.search(w)]


def search_terms(text: str) -> list[str]:
    """The words of `text` for a search index or query: every word, plus the shorter words inside
    long ones (jieba's search mode: 交易失败 also gives 交易 and 失败), without spaces and punctuation."""
    tokenizer = _tokenizer or _load()
    return [w for w in tokenizer.lcut_for_search(normalise(text), HMM=True) if _WORD.search(w)]
