"""Text from outside (API bodies, imports) before it is stored or searched for."""

from __future__ import annotations


def without_nul(value: str | None) -> str:
    """NUL never means anything in text, and PostgreSQL cannot store or compare it."""
    return (value or "").replace("\x00", "")


def clean_line(value: str | None) -> str:
    return without_nul(value).strip()
