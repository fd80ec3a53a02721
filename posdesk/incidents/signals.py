"""What the intake pipeline (triage, above this app) tells the detector about each new ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from posdesk.incidents import detector


@dataclass(frozen=True)
class TicketSignal:
    ticket_id: int
    merchant_id: int | None
    created_at: datetime
    category: str
    priority: str
    district_id: int | None
    terminal_model_id: int | None
    firmware: str
    response_codes: tuple[str, ...]
    text: str

    def keys(self) -> list[str]:
        return detector.signal_keys(category=self.category, district_id=self.district_id,
                                    terminal_model_id=self.terminal_model_id, firmware=self.firmware,
                                    response_codes=self.response_codes)
