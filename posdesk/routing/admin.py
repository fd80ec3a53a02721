from django import forms
from django.conf import settings
from django.contrib import admin

from posdesk.audit.admin import AuditedModelAdmin
from posdesk.core.taxonomy import Category
from posdesk.routing.models import AgentStatus, TeamSkills


class TeamSkillsForm(forms.ModelForm):
    # the codes are fixed: offer them as choices instead of free JSON
    categories = forms.MultipleChoiceField(
        choices=Category.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    languages = forms.MultipleChoiceField(
        choices=settings.LANGUAGES, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = TeamSkills
        fields = ("team", "categories", "terminal_models", "districts", "languages", "strategy", "is_active")


class AgentStatusForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        choices=settings.LANGUAGES, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = AgentStatus
        fields = ("user", "presence", "capacity", "languages")


@admin.register(TeamSkills)
class TeamSkillsAdmin(AuditedModelAdmin):
    """Edits here change routing for new tickets; waiting tickets are picked up by the next
    assignment round (an agent coming online, a ticket freed, the periodic sweep)."""

    form = TeamSkillsForm
    list_display = ("team", "strategy", "categories", "languages", "is_active", "updated_at")
    list_filter = ("strategy", "is_active")
    search_fields = ("team__code", "team__name")
    filter_horizontal = ("terminal_models", "districts")


@admin.register(AgentStatus)
class AgentStatusAdmin(AuditedModelAdmin):
    form = AgentStatusForm
    list_display = ("user", "presence", "capacity", "languages", "last_assigned_at", "updated_at")
    list_filter = ("presence",)
    search_fields = ("user__username", "user__display_name")
    raw_id_fields = ("user",)
    readonly_fields = ("last_assigned_at", "updated_at")
