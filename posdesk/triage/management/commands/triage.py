"""posdesk triage train | classify (C6).

`train` retrains the model from the shipped data and the agents' stored corrections, saves it in
the data dir and prints precision, recall and F1 per class and the macro-F1, for category and
priority, on the held-out test split.

`classify` reads JSON lines with a `text` field on stdin and writes each line back with
`category`, `priority`, `confidence` and `entities` (`sn`, `tid`, `mid`, `response_code`, `phone`,
`amount`: lists of strings) added. A line that is not a JSON object with a text gets an `error`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError

from posdesk.triage import training
from posdesk.triage.classifier import Evaluation
from posdesk.triage.services import triage_texts

BATCH = 256  # lines classified per model call


class Command(BaseCommand):
    help = "Triage model: `train` (retrain and report per class on the test split) or `classify` (JSON lines)."

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        train = actions.add_parser("train", help="retrain from the shipped data and the agents' corrections")
        train.add_argument("--without-corrections", action="store_true",
                           help="train from the shipped data only")
        actions.add_parser("classify", help="JSON lines with a `text` on stdin → the same lines with triage added")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "train":
            self._train(with_corrections=not options["without_corrections"])
        elif action == "classify":
            self._classify(sys.stdin, self.stdout)
        else:  # pragma: no cover - argparse refuses other actions
            raise CommandError(f"unknown action {action}")

    def _train(self, *, with_corrections: bool) -> None:
        corrections = len(training.correction_examples()) if with_corrections else 0
        model = training.model_train(with_corrections=with_corrections)
        report = training.model_evaluate(model)
        self.stdout.write(
            f"model {model.version}: trained on {model.trained_on} examples "
            f"({model.trained_on - corrections} shipped, {corrections} corrections); "
            f"held-out test split: {report.examples} messages"
        )
        self._table("category", report.category)
        self._table("priority", report.priority)

    def _table(self, title: str, evaluation: Evaluation) -> None:
        self.stdout.write(f"\n{title:<18} precision  recall     f1  support")
        for score in evaluation.classes:
            self.stdout.write(f"{score.label:<18} {score.precision:9.3f} {score.recall:7.3f} {score.f1:6.3f} "
                              f"{score.support:8d}")
        self.stdout.write(f"{'macro-F1':<18} {evaluation.macro_f1:24.3f}   accuracy {evaluation.accuracy:.3f}")

    def _classify(self, lines: IO[str], out: Any) -> None:
        for batch in _batches(lines):
            texts = [text for _, text, _ in batch if text is not None]
            results = iter(triage_texts(texts)) if texts else iter(())
            for record, text, error in batch:
                if text is None:
                    record["error"] = error
                else:
                    result = next(results)
                    record.update(
                        category=result.category, priority=result.priority,
                        confidence=round(result.confidence, 3), entities=result.entities.as_dict(),
                    )
                out.write(json.dumps(record, ensure_ascii=False))


def _batches(lines: IO[str]) -> Iterator[list[tuple[dict, str | None, str]]]:
    batch: list[tuple[dict, str | None, str]] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record, text, error = {"line": line.rstrip("\n")}, None, "not a JSON object"
        else:
            if not isinstance(record, dict):
                record, text, error = {"line": line.rstrip("\n")}, None, "not a JSON object"
            elif not isinstance(record.get("text"), str):
                text, error = None, "no `text` string"
            else:
                text, error = record["text"], ""
        batch.append((record, text, error))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
