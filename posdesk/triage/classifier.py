"""The triage classifier (C6): category and priority of a merchant's message, with a confidence.
Pure: no database, no Django settings — the service layer says where the model file lives and
which examples to train on.

Features: TF-IDF over jieba words (with the trade's dictionary, `core.segmentation.words`) plus
TF-IDF over character 1–3-grams of the normalised text. Words carry the meaning ("签到", "到账");
character n-grams carry what segmentation gets wrong — typos and homophones (刷不了 / 刷布了,
到帐), words glued without punctuation, pinyin and English fragments. Two linear SVMs (one for
category, one for priority) with sigmoid calibration, so the confidence is a probability that can
be compared with a threshold (self-service answers only for confident known fixes).

A model is saved with joblib together with its format, the scikit-learn version and a hash of its
training data; a file from another format or scikit-learn version is not loaded (pickles are not
portable across versions) and the caller trains a new one."""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from posdesk.core.segmentation import normalise, words

MODEL_FORMAT = 1
DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_FILE = DATA_DIR / "train.tsv"
TEST_FILE = DATA_DIR / "test.tsv"  # the held-out split: read by evaluation only, never by training
CATEGORIES = (
    "hardware", "software", "network", "transaction", "settlement", "fees", "account", "installation",
    "consultation", "service_complaint",
)
PRIORITIES = ("P1", "P2", "P3", "P4")


@dataclass(frozen=True)
class Example:
    text: str
    category: str | None
    priority: str | None


@dataclass(frozen=True)
class Prediction:
    category: str
    category_confidence: float
    priority: str
    priority_confidence: float
    category_scores: dict[str, float] = field(default_factory=dict)
    priority_scores: dict[str, float] = field(default_factory=dict)


