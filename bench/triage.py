"""Triage benchmark (C6): quality on the held-out split, and speed in one process.

    .venv/bin/python bench/triage.py                  # 3,000 generated variations, 5 runs
    .venv/bin/python bench/triage.py --variations 10000 --repeat 3

1. Trains the model from the shipped training split (as `posdesk triage train` does, without the
   corrections: no database) and reports the training time.
2. Quality: the whole decision (classifier + rules + P1 threshold) on the held-out split
   `posdesk/triage/data/test.tsv` — precision, recall, F1 per class and macro-F1, for category and
   priority (targets: category macro-F1 ≥ 0.90, P1 recall ≥ 0.95).
3. Speed, one text at a time (what the intake pipeline costs per ticket): `triage_decide(text,
   model.predict(text))` — features, both models, entities and rules — over the test split plus
   generated variations of it (greetings, identifiers, phone numbers, response codes, typos,
   English). Reports texts/s and p50 / p95 / p99 / max per text (targets: ≥ 500 texts/s,
   p99 ≤ 10 ms); then the same texts in batches of 64 (`predict_many`, as the pipeline batches).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from posdesk.core.segmentation import words  # noqa: E402
from posdesk.triage import classifier  # noqa: E402
from posdesk.triage.decision import triage_decide  # noqa: E402

GREETINGS = ["", "", "你好 ", "您好，", "急！", "麻烦看下 ", "hello ", "在吗 ", "客服你好 ", "老板说 "]
ENDINGS = ["", "", " 谢谢", " 急", "。。。", " 快点处理", " thanks", "！！", " 在线等", " 麻烦回个电话"]
TYPOS = {"打印": "打应", "屏幕": "平幕", "反应": "反映", "充电": "冲电", "账": "帐", "刷卡": "刷咔", "没有": "木有"}


def variations(texts: list[str], count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = rng.choice(texts)
        for right, wrong in TYPOS.items():
            if right in text and rng.random() < 0.3:
                text = text.replace(right, wrong)
        extras = []
        if rng.random() < 0.3:
            extras.append(f"终端号{rng.randint(10_000_000, 99_999_999)}")
        if rng.random() < 0.2:
            extras.append(f"商户号8983{rng.randint(10**10, 10**11 - 1)}")
        if rng.random() < 0.3:
            mobile = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
            extras.append(rng.choice([f"电话{mobile}", f"联系 {mobile[:3]} {mobile[3:7]} {mobile[7:]}",
                                      f"+86-{mobile}", "座机0571-8765 4321"]))
        if rng.random() < 0.15:
            extras.append(f"返回码{rng.choice(['51', '96', 'A0', '05', '98', 'Z1'])}")
        if rng.random() < 0.15:
            extras.append(f"SN {rng.choice(['N3NL', 'PAXA920', 'LDE550'])}24{rng.randint(0, 999_999):06d}")
        rng.shuffle(extras)
        out.append(rng.choice(GREETINGS) + text + (" " + " ".join(extras) if extras else "") + rng.choice(ENDINGS))
    return out


def percentile(sorted_values: list[float], share: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(share * (len(sorted_values) - 1))))
    return sorted_values[index]


def table(title: str, evaluation: classifier.Evaluation) -> None:
    print(f"\n| {title} | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|")
    for score in evaluation.classes:
        print(f"| {score.label} | {score.precision:.3f} | {score.recall:.3f} | {score.f1:.3f} | {score.support} |")
    print(f"| **macro** | | | **{evaluation.macro_f1:.3f}** | accuracy {evaluation.accuracy:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variations", type=int, default=3000, help="generated texts besides the test split")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs over all texts (median reported)")
    options = parser.parse_args()

    train = classifier.load_examples(classifier.TRAIN_FILE)
    test = classifier.load_examples(classifier.TEST_FILE)
    words("预热")  # load jieba's dictionary before timing (once per process, about a second)
    started = time.perf_counter()
    model = classifier.train(train, shipped_data=classifier.data_fingerprint(train))
    print(f"trained on {len(train)} messages in {time.perf_counter() - started:.1f} s; "
          f"held-out split {len(test)} messages")

    results = [triage_decide(e.text, p) for e, p in zip(test, model.predict_many([e.text for e in test]), strict=True)]
    category = classifier.evaluate_labels([e.category or "" for e in test], [r.category for r in results],
                                          classifier.CATEGORIES)
    priority = classifier.evaluate_labels([e.priority or "" for e in test], [r.priority for r in results],
                                          classifier.PRIORITIES)
    table("category", category)
    table("priority", priority)

    texts = [e.text for e in test] + variations([e.text for e in test + train], options.variations)
    for text in texts[:50]:  # warm-up
        triage_decide(text, model.predict(text))
    rates, runs = [], []
    for _ in range(options.repeat):
        per_text = []
        run_started = time.perf_counter()
        for text in texts:
            t0 = time.perf_counter()
            triage_decide(text, model.predict(text))
            per_text.append(time.perf_counter() - t0)
        rates.append(len(texts) / (time.perf_counter() - run_started))
        runs.append(sorted(per_text))
    median_run = sorted(range(len(rates)), key=lambda i: rates[i])[len(rates) // 2]
    latencies = runs[median_run]
    print(f"\none at a time: {len(texts)} texts × {options.repeat} runs; median {statistics.median(rates):,.0f} texts/s "
          f"(runs {', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"per text (median run): p50 {percentile(latencies, 0.50) * 1000:.2f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1000:.2f} ms, p99 {percentile(latencies, 0.99) * 1000:.2f} ms, "
          f"max {latencies[-1] * 1000:.2f} ms")

    batch_rates = []
    for _ in range(options.repeat):
        run_started = time.perf_counter()
        for i in range(0, len(texts), 64):
            chunk = texts[i:i + 64]
            for text, prediction in zip(chunk, model.predict_many(chunk), strict=True):
                triage_decide(text, prediction)
        batch_rates.append(len(texts) / (time.perf_counter() - run_started))
    print(f"batches of 64: median {statistics.median(batch_rates):,.0f} texts/s "
          f"(runs {', '.join(f'{r:,.0f}' for r in batch_rates)})")


if __name__ == "__main__":
    main()
