"""Possible duplicates: similar words of the same merchant's open tickets (pure)."""

from __future__ import annotations

from posdesk.triage.duplicates import Candidate, best_duplicate, similarity, text_words


def candidate(ticket_id: int, text: str, terminal_id: int | None = None, strong: tuple[str, ...] = ()) -> Candidate:
    return Candidate(ticket_id=ticket_id, terminal_id=terminal_id, words=text_words(text, strong))


def test_the_same_fault_in_other_words_is_a_possible_duplicate() -> None:
    new = text_words("打印机不出纸了，怎么办")
    assert best_duplicate(new, None, [candidate(1, "到账少了一百块"), candidate(2, "打印机不出纸")]) == (2, similarity(
        new, text_words("打印机不出纸")))


def test_another_fault_of_the_same_shop_is_not_a_duplicate() -> None:
    assert best_duplicate(text_words("打印机不出纸"), None, [candidate(1, "押金什么时候退")]) is None


def test_a_ticket_about_another_terminal_is_not_a_duplicate() -> None:
    new = text_words("打印机不出纸")
    assert best_duplicate(new, 7, [candidate(1, "打印机不出纸", terminal_id=8)]) is None
    assert best_duplicate(new, 7, [candidate(1, "打印机不出纸", terminal_id=7)]) is not None
    assert best_duplicate(new, 7, [candidate(1, "打印机不出纸", terminal_id=None)]) is not None


def test_a_shared_response_code_is_strong_evidence() -> None:
    new = text_words("刷卡失败", strong=("96",))
    assert similarity(new, text_words("交易一直不成功", strong=("96",))) >= 0.5


def test_the_best_match_wins_and_the_oldest_on_a_tie() -> None:
    new = text_words("签到失败 密钥下载不了")
    found = best_duplicate(new, None, [candidate(1, "签到失败 密钥下载不了"), candidate(2, "签到失败 密钥下载不了"),
                                       candidate(3, "签到失败")])
    assert found is not None and found[0] == 1


def test_empty_texts_are_never_duplicates() -> None:
    assert similarity(text_words(""), text_words("打印机")) == 0.0


def test_a_longer_message_about_the_same_fault_with_numbers_in_it_is_still_a_duplicate() -> None:
    new = text_words("打印机又不出纸了，我手机 13812345678，终端号 10000001")
    assert similarity(new, text_words("打印机不出纸")) >= 0.6


def test_two_faults_of_one_part_are_not_duplicates() -> None:
    assert similarity(text_words("打印机卡纸"), text_words("打印机不出纸")) < 0.6
    assert similarity(text_words("刷卡没反应"), text_words("刷卡显示51")) < 0.6
