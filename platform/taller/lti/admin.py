"""Registrations in the Django admin: django-lti's, with Taller's framing origins inline,
and the LMS course ↔ cohort links an admin may change."""

from __future__ import annotations

from django.contrib import admin
from lti_tool.admin import LtiRegistrationAdmin
from lti_tool.models import LtiRegistration

from taller.lti.models import ContextCohort, Platform, ScoreSync


class PlatformInline(admin.StackedInline):
    model = Platform
    can_delete = False
    max_num = 1


admin.site.unregister(LtiRegistration)


@admin.register(LtiRegistration)
class RegistrationAdmin(LtiRegistrationAdmin):
    inlines = [*LtiRegistrationAdmin.inlines, PlatformInline]


@admin.register(ContextCohort)
class ContextCohortAdmin(admin.ModelAdmin):
    list_display = ["context", "cohort", "roster_synced_at"]
    list_select_related = ["context", "cohort"]
    readonly_fields = ["context", "roster_synced_at", "roster_error"]

    def has_add_permission(self, request: object) -> bool:
        # Links are made by launches; here an admin only points one at another cohort.
        return False


@admin.register(ScoreSync)
class ScoreSyncAdmin(admin.ModelAdmin):
    list_display = ["student", "line_item", "state", "score_given", "attempts", "updated_at"]
    list_filter = ["state"]
    readonly_fields = [f.name for f in ScoreSync._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
