"""The triage decision (C6): the classifier's prediction, the rules and the entities of one message
combined into one result. Pure: the service layer supplies the model."""

from __future__ import annotations

from dataclasses import dataclass

from posdesk.triage.classifier import Prediction
from posdesk.triage.entities import Entities, extract_entities
from posdesk.triage.rules import RULE_CONFIDENCE, rules_apply

# A merchant who cannot take payments must never wait as a P3 (SPEC §4): the model's P1 wins
# whenever it gives P1 this much probability, even when another priority scores higher
# (on the held-out split: P1 recall up, P1 precision down a little — the right trade).
P1_THRESHOLD = 0.4


@dataclass(frozen=True)
class TriageResult:
    category: str  # SPEC §4 category code
    priority: str  # P1–P4
    confidence: float  # of the category, 0–1 (calibrated; RULE_CONFIDENCE at least when a rule decided it)
    entities: Entities
    priority_confidence: float = 0.0
    reasons: tuple[str, ...] = ()  # the rules that decided ("response_code", "p1_words:黑屏", …)
    model_version: str = ""

    def as_dict(self) -> dict:
        return {
            "category": self.category,
            "priority": self.priority,
            "confidence": round(self.confidence, 3),
            "priority_confidence": round(self.priority_confidence, 3),
            "entities": self.entities.as_dict(),
            "reasons": list(self.reasons),
            "model_version": self.model_version,
        }


def triage_decide(text: str, prediction: Prediction, *, model_version: str = "") -> TriageResult:
    entities = extract_entities(text)
    outcome = rules_apply(text, response_codes=entities.response_code)
    category, confidence = prediction.category, prediction.category_confidence
    if outcome.category:
        category = outcome.category
        confidence = max(RULE_CONFIDENCE, prediction.category_scores.get(category, 0.0))
    priority, priority_confidence = prediction.priority, prediction.priority_confidence
    if outcome.p1:
        priority = "P1"
        priority_confidence = max(RULE_CONFIDENCE, prediction.priority_scores.get("P1", 0.0))
    elif prediction.priority_scores.get("P1", 0.0) >= P1_THRESHOLD:
        priority, priority_confidence = "P1", prediction.priority_scores["P1"]
    elif outcome.at_least_p2 and priority in ("P3", "P4"):
        priority = "P2"
        priority_confidence = max(RULE_CONFIDENCE, prediction.priority_scores.get("P2", 0.0))
    return TriageResult(
        category=category, priority=priority, confidence=confidence, entities=entities,
        priority_confidence=priority_confidence, reasons=outcome.reasons, model_version=model_version,
    )
