"""The triage classifier, its data set, the rules and the decision (C6). Plain tests: no database."""

from __future__ import annotations

from collections import Counter

import pytest

from posdesk.triage import classifier
from posdesk.triage.classifier import CATEGORIES, PRIORITIES, Example, Prediction
from posdesk.triage.decision import P1_THRESHOLD, triage_decide
from posdesk.triage.rules import rules_apply

# --- the shipped data set ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def train_split() -> list[Example]:
    return classifier.load_examples(classifier.TRAIN_FILE)


@pytest.fixture(scope="module")
def test_split() -> list[Example]:
    return classifier.load_examples(classifier.TEST_FILE)


def test_every_category_has_at_least_150_labelled_messages(train_split, test_split):
    counts = Counter(e.category for e in train_split + test_split)
    assert set(counts) == set(CATEGORIES)
    assert min(counts.values()) >= 150, counts


def test_every_priority_is_represented_in_both_splits(train_split, test_split):
    assert {e.priority for e in train_split} == set(PRIORITIES)
    assert {e.priority for e in test_split} == set(PRIORITIES)


def test_the_held_out_split_is_a_seventh_to_a_quarter_and_shares_no_message_with_training(
    train_split, test_split
):
    # the training split grows with hand-written messages; the held-out one stays as it was written
    assert 0.14 <= len(test_split) / (len(train_split) + len(test_split)) <= 0.25
    assert not {e.text for e in train_split} & {e.text for e in test_split}


def test_the_data_set_has_english_messages_too(train_split):
    english = [e for e in train_split if e.text.isascii()]
    assert len(english) >= 50
    assert len({e.category for e in english}) == len(CATEGORIES)


def test_a_malformed_data_line_is_refused_with_its_line_number(tmp_path):
    path = tmp_path / "broken.tsv"
    path.write_text("# comment\nhardware\tP2\t打印机坏了\nhardwre\tP2\t拼错的类别\n", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.tsv:3"):
        classifier.load_examples(path)


# --- training, saving, loading -------------------------------------------------------------------

SMALL = [
    Example("打印机不出纸", "hardware", "P2"),
    Example("小票打不出来", "hardware", "P2"),
    Example("屏幕碎了", "hardware", "P2"),
    Example("按键坏了", "hardware", "P2"),
    Example("钱没到账", "settlement", "P1"),
    Example("昨天的钱还没到", "settlement", "P1"),
    Example("到账少了", "settlement", "P1"),
    Example("结算款没到", "settlement", "P1"),
]


def test_a_model_learns_and_predicts_with_a_probability():
    model = classifier.train(SMALL)
    prediction = model.predict("打印机又不出纸了")
    assert prediction.category == "hardware"
    assert 0.5 < prediction.category_confidence <= 1.0
    assert sum(prediction.category_scores.values()) == pytest.approx(1.0)
    assert isinstance(prediction.category, str) and type(prediction.category) is str


def test_training_needs_two_classes_of_each_label():
    with pytest.raises(ValueError):
        classifier.train([e for e in SMALL if e.category == "hardware"])


def test_a_correction_of_one_field_trains_only_that_field():
    examples = [
        *SMALL,
        Example("屏幕碎了还能用吗", None, "P3"),
        Example("按键能换吗", None, "P3"),
        Example("怎么换打印纸", None, "P3"),
    ]
    model = classifier.train(examples)
    assert set(model.category.classes_) == {"hardware", "settlement"}
    assert set(model.priority.classes_) == {"P1", "P2", "P3"}


def test_a_label_seen_only_once_is_left_out_rather_than_failing_the_training():
    model = classifier.train([*SMALL, Example("押金什么时候退", "fees", "P4")])
    assert "fees" not in model.category.classes_ and "P4" not in model.priority.classes_
    assert model.trained_on == len(SMALL) + 1


def test_a_saved_model_loads_back_and_a_foreign_file_does_not(tmp_path):
    model = classifier.train(SMALL, shipped_data="abc")
    path = tmp_path / "triage" / "model.joblib"
    classifier.save(model, path)
    loaded = classifier.load(path)
    assert loaded is not None and loaded.version == model.version and loaded.shipped_data == "abc"
    assert loaded.predict("小票打不出来").category == "hardware"

    path.write_bytes(b"not a model")
    assert classifier.load(path) is None
    assert classifier.load(tmp_path / "missing.joblib") is None


def test_a_model_from_another_scikit_learn_version_is_not_loaded(tmp_path):
    model = classifier.train(SMALL)
    model.sklearn_version = "0.0.1"
    path = tmp_path / "model.joblib"
    classifier.save(model, path)
    assert classifier.load(path) is None


def test_the_version_changes_with_the_training_data():
    assert (
        classifier.train(SMALL).version
        != classifier.train([*SMALL, Example("机器摔了", "hardware", "P2")]).version
    )


def test_evaluation_reports_precision_recall_and_f1_per_class():
    evaluation = classifier.evaluate_labels(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b", "c"])
    assert [c.label for c in evaluation.classes] == ["a", "b"]  # a class absent from the truth is left out
    assert evaluation.score("a").precision == 1.0 and evaluation.score("a").recall == 0.5
    assert evaluation.score("b").precision == pytest.approx(2 / 3) and evaluation.score("b").recall == 1.0
    assert evaluation.accuracy == 0.75
    assert evaluation.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)


# --- rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "收不了款了",
        "收 不了 款",
        "刷不了卡",
        "机器黑屏",
        "开不了机",
        "客人被扣了两次钱",
        "重复扣款",
        "商户被冻结了",
        "机器被偷了",
        "所有卡都显示96",
        "每笔交易都失败",
        "三天了 一分钱都没到账",
        "The terminal won't turn on",
        "customer was charged twice",
        "every card is declined",
    ],
)
def test_words_that_mean_no_payments_or_money_at_risk_make_p1(text):
    assert rules_apply(text, response_codes=[]).p1


