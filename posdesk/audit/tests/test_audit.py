"""The audit log: who changed what, and who looked at unmasked personal data."""

from __future__ import annotations

from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_changes, audit_personal_data_view, audit_record


def test_a_change_is_recorded_with_actor_target_and_changes(world):
    entry = audit_record(
        actor=world.agent,
        action=AuditEntry.Action.UPDATE,
        target=world.merchant,
        summary="tier",
        changes={"tier": ["standard", "key"]},
    )
    entry.refresh_from_db()
    assert (entry.actor, entry.object_type, entry.object_id, entry.changes) == (
        world.agent,
        "merchants.merchant",
        str(world.merchant.pk),
        {"tier": ["standard", "key"]},
    )
    assert entry.created_at is not None


def test_a_system_change_has_no_actor_and_a_long_summary_is_cut(world):
    entry = audit_record(
        actor=None, action=AuditEntry.Action.UPDATE, target=world.merchant, summary="长" * 300
    )
    assert entry.actor is None
    assert entry.summary == "长" * 200


def test_viewing_personal_data_is_recorded_with_the_fields(world):
    entry = audit_personal_data_view(actor=world.agent, target=world.contact, fields=["mobile", "email"])
    assert entry.action == AuditEntry.Action.VIEW_PERSONAL_DATA
    assert entry.changes == {"fields": ["mobile", "email"]}
    assert entry.object_type == "merchants.merchantcontact"


def test_audit_changes_lists_only_what_changed_as_text(world):
    before = {"name": world.merchant.name, "tier": world.merchant.tier, "latitude": None}
    world.merchant.tier = "key"
    assert audit_changes(world.merchant, before, ["name", "tier", "latitude"]) == {
        "tier": ["standard", "key"]
    }
