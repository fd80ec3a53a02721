"""The merchant's "did this solve it?" answer, read from SMS, WeChat and e-mail text (pure)."""

from __future__ import annotations

import pytest

from posdesk.triage.selfservice import answer_text, merchant_answer


@pytest.mark.parametrize("text", ["1", "1.", " 1 ", "是", "是的", "解决了", "已解决，谢谢", "好了", "可以了谢谢", "OK",
                                  "yes", "Yes, solved", "１", "是的\n\n> 原邮件：问题解决了吗？"])
def test_a_yes_is_read_as_solved(text: str) -> None:
    assert merchant_answer(text) is True


@pytest.mark.parametrize("text", ["2", "没有", "没解决", "没有解决", "还是不行", "不行", "人工", "转人工", "否", "no",
                                  "不好了", "还不好", "没用",
                                  "No, still broken", "谢谢，还是不行", "２", "不是"])
def test_a_no_is_read_as_not_solved(text: str) -> None:
    assert merchant_answer(text) is False


@pytest.mark.parametrize("text", ["", "   ", "12", "3", "刷卡的时候屏幕显示A0，重启之后打印机也不出纸了", "我想问一下押金", "know",
                                  "N7NL00000001"])
def test_anything_else_is_not_an_answer(text: str) -> None:
    assert merchant_answer(text) is None


def test_the_answer_names_the_ticket_and_asks_on_the_channels_terms() -> None:
    short, full = answer_text("请重新签到后再试。", channel="sms", ticket_number="T2612040001")
    assert "T2612040001" in short and "请重新签到后再试。" in short and "回复 1" in short
    _, email = answer_text("请重新签到后再试。", channel="email", ticket_number="T2612040001")
    assert "回复本邮件" in email and "请重新签到后再试。" in email
    assert len(full) > len(short) - 10
