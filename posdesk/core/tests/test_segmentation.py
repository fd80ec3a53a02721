"""Chinese words with the trade's vocabulary."""

from __future__ import annotations

import pytest

from posdesk.core.segmentation import normalise, search_terms, words


@pytest.mark.parametrize(("text", "expected"), [
    ("签到失败", ["签到", "失败"]),
    ("流量卡没信号了", ["流量卡", "没信号"]),
    ("押金什么时候退", ["押金"]),
    ("钱还没到账", ["到账"]),
    ("非接挥卡没反应", ["非接"]),
    ("下载密钥失败", ["密钥"]),
])
def test_the_trades_words_stay_whole(text, expected):
    found = search_terms(text)
    for word in expected:
        assert word in found, (text, found)


def test_full_width_and_capitals_read_as_plain_text():
    assert normalise("ＰＯＳ机 Ａ０") == "pos机 a0"
    assert words("ＰＯＳ机显示Ａ０") == words("pos机显示a0")


def test_punctuation_and_spaces_are_not_words():
    found = words("打印机，不出纸！！  怎么办？")
    assert "".join(found) == "打印机不出纸怎么办" and found[0] == "打印机"


def test_search_terms_also_give_the_words_inside_long_ones():
    terms = search_terms("交易失败")
    assert "交易失败" in terms and "交易" in terms and "失败" in terms


def test_model_names_are_words_in_any_case():
    assert "a920" in words("A920开不了机")
    assert "vx675" in words("vx675 打印不出来")


def test_empty_text_has_no_words():
    assert words("") == [] and search_terms("   ，。") == []
