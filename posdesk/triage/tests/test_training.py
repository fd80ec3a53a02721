"""The triage model's life: trained on first use, kept in the data dir, retrained with the agents'
corrections by `posdesk triage train`; `triage_text`; `posdesk triage classify`."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from posdesk.triage import classifier, training
from posdesk.triage.classifier import Example
from posdesk.triage.services import triage_text, triage_texts

# the model is trained on first use from the shipped data and the corrections stored in the database
pytestmark = pytest.mark.django_db

SMALL = [
    Example("打印机不出纸", "hardware", "P2"),
    Example("小票打不出来", "hardware", "P2"),
    Example("屏幕碎了", "hardware", "P2"),
    Example("按键坏了", "hardware", "P3"),
    Example("钱没到账", "settlement", "P1"),
    Example("昨天的钱还没到", "settlement", "P1"),
    Example("到账少了", "settlement", "P3"),
    Example("结算款没到", "settlement", "P3"),
]


@pytest.fixture
def own_model_dir(settings, tmp_path, monkeypatch):
    """A data dir of the test's own and a small shipped data set, so the shared model is untouched."""
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(training, "shipped_examples", lambda: list(SMALL))
    monkeypatch.setattr(training, "correction_examples", lambda: [])
    training.model_forget()
    yield tmp_path
    training.model_forget()