def load_examples(path: Path) -> list[Example]:
    """A data file: one example a line, `category<TAB>priority<TAB>text`; `#` starts a comment."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3 or parts[0] not in CATEGORIES or parts[1] not in PRIORITIES or not parts[2].strip():
            raise ValueError(f"{path.name}:{number}: expected category<TAB>priority<TAB>text, got {line!r}")
        examples.append(Example(text=parts[2].strip(), category=parts[0], priority=parts[1]))
    return examples


@dataclass(frozen=True)
class ModelConfig:
    """The model's choices. The defaults are what `bench/triage_select.py` picked by 5-fold stratified
    cross-validation on the training split (never by scores on the held-out split)."""

    words_weight: float = 1.0  # the words' block against the character n-grams' (weight 1); CV: 1.0 > 1.5 > 2.0
    char_ngrams: tuple[int, int] = (1, 3)
    c: float = 1.0
    class_weight: str | None = None  # None or "balanced"
    model: str = "svm"  # "svm" (LinearSVC) or "logreg" (LogisticRegression); both sigmoid-calibrated


DEFAULT_CONFIG = ModelConfig()


def _features(config: ModelConfig = DEFAULT_CONFIG, analyzer: Callable[[str], list[str]] = words) -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=1)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char", ngram_range=config.char_ngrams, preprocessor=normalise, sublinear_tf=True,
                    min_df=1,
                ),
            ),
        ],
        transformer_weights={"words": config.words_weight, "chars": 1.0},
    )


def _estimator(config: ModelConfig):
    if config.model == "logreg":
        return LogisticRegression(C=config.c, class_weight=config.class_weight, max_iter=2000)
    return LinearSVC(C=config.c, class_weight=config.class_weight)


def _pipeline(classes: int, config: ModelConfig = DEFAULT_CONFIG,
              analyzer: Callable[[str], list[str]] = words) -> Pipeline:
    # 3-fold calibration needs at least 3 examples of every class; with 2 (a class known only from
    # two corrections) calibrate on 2 folds
    folds = 3 if classes >= 3 else 2
    return Pipeline(
        [
            ("features", _features(config, analyzer)),
            ("model", CalibratedClassifierCV(_estimator(config), method="sigmoid", cv=folds)),
        ]
    )


def data_fingerprint(examples: Iterable[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.category}\t{example.priority}\t{example.text}\n".encode())
    return digest.hexdigest()[:12]


class TriageModel:
    """A trained category model and priority model, with what they were trained on."""

    def __init__(self, *, category: Pipeline, priority: Pipeline, version: str, trained_on: int,
                 shipped_data: str) -> None:
        self.category = category
        self.priority = priority
        self.version = version
        self.trained_on = trained_on
        self.shipped_data = shipped_data  # fingerprint of the shipped training file it was built from
        self.format = MODEL_FORMAT
        self.sklearn_version = sklearn.__version__

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        category, priority = self._scorers()
        predictions = []
        for text in texts:
            category_scores = category.scores(text or "")
            priority_scores = priority.scores(text or "")
            best_category = max(category_scores, key=category_scores.__getitem__)
            best_priority = max(priority_scores, key=priority_scores.__getitem__)
            predictions.append(
                Prediction(
                    category=best_category, category_confidence=category_scores[best_category],
                    priority=best_priority, priority_confidence=priority_scores[best_priority],
                    category_scores=category_scores, priority_scores=priority_scores,
                )
            )
        return predictions

    def _scorers(self) -> tuple[_Scorer, _Scorer]:
        scorers = self.__dict__.get("_compiled")
        if scorers is None:
            scorers = self.__dict__["_compiled"] = (_Scorer(self.category), _Scorer(self.priority))
        return scorers

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_compiled", None)  # rebuilt after loading
        return state


class _Scorer:
    """The fitted pipeline's `predict_proba` for one text, without scikit-learn's per-call input
    checks and dispatch (about 9 ms of the 10 a call took — the arithmetic is microseconds): TF-IDF
    of each vectorizer (its own analyzer and vocabulary, sublinear tf, idf, L2 norm, the union's
    weight), the decision functions of every calibration fold's SVM in one matrix product, each
    class's sigmoid, normalised per fold and averaged over the folds — what scikit-learn computes
    for `CalibratedClassifierCV(method="sigmoid")`. A test holds the two equal."""

    def __init__(self, pipeline: Pipeline) -> None:
        union: FeatureUnion = pipeline.named_steps["features"]
        weights = union.transformer_weights or {}
        self.blocks = []
        offset = 0
        for name, vectorizer in union.transformer_list:
            vocabulary = {term: index + offset for term, index in vectorizer.vocabulary_.items()}
            idf = {index + offset: float(value) for index, value in zip(
                sorted(vectorizer.vocabulary_.values()), vectorizer.idf_, strict=True)}
            self.blocks.append((vectorizer.build_analyzer(), vocabulary, idf, float(weights.get(name, 1.0))))
            offset += len(vectorizer.vocabulary_)
        calibrated: CalibratedClassifierCV = pipeline.named_steps["model"]
        self.classes = [str(c) for c in calibrated.classes_]
        columns, intercepts, folds = [], [], []
        for fold in calibrated.calibrated_classifiers_:
            estimator = fold.estimator
            coef = np.asarray(estimator.coef_.toarray() if hasattr(estimator.coef_, "toarray") else estimator.coef_)
            positions = np.searchsorted(calibrated.classes_, estimator.classes_)
            if len(self.classes) == 2:
                positions = positions[1:]  # one decision function: the second class's
            start = len(intercepts)
            columns.append(coef)
            intercepts.extend(float(b) for b in np.atleast_1d(estimator.intercept_))
            a = np.array([c.a_ for c in fold.calibrators], dtype=float)
            b = np.array([c.b_ for c in fold.calibrators], dtype=float)
            folds.append((start, start + coef.shape[0], positions, a, b))
        self.weights = np.ascontiguousarray(np.vstack(columns).T)  # features × (decision functions of all folds)
        self.intercepts = np.array(intercepts)
        self.folds = folds

    def scores(self, text: str) -> dict[str, float]:
        indices: list[int] = []
        values: list[float] = []
        for analyzer, vocabulary, idf, weight in self.blocks:
            counts: dict[int, int] = {}
            for term in analyzer(text):
                index = vocabulary.get(term)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            block = {index: (1.0 + math.log(count)) * idf[index] for index, count in counts.items()}
            norm = math.sqrt(sum(v * v for v in block.values()))
            indices.extend(block)
            values.extend(weight * v / norm for v in block.values())
        decisions = self.intercepts.copy()
        if indices:
            decisions += np.asarray(values) @ self.weights[indices]
        n = len(self.classes)
        total = np.zeros(n)
        for start, end, positions, a, b in self.folds:
            proba = np.zeros(n)
            proba[positions] = 1.0 / (1.0 + np.exp(a * decisions[start:end] + b))
            if n == 2:
                proba[0] = 1.0 - proba[1]
            else:
                denominator = proba.sum()
                proba = proba / denominator if denominator else np.full(n, 1.0 / n)
            total += proba
        total /= len(self.folds)
        return {label: float(p) for label, p in zip(self.classes, total, strict=True)}


def train(examples: Sequence[Example], *, shipped_data: str = "", config: ModelConfig = DEFAULT_CONFIG,
          analyzer: Callable[[str], list[str]] = words) -> TriageModel:
    """Fit both models. Examples without a category (a correction of priority only) train the
    priority model alone, and the other way round. A label seen only once (a correction naming a
    class the data has no other example of) cannot be calibrated and is left out of that model."""
    by_category = _calibratable([e for e in examples if e.category], lambda e: e.category)
    by_priority = _calibratable([e for e in examples if e.priority], lambda e: e.priority)
    if len({e.category for e in by_category}) < 2 or len({e.priority for e in by_priority}) < 2:
        raise ValueError("training needs examples of at least two categories and two priorities")
    category = _pipeline(min(_class_counts(e.category for e in by_category)), config, analyzer)
    category.fit([e.text for e in by_category], [e.category for e in by_category])
    priority = _pipeline(min(_class_counts(e.priority for e in by_priority)), config, analyzer)
    priority.fit([e.text for e in by_priority], [e.priority for e in by_priority])
    version = f"{MODEL_FORMAT}.{data_fingerprint(examples)}"
    return TriageModel(category=category, priority=priority, version=version, trained_on=len(examples),
                       shipped_data=shipped_data)


def _calibratable(examples: list[Example], label: Callable[[Example], str | None]) -> list[Example]:
    counts: dict[str | None, int] = {}
    for example in examples:
        counts[label(example)] = counts.get(label(example), 0) + 1
    return [e for e in examples if counts[label(e)] >= 2]


def _class_counts(labels: Iterable[str | None]) -> list[int]:
    counts: dict[str | None, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return list(counts.values())


def save(model: TriageModel, path: Path) -> None:
    """Write atomically: a process that loads while another trains reads the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".triage-", suffix=".tmp")
    os.close(handle)
    try:
        joblib.dump(model, temporary, compress=3)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load(path: Path) -> TriageModel | None:
    """The saved model, or None when there is none or it was saved by another format or
    scikit-learn version (then the caller trains a new one)."""
    if not path.exists():
        return None
    try:
        model = joblib.load(path)
    except Exception:  # noqa: BLE001 - a truncated or foreign file is retrained, not fatal
        return None
    if (
        not isinstance(model, TriageModel)
        or getattr(model, "format", None) != MODEL_FORMAT
        or getattr(model, "sklearn_version", None) != sklearn.__version__
    ):
        return None
    return model


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    classes: list[ClassScore]
    macro_f1: float
    accuracy: float

    def score(self, label: str) -> ClassScore:
        return next(c for c in self.classes if c.label == label)


def evaluate_labels(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Evaluation:
    present = [label for label in labels if label in set(truth)]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=present, zero_division=0,
    )
    classes = [
        ClassScore(label, float(p), float(r), float(f), int(s))
        for label, p, r, f, s in zip(present, precision, recall, f1, support, strict=True)
    ]
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth) if truth else 0.0
    return Evaluation(classes=classes, macro_f1=float(np.mean(f1)) if present else 0.0, accuracy=accuracy)
