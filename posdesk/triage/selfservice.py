"""Self-service answers (C5), the pure part: what the merchant is told, and reading their "did this
solve it?" answer on SMS, WeChat or e-mail. No database, so the table of answers is tested alone."""

from __future__ import annotations

import re
import unicodedata

# The question asked after the answer; the reply keys are the ones `merchant_answer` reads.
QUESTION_SHORT = "问题解决了吗？回复 1 或“解决了”：已解决；回复 2 或“人工”：转人工客服。"
QUESTION_EMAIL = "问题解决了吗？请直接回复本邮件：“是”表示已解决，“否”转人工客服处理。"

# "no" is read before "yes": 没有解决 / 没解决 / 不行 contain the words of a yes
_NO = ("2", "没有", "没解决", "没好", "不好", "没用", "不是", "未解决", "不行", "不能", "还是不", "否", "人工", "转人工", "客服", "no", "not")
_YES = ("1", "是", "解决了", "已解决", "好了", "可以了", "行了", "谢谢", "ok", "yes", "solved")
_SEPARATORS = re.compile(r"[\s\.,!?;:，。！？；：、~～\-—…'\"“”‘’()（）\[\]【】]+")
_WORD_LIKE = re.compile(r"[a-z0-9]+")
# a real answer is short; a long message is a new description of the problem, not a yes or a no
MAX_ANSWER_CHARS = 20


def merchant_answer(text: str) -> bool | None:
    """True for "yes, solved", False for "no, I need a person", None when the message is not an
    answer (a new description, a question). Reads the first line only (e-mail replies quote below)."""
    first = next((line for line in text.strip().splitlines() if line.strip()), "")
    normalised = unicodedata.normalize("NFKC", first).lower().strip()
    compact = _SEPARATORS.sub("", normalised)
    if not compact or len(compact) > MAX_ANSWER_CHARS:
        return None
    latin = set(_WORD_LIKE.findall(normalised))  # "no" is a word, not two letters inside "know"
    for token in _NO:
        if (token in latin) if token.isascii() else (token in compact):
            return False
    for token in _YES:
        if (token in latin) if token.isascii() else (token in compact):
            return True
    return None


def answer_text(answer: str, *, channel: str, ticket_number: str) -> tuple[str, str]:
    """(short, full): the SMS-sized message and the whole one for e-mail and WeChat."""
    answer = answer.strip()
    question = QUESTION_EMAIL if channel == "email" else QUESTION_SHORT
    short = f"工单 {ticket_number}：{answer}\n{question}"
    full = f"您好，关于工单 {ticket_number}，以下方法通常可以解决您遇到的问题：\n\n{answer}\n\n{question}"
    return short, full


def response_code_answer(code: str, meaning: str, remedy: str) -> str:
    """The answer for a response code with a remedy the merchant can apply themselves."""
    return f"返回码 {code}（{meaning}）：{remedy}".strip()
