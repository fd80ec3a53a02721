"""What the search index holds and what a query asks for — pure text work, no database, shared by
both search backends (SQLite FTS5, PostgreSQL tsvector) so they index and query the same words.

Fields of an article document, strongest first: title · symptoms and response codes · summary ·
steps and body · `sounds`. Words come from `core.segmentation.search_terms` (jieba, search mode, with
the trade's dictionary). `sounds` is the fallback field for typos: the toneless pinyin of every two
neighbouring Chinese characters of the title and symptoms ("签到失败" → qiandao daoshi shibai), so a
merchant typing 签到失白 or 打不出小漂 (the pinyin IME's wrong homophone) still meets the article.
Pinyin pairs won against character pairs on the search test set (bench/search.py prints both)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from posdesk.core.segmentation import normalise, search_terms

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# inside a word, what the index tokenisers would split on (FTS5 unicode61: all but letters and digits)
_SPLIT = re.compile(r"[\W_]+")

# Words that say how a merchant asks, not what about. Dropped from queries only: in an OR query
# with IDF-weighted ranking, a rare 怎么 in one article's title would otherwise outrank the topic.
_STOP_WORDS_TEXT = """
    怎么 怎么办 怎么回事 怎样 如何 为什么 为啥 什么 啥 咋 咋办 哪里 哪儿 多久 多少 几天 是否 能否 可以 可不可以
    了 的 得 地 吗 呢 啊 呀 吧 哦 嘛 么 啦 哈 喔 呐 着 过 和 与 及 或 跟 把 被 给 让 向 在 从 对 就 都 也 又 还 还是 再
    我 我的 我们 你 你们 您 他 她 它 这 那 这个 那个 一个 一下 一直 老是 总是 今天 昨天 现在 刚才 刚刚 已经 请问 请
    你好 您好 谢谢 麻烦 帮忙 帮我 一 有 是 没 不 没有 不是 能 会 要 想 需要 显示 提示 出现 说 个 下 上 里 中
    the a an is my to of and it not how do does what why can i me
"""
QUERY_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@dataclass(frozen=True)
class ArticleText:
    title: str
    symptoms: str = ""
    response_codes: str = ""
    summary: str = ""
    steps: str = ""
    body: str = ""


@dataclass(frozen=True)
class ArticleDocument:
    """The space-separated terms of each field, as stored in the index."""

    title: str
    symptoms: str
    summary: str
    body: str
    sounds: str


def terms(text: str) -> list[str]:
    """Index terms of `text`: jieba search-mode words, de-duplicated in order."""
    seen: dict[str, None] = {}
    for word in search_terms(text):
        for part in _SPLIT.split(word):  # "v2.1" → v2, 1: every term is one token for both backends
            if part:
                seen.setdefault(part, None)
    return list(seen)


def query_terms(text: str) -> list[str]:
    """A query's terms without the words of asking (怎么, 了, 吗 …)."""
    return [word for word in terms(text) if word not in QUERY_STOP_WORDS]


_pinyin_lock = threading.Lock()


def _syllables(run: str) -> list[str]:
    with _pinyin_lock:  # pypinyin's phrase dictionary loads lazily on first use
        from pypinyin import lazy_pinyin
    return lazy_pinyin(run, errors="ignore")


def sound_pairs(text: str) -> list[str]:
    """Toneless pinyin of each pair of neighbouring Chinese characters (a lone character: its
    syllable), de-duplicated: the typo-tolerant fallback terms."""
    pairs: dict[str, None] = {}
    for run in _CJK_RUN.findall(normalise(text)):
        syllables = _syllables(run)
        if len(syllables) == 1:
            pairs.setdefault(syllables[0], None)
        for first, second in zip(syllables, syllables[1:], strict=False):
            pairs.setdefault(first + second, None)
    return list(pairs)


def char_pairs(text: str) -> list[str]:
    """Neighbouring Chinese character pairs: the alternative fallback measured in bench/search.py."""
    pairs: dict[str, None] = {}
    for run in _CJK_RUN.findall(normalise(text)):
        if len(run) == 1:
            pairs.setdefault(run, None)
        for index in range(len(run) - 1):
            pairs.setdefault(run[index:index + 2], None)
    return list(pairs)


def _query_text_without_stop_words(text: str) -> str:
    # the fallback pairs must not be built across 怎么 / 了: split the query where those words were
    return " ".join(word if word not in QUERY_STOP_WORDS else " " for word in _words_in_order(text))


def _words_in_order(text: str) -> list[str]:
    from posdesk.core.segmentation import words

    return words(text)


def query_sound_pairs(text: str) -> list[str]:
    return sound_pairs(_query_text_without_stop_words(text))


def query_char_pairs(text: str) -> list[str]:
    return char_pairs(_query_text_without_stop_words(text))


def article_document(article: ArticleText, *, fallback: str = "sounds") -> ArticleDocument:
    """`fallback` is "sounds" (pinyin pairs, the default), "chars" (character pairs) or "" (none)."""
    head = f"{article.title}\n{article.symptoms}"
    if fallback == "sounds":
        fuzzy = sound_pairs(head)
    elif fallback == "chars":
        fuzzy = char_pairs(head)
    else:
        fuzzy = []
    return ArticleDocument(
        title=" ".join(terms(article.title)),
        symptoms=" ".join(terms(f"{article.symptoms}\n{article.response_codes}")),
        summary=" ".join(terms(article.summary)),
        body=" ".join(terms(f"{article.steps}\n{article.body}")),
        sounds=" ".join(fuzzy),
    )


def ticket_document(subject: str, description: str) -> str:
    return " ".join(terms(f"{subject}\n{description}"))
