"""Where the triage model lives and what it is trained on: the shipped labelled data
(`data/train.tsv`, never the held-out `data/test.tsv`) plus the agents' stored corrections.

The model file sits in the data dir (`<POSDESK_DATA_DIR>/triage/model.joblib`). A process loads it
once; when it is missing, was saved by another scikit-learn version, or was built from an older
shipped data file, the process trains a new one (a second or two) and saves it for the others.
`posdesk triage train` retrains on demand; other processes notice the new file within
`RELOAD_SECONDS` and load it."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from posdesk.triage import classifier
from posdesk.triage.classifier import Example, TriageModel

logger = logging.getLogger(__name__)

RELOAD_SECONDS = 30.0

_lock = threading.Lock()
_model: TriageModel | None = None
_model_mtime: float | None = None
_checked_at = 0.0


def model_path() -> Path:
    return Path(settings.DATA_DIR) / "triage" / "model.joblib"


def shipped_examples() -> list[Example]:
    return classifier.load_examples(classifier.TRAIN_FILE)


def held_out_examples() -> list[Example]:
    return classifier.load_examples(classifier.TEST_FILE)


def correction_examples() -> list[Example]:
    """The agents' corrections (text, category, priority; either may be None), stored by the
    triage records (T2's `selectors.triage_corrections_for_training`)."""
    from posdesk.triage.selectors import triage_corrections_for_training

    return [
        Example(text=text, category=category, priority=priority)
        for text, category, priority in triage_corrections_for_training()
        if text and (category or priority)
    ]


def model_train(*, with_corrections: bool = True) -> TriageModel:
    """Train from the shipped data (and the corrections), save, and use it in this process."""
    global _model, _model_mtime, _checked_at
    shipped = shipped_examples()
    examples = shipped + (correction_examples() if with_corrections else [])
    started = time.perf_counter()
    model = classifier.train(examples, shipped_data=classifier.data_fingerprint(shipped))
    path = model_path()
    classifier.save(model, path)
    logger.info("triage model %s trained on %d examples in %.1f s", model.version, len(examples),
                time.perf_counter() - started)
    with _lock:
        _model, _model_mtime, _checked_at = model, path.stat().st_mtime, time.monotonic()
    return model


def model_get() -> TriageModel:
    """The current model: this process's copy, reloaded when another process saved a newer one,
    trained on first use when there is none that fits."""
    global _model, _model_mtime, _checked_at
    now = time.monotonic()
    if _model is not None and now - _checked_at < RELOAD_SECONDS:
        return _model
    with _lock:
        path = model_path()
        try:
            mtime: float | None = os.stat(path).st_mtime
        except FileNotFoundError:
            mtime = None
        if _model is not None and mtime == _model_mtime:
            _checked_at = now
            return _model
        model = classifier.load(path) if mtime is not None else None
        if model is not None and model.shipped_data == classifier.data_fingerprint(shipped_examples()):
            _model, _model_mtime, _checked_at = model, mtime, now
            return model
    return model_train()


def model_forget() -> None:
    """Drop this process's copy (tests; after the model file was replaced)."""
    global _model, _model_mtime, _checked_at
    with _lock:
        _model, _model_mtime, _checked_at = None, None, 0.0


@dataclass(frozen=True)
class HeldOutReport:
    """Triage quality on the held-out split: the whole decision (classifier + rules + P1 threshold),
    as tickets get it."""

    category: classifier.Evaluation
    priority: classifier.Evaluation
    examples: int


def model_evaluate(model: TriageModel) -> HeldOutReport:
    from posdesk.triage.decision import triage_decide

    examples = held_out_examples()
    predictions = model.predict_many([e.text for e in examples])
    results = [triage_decide(e.text, p) for e, p in zip(examples, predictions, strict=True)]
    return HeldOutReport(
        category=classifier.evaluate_labels(
            [e.category or "" for e in examples], [r.category for r in results], classifier.CATEGORIES),
        priority=classifier.evaluate_labels(
            [e.priority or "" for e in examples], [r.priority for r in results], classifier.PRIORITIES),
        examples=len(examples),
    )
