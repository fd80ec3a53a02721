"""The configuration a service company starts with (editable by admins): standard working hours
with a lunch break on the China calendar, a 24×7 calendar for P1, SLA policies per priority,
stricter ones for complaints and key accounts, and the escalation ladder. Installed by migration
0002; tests that flush the database install them again (tests/factories.py)."""

from __future__ import annotations

from typing import Any

CALENDARS = [
    # code, name, around the clock, working hours
    ("standard", "标准工作时间 Standard hours", False, "09:00-12:00,13:00-18:00"),
    ("around-the-clock", "7×24 小时 Around the clock", True, "00:00-24:00"),
]

DAY = 8 * 60  # one business day of the standard calendar, in business minutes

POLICIES = [
    # name, order, priority, tier, category, first response, resolution, on-site, calendar (None: team's)
    ("P1 无法收款 / 资金风险", 100, "P1", "", "", 15, 4 * 60, 4 * 60, "around-the-clock"),
    ("P2 功能降级", 100, "P2", "", "", 30, DAY, DAY, None),
    ("P3 一般请求", 100, "P3", "", "", 2 * 60, 3 * DAY, 2 * DAY, None),
    ("P4 建议与咨询", 100, "P4", "", "", DAY, 5 * DAY, None, None),
    ("服务投诉 Complaint", 50, "", "", "service_complaint", 15, DAY, None, None),
    ("服务投诉 P1 Complaint P1", 50, "P1", "", "service_complaint", 15, 4 * 60, 4 * 60, "around-the-clock"),
    ("重点商户 P2 Key account P2", 50, "P2", "key", "", 15, 4 * 60, 4 * 60, None),
]

RULES = [
    # name, order, clock, trigger, action
    ("首次响应临近超时：提醒处理人", 10, "first_response", "at_risk", "notify_assignee"),
    ("首次响应超时：通知主管", 20, "first_response", "breached", "notify_supervisor"),
    ("首次响应超时：改派", 30, "first_response", "breached", "reassign"),
    ("解决临近超时：提醒处理人", 40, "resolution", "at_risk", "notify_assignee"),
    ("解决超时：通知主管", 50, "resolution", "breached", "notify_supervisor"),
    ("解决超时：提升优先级", 60, "resolution", "breached", "raise_priority"),
    ("上门临近超时：提醒处理人", 70, "onsite", "at_risk", "notify_assignee"),
    ("上门超时：通知主管", 80, "onsite", "breached", "notify_supervisor"),
]



def install_defaults(business_calendar: Any, sla_policy: Any, escalation_rule: Any) -> None:
    """Create what is missing; model classes are passed in so the migration can use its own."""
    calendars = {}
    for code, name, around_the_clock, hours in CALENDARS:
        calendars[code], _ = business_calendar.objects.get_or_create(
            code=code, defaults={"name": name, "around_the_clock": around_the_clock, "working_hours": hours}
        )
    for name, order, priority, tier, category, first, resolution, onsite, calendar in POLICIES:
        sla_policy.objects.get_or_create(
            priority=priority, merchant_tier=tier, category=category, channel="",
            defaults={"name": name, "order": order, "first_response_minutes": first,
                      "resolution_minutes": resolution, "onsite_minutes": onsite,
                      "calendar": calendars[calendar] if calendar else None},
        )
    for name, order, clock, trigger, action in RULES:
        escalation_rule.objects.get_or_create(
            clock=clock, trigger=trigger, action=action, priority="", defaults={"name": name, "order": order}
        )