@pytest.mark.parametrize(
    "text",
    [
        "偶尔刷不了卡",
        "信用卡刷不了 储蓄卡可以",
        "有时候黑屏一下又好了",
        "挥卡刷不了 插卡是好的",
        "机器丢了要赔多少钱",
        "打印机不出纸",
        "流量费一年扣了三次",
        "怎么防止冻结",
    ],
)
def test_partial_hypothetical_or_minor_faults_are_not_p1_by_rule(text):
    assert not rules_apply(text, response_codes=[]).p1


def test_a_response_code_makes_the_category_transaction():
    outcome = rules_apply("刷卡显示A0", response_codes=["A0"])
    assert outcome.category == "transaction" and "response_code" in outcome.reasons


def test_a_complaint_about_the_service_is_a_complaint_whatever_fault_it_mentions():
    outcome = rules_apply("报了96 客服电话一直打不通 态度还很差", response_codes=["96"])
    assert outcome.category == "service_complaint"


def test_a_terminal_side_code_means_at_least_degraded_and_a_cardholder_code_does_not():
    assert rules_apply("交易失败 返回码96", response_codes=["96"]).at_least_p2
    assert not rules_apply("客人的卡显示51", response_codes=["51"]).at_least_p2


# --- the decision --------------------------------------------------------------------------------


def _prediction(category="hardware", priority="P3", p1=0.1, confidence=0.7) -> Prediction:
    scores = {"P1": p1, "P2": 0.0, "P3": 1 - p1, "P4": 0.0}
    scores[priority] = max(scores.get(priority, 0.0), 0.5)
    return Prediction(
        category=category,
        category_confidence=confidence,
        priority=priority,
        priority_confidence=scores[priority],
        category_scores={category: confidence},
        priority_scores=scores,
    )


def test_the_decision_takes_the_classifier_when_no_rule_speaks():
    result = triage_decide("打印机不出纸", _prediction("hardware", "P2", p1=0.05), model_version="1.x")
    assert (result.category, result.priority, result.confidence) == ("hardware", "P2", 0.7)
    assert result.reasons == () and result.model_version == "1.x"


def test_a_p1_rule_raises_the_classifiers_priority():
    result = triage_decide("机器黑屏了", _prediction("hardware", "P3", p1=0.05))
    assert result.priority == "P1" and any(r.startswith("p1_words") for r in result.reasons)


def test_the_classifiers_p1_probability_above_the_threshold_wins_over_a_likelier_p3():
    result = triage_decide("今天机器有点怪", _prediction("hardware", "P3", p1=P1_THRESHOLD + 0.01))
    assert result.priority == "P1"
    result = triage_decide("今天机器有点怪", _prediction("hardware", "P3", p1=P1_THRESHOLD - 0.01))
    assert result.priority == "P3"


def test_a_response_code_rule_sets_category_entities_and_a_high_confidence():
    result = triage_decide("交易失败 返回码96 终端号12345678", _prediction("network", "P3", confidence=0.4))
    assert result.category == "transaction" and result.confidence >= 0.95
    assert result.priority == "P2"  # a terminal-side code: degraded at least
    assert result.entities.response_code == ["96"] and result.entities.tid == ["12345678"]
    assert result.as_dict()["entities"]["tid"] == ["12345678"]


# --- the fast scorer equals scikit-learn ---------------------------------------------------------


def test_the_fast_scorer_gives_scikit_learns_probabilities(train_split, test_split):
    # given the model trained on the shipped data (ten categories, four priorities)
    model = classifier.train(train_split)
    texts = [e.text for e in test_split[:150]] + ["", "   ", "zzzz qqqq", "返回码96", "ＰＯＳ机 Ａ０"]
    # when both score the same texts
    fast = model.predict_many(texts)
    category = model.category.predict_proba(texts)
    priority = model.priority.predict_proba(texts)
    # then the probabilities are the same
    for prediction, category_row, priority_row in zip(fast, category, priority, strict=True):
        assert [prediction.category_scores[c] for c in model.category.classes_] == pytest.approx(
            list(category_row)
        )
        assert [prediction.priority_scores[p] for p in model.priority.classes_] == pytest.approx(
            list(priority_row)
        )


def test_the_fast_scorer_handles_two_classes_as_scikit_learn_does():
    model = classifier.train(SMALL)  # two categories, two priorities: one decision function each
    texts = ["打印机不出纸", "钱没到账", "什么都不是"]
    expected = model.category.predict_proba(texts)
    for prediction, row in zip(model.predict_many(texts), expected, strict=True):
        assert [prediction.category_scores[c] for c in model.category.classes_] == pytest.approx(list(row))
