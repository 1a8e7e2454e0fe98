from django.contrib import admin

from taller.submissions.models import RegradeBatch, Submission, TestResult


class TestResultInline(admin.TabularInline):
    model = TestResult
    extra = 0
    can_delete = False
    readonly_fields = (
        "position",
        "number",
        "name",
        "score",
        "max_score",
        "status",
        "visibility",
        "output",
    )


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "exercise",
        "student",
        "cohort",
        "attempt",
        "status",
        "score",
        "submitted_at",
    )
    list_filter = ("status", "exercise", "cohort")
    search_fields = ("student__username", "student__email", "exercise__slug")
    date_hierarchy = "submitted_at"
    readonly_fields = (
        "submitted_at",
        "queued_at",
        "started_at",
        "finished_at",
        "grader_version",
        "results",
    )
    raw_id_fields = ("student", "regrade_of", "regrade_batch")
    inlines = [TestResultInline]


@admin.register(TestResult)
class TestResultAdmin(admin.ModelAdmin):
    list_display = ("submission", "position", "name", "status", "score", "max_score", "visibility")
    list_filter = ("status", "visibility", "submission__exercise")
    search_fields = ("name", "submission__student__username")
    raw_id_fields = ("submission",)


@admin.register(RegradeBatch)
class RegradeBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "cohort", "exercise", "grader_version", "requested_by", "created_at")
    list_filter = ("cohort", "exercise")
    readonly_fields = ("created_at", "request_token", "skipped")
    raw_id_fields = ("requested_by",)
