"""Structured logging helpers: personal data never reaches a log line unmasked."""

from __future__ import annotations

import logging

from posdesk.core.masking import mask_text

# Attributes every LogRecord has; anything else on a record came from `extra=` and is written out
# as its own field by the JSON formatter, so it is masked too.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class MaskPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, mask_text(value))
        return True
