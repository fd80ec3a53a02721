"""Structured logging helpers: personal data never reaches a log line unmasked."""

from __future__ import annotations

import logging

from posdesk.core.masking import mask_text


class MaskPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        for key, value in list(record.__dict__.items()):
            if key.startswith("pd_") and isinstance(value, str):
                setattr(record, key, mask_text(value))
        return True