def test_the_model_is_trained_on_first_use_and_kept_in_the_data_dir(own_model_dir, monkeypatch):
    # given no model file
    assert not (own_model_dir / "triage" / "model.joblib").exists()
    trained = []
    real_train = classifier.train
    monkeypatch.setattr(classifier, "train", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    # when the model is asked for twice, and again by a fresh process
    first = training.model_get()
    second = training.model_get()
    training.model_forget()
    third = training.model_get()
    # then it was trained once, saved, and loaded from the file afterwards
    assert (own_model_dir / "triage" / "model.joblib").exists()
    assert trained == [1]
    assert first is second and third.version == first.version


def test_a_model_built_from_older_shipped_data_is_retrained(own_model_dir):
    # given a saved model whose shipped data differs from the data now in the repo
    old = classifier.train(SMALL[:6] + [SMALL[7]], shipped_data="0ld")
    classifier.save(old, training.model_path())
    # when the model is asked for
    model = training.model_get()
    # then a new one is trained from the current data
    assert model.shipped_data == classifier.data_fingerprint(SMALL)
    assert model.version != old.version


def test_another_process_retraining_is_picked_up(own_model_dir, monkeypatch):
    first = training.model_get()
    # another process saves a model retrained with corrections
    newer = classifier.train(
        [*SMALL, Example("机器摔坏了", "hardware", "P2")], shipped_data=classifier.data_fingerprint(SMALL)
    )
    classifier.save(newer, training.model_path())
    import os

    os.utime(training.model_path(), (1, 2_000_000_000))  # a distinct mtime, whatever the clock's resolution
    monkeypatch.setattr(training, "_checked_at", 0.0)  # as if RELOAD_SECONDS had passed
    assert training.model_get().version == newer.version != first.version


def test_agents_corrections_are_trained_on(own_model_dir, monkeypatch, world, open_ticket):
    # given an agent corrected a ticket's category and priority
    from posdesk.triage.services import triage_correct

    monkeypatch.undo()  # the real corrections reader, the small shipped data again
    monkeypatch.setattr(training, "shipped_examples", lambda: list(SMALL))
    ticket = open_ticket(text="押金什么时候能退")
    # (values triage would not choose itself, so both are changes)
    triage_correct(ticket=ticket, actor=world.agent, category="hardware", priority="P2")
    # when the model is retrained
    corrections = training.correction_examples()
    model = training.model_train()
    # then the correction is part of its training data
    assert Example("押金什么时候能退", "hardware", "P2") in corrections
    assert model.trained_on == len(SMALL) + len(corrections)
    assert training.model_train(with_corrections=False).trained_on == len(SMALL)


def test_triage_text_gives_category_priority_confidence_and_entities():
    result = triage_text("刷卡机黑屏了 开不了机 终端号12345678 电话13800138000")
    assert result.category == "hardware"
    assert result.priority == "P1"
    assert 0.0 < result.confidence <= 1.0
    assert result.entities.tid == ["12345678"] and result.entities.phone == ["13800138000"]
    assert result.model_version.startswith(f"{classifier.MODEL_FORMAT}.")


@pytest.mark.parametrize(
    ("text", "category", "priority"),
    [
        ("交易失败 返回码96", "transaction", "P1 P2"),  # a terminal-side code: not a cardholder's problem
        ("所有卡都刷不了 一直报96", "transaction", "P1"),
        ("小票打印出来一片空白", "hardware", "P2"),
        ("昨天的钱今天还没到账", "settlement", "P2"),
        ("押金什么时候能退", "fees", "P3"),
        ("店要搬家了 机器怎么移过去", "installation", "P3"),
        ("你们客服电话一直打不通", "service_complaint", "P2"),
        ("商户被风控冻结了 收不了款", "account", "P1"),
        ("连不上网 一直提示通讯失败", "network", "P1"),
        ("签到失败 提示签到不成功", "software", "P1"),
        ("谢谢 已经好了", "consultation", "P4"),
    ],
)
def test_typical_messages_are_triaged_as_an_agent_would(text, category, priority):
    result = triage_text(text)
    assert result.category == category and result.priority in priority.split()


def test_many_texts_at_once_give_the_same_results_as_one_by_one():
    texts = ["打印机卡纸了", "返回码51", "押金怎么退"]
    assert [r.as_dict() for r in triage_texts(texts)] == [triage_text(t).as_dict() for t in texts]


def test_the_shipped_model_meets_its_quality_floor_on_the_held_out_split():
    # the figures in bench/RESULTS.md (category macro-F1 0.906, P1 recall 0.964); this guards against
    # a change of data, rules or features that makes triage worse
    report = training.model_evaluate(training.model_get())
    assert report.category.macro_f1 >= 0.89
    assert report.priority.score("P1").recall >= 0.95


def test_classify_reads_json_lines_and_writes_them_back_with_triage_added(monkeypatch):
    lines = [
        json.dumps(
            {"id": 7, "text": "交易失败 返回码96 终端号12345678 商户号898330157220001"}, ensure_ascii=False
        ),
        "",
        "not json",
        json.dumps({"id": 8}),
        json.dumps({"text": "打印机不出纸 SN N3NL24000123 电话 138-0013-8000"}, ensure_ascii=False),
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    out = io.StringIO()
    call_command("triage", "classify", stdout=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) == 4
    first, not_json, no_text, last = records
    assert first["id"] == 7 and first["category"] == "transaction" and first["priority"] in ("P1", "P2")
    assert 0 < first["confidence"] <= 1
    assert first["entities"]["response_code"] == ["96"]
    assert first["entities"]["tid"] == ["12345678"] and first["entities"]["mid"] == ["898330157220001"]
    assert set(first["entities"]) >= {"sn", "tid", "mid", "response_code", "phone"}
    assert not_json == {"line": "not json", "error": "not a JSON object"}
    assert no_text["id"] == 8 and "error" in no_text and "category" not in no_text
    assert last["category"] == "hardware"
    assert last["entities"]["sn"] == ["N3NL24000123"] and last["entities"]["phone"] == ["13800138000"]


def test_train_prints_precision_recall_and_f1_per_class(own_model_dir):
    out = io.StringIO()
    call_command("triage", "train", stdout=out)
    report = out.getvalue()
    assert "trained on 8 examples (8 shipped, 0 corrections)" in report
    for label in (*classifier.CATEGORIES, *classifier.PRIORITIES):
        assert f"\n{label} " in report
    assert report.count("macro-F1") == 2
