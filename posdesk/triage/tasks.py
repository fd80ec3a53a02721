"""Thin tasks of the intake pipeline (posdesk/triage/pipeline.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task
def tickets_intake_task() -> dict[str, int]:
    """Triage new tickets, then observe, answer and route them (started by ticket commits through
    settings.TICKET_INTAKE_JOB, coalesced; idempotent and safe on several workers at once)."""
    from posdesk.triage.pipeline import tickets_triage_new

    return tickets_triage_new().as_dict()


@shared_task
def tickets_triage_sweep_task() -> dict[str, int]:
    """Every minute: tickets of the last hour that no intake run triaged (a lost job, a dead worker)."""
    from posdesk.triage.pipeline import tickets_triage_sweep

    return tickets_triage_sweep().as_dict()
