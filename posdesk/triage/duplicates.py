"""Possible duplicates (C6), the pure part: is a new ticket the same problem as an open ticket of
the same merchant? Words of both texts (jieba with the trade's dictionary) compared as sets, with
the little words that every message shares left out; a shared response code or SN counts as a
strong word. No database: the pipeline hands in the candidates it read in one query."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from posdesk.core.segmentation import words

# Score from which an open ticket is shown as a possible duplicate: two short messages about the
# same fault ("打印机不出纸" / "打印机不出纸了怎么办") share most words; two faults of one shop
# ("打印机不出纸" / "到账少了") share almost none.
MIN_SIMILARITY = 0.4

_FILLER = frozenset(
    ["的", "了", "吗", "呢", "啊", "吧", "呀", "哦", "嗯", "么", "我", "我们", "你", "你们", "他", "她", "它", "是", "在", "有", "就", "都", "也", "还", "又", "和", "与", "及", "这", "那", "这个", "那个", "一下", "一个", "怎么", "怎么办", "什么", "为什么", "请", "请问", "帮", "帮忙", "麻烦", "谢谢", "您好", "你好", "老师", "师傅", "现在", "今天", "昨天", "一直", "没", "不", "能", "会", "要", "想", "给", "说", "看", "下", "个", "机器", "pos", "机子", "店里", "商户"]
)


def text_words(text: str, strong: Iterable[str] = ()) -> frozenset[str]:
    """The words that say what a message is about, plus `strong` ones (its response codes, SNs)
    marked so they cannot collide with ordinary words."""
    found = {w for w in words(text) if w not in _FILLER}
    return frozenset(found | {f"#{s.upper()}" for s in strong})


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets, 0 … 1; a shared strong word alone scores at least 0.5."""
    if not a or not b:
        return 0.0
    shared = a & b
    score = len(shared) / len(a | b)
    if any(word.startswith("#") for word in shared):
        score = max(score, 0.5)
    return score


@dataclass(frozen=True)
class Candidate:
    ticket_id: int
    terminal_id: int | None
    words: frozenset[str]


def best_duplicate(
    words_of_new: frozenset[str], terminal_id: int | None, candidates: Sequence[Candidate]
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
