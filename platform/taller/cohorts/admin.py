from django.contrib import admin

from taller.cohorts.models import Cohort, CohortExercise, Enrollment


class DeadlineInline(admin.TabularInline):
    model = CohortExercise
    extra = 1


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    extra = 1
    raw_id_fields = ("student",)


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("name", "course", "starts_on", "ends_on", "late_penalty_percent_per_day")
    filter_horizontal = ("instructors",)
    inlines = [DeadlineInline, EnrollmentInline]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("student", "cohort", "enrolled_at")
    list_filter = ("cohort",)
    search_fields = ("student__username", "student__email")


@admin.register(CohortExercise)
class CohortExerciseAdmin(admin.ModelAdmin):
    list_display = ("cohort", "exercise", "deadline")
    list_filter = ("cohort", "exercise")
