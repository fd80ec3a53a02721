"""The progress bar and the "what happens next" text, per status (pure, no database)."""

from __future__ import annotations

import pytest

from posdesk.core.taxonomy import Status
from posdesk.portal.progress import next_step_for, progress_steps


@pytest.mark.parametrize(("status", "states"), [
    ("new", ["current", "todo", "todo", "todo", "todo"]),
    ("triaged", ["current", "todo", "todo", "todo", "todo"]),
    ("in_progress", ["done", "current", "todo", "todo", "todo"]),
    ("waiting_merchant", ["done", "current", "todo", "todo", "todo"]),
    ("onsite_scheduled", ["done", "done", "current", "todo", "todo"]),
    ("onsite_in_progress", ["done", "done", "current", "todo", "todo"]),
    ("pending_acceptance", ["done", "done", "done", "current", "todo"]),
    ("resolved", ["done"] * 5),
    ("closed", ["done"] * 5),
    ("cancelled", []),
])
def test_progress_steps_follow_the_status(status, states):
    assert [step.state for step in progress_steps(status)] == states


def test_every_status_tells_the_merchant_what_happens_next():
    texts = {status: str(next_step_for(status).text) for status in Status.values}
    assert all(texts.values())
    assert len(set(texts.values())) >= 8  # not one generic sentence


@pytest.mark.parametrize("status", ["waiting_merchant", "pending_acceptance"])
def test_statuses_waiting_on_the_merchant_are_marked(status):
    assert next_step_for(status).needs_merchant
