"""Possible duplicates (C6), the pure part: is a new ticket the same problem as an open ticket of
the same merchant? Both texts are compared twice, as sets of words (jieba with the trade's
dictionary, the little words every message shares left out) and as sets of character pairs — jieba
cuts one phrase two ways in two messages (打印机/不出/纸 against 打印机/又/不/出纸/了) and the pairs do
not care — and the better of the two counts; a shared response code or SN is strong evidence. No
database: the pipeline hands in the candidates it read in one query."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from posdesk.core.segmentation import normalise, words

# Score from which an open ticket is shown as a possible duplicate: two messages about the same
# fault ("打印机不出纸" / "打印机又不出纸了，怎么办") share most of the shorter one's pairs (0.8); two
# faults of one shop ("打印机不出纸" / "打印机卡纸": 0.5, "刷卡没反应" / "刷卡显示51": 0.33) do not.
MIN_SIMILARITY = 0.6

_FILLER = frozenset(
    ["的", "了", "吗", "呢", "啊", "吧", "呀", "哦", "嗯", "么", "我", "我们", "你", "你们", "他", "她", "它", "是", "在", "有", "就", "都", "也", "还", "又", "和", "与", "及", "这", "那", "这个", "那个", "一下", "一个", "怎么", "怎么办", "什么", "为什么", "请", "请问", "帮", "帮忙", "麻烦", "谢谢", "您好", "你好", "老师", "师傅", "现在", "今天", "昨天", "一直", "没", "不", "能", "会", "要", "想", "给", "说", "看", "下", "个", "机器", "pos", "机子", "店里", "商户"]
)


_NOT_CJK = re.compile(r"[^\u4e00-\u9fff]+")
# the pairs of a message shorter than this are too few to say it is contained in another
MIN_PAIRS = 3


@dataclass(frozen=True)
class TextSignature:
    words: frozenset[str]
    pairs: frozenset[str]
    strong: frozenset[str]


def text_words(text: str, strong: Iterable[str] = ()) -> TextSignature:
    """What a message is about: its words without the filler and the bare numbers, the pairs of
    its Chinese characters, and `strong` identifiers (its response codes, SNs). Numbers (a mobile,
    a TID) say who writes, not what is wrong."""
    plain = _NOT_CJK.sub("", normalise(text))
    return TextSignature(
        words=frozenset(w for w in words(text) if w not in _FILLER and not w.isdigit()),
        pairs=frozenset(plain[i:i + 2] for i in range(len(plain) - 1)),
        strong=frozenset(s.upper() for s in strong),
    )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """How much of the shorter set the longer one holds: "打印机不出纸" inside a longer message that
    also gives a phone number and says hello is still the same fault."""
    if min(len(a), len(b)) < MIN_PAIRS:
        return _jaccard(a, b)
    return len(a & b) / min(len(a), len(b))


def similarity(a: TextSignature, b: TextSignature) -> float:
    """0 … 1: the better of the words' Jaccard similarity and the character pairs' overlap; a
    shared strong identifier alone scores at least 0.5."""
    score = max(_jaccard(a.words, b.words), _overlap(a.pairs, b.pairs))
    if a.strong & b.strong:
        score = max(score, 0.5)
    return score


@dataclass(frozen=True)
class Candidate:
    ticket_id: int
    terminal_id: int | None
    words: TextSignature


def best_duplicate(
    words_of_new: TextSignature, terminal_id: int | None, candidates: Sequence[Candidate]
) -> tuple[int, float] | None:
    """The most similar candidate at or above MIN_SIMILARITY, the oldest on a tie (candidates come
    oldest first); a candidate on another terminal than the new ticket's is a different problem."""
    best: tuple[int, float] | None = None
    for candidate in candidates:
        if terminal_id is not None and candidate.terminal_id is not None and candidate.terminal_id != terminal_id:
            continue
        score = similarity(words_of_new, candidate.words)
        if score >= MIN_SIMILARITY and (best is None or score > best[1]):
            best = (candidate.ticket_id, score)
    return best
