from django.contrib import admin

from taller.courses.models import Course, Exercise, GraderVersion, Section


class SectionInline(admin.TabularInline):
    model = Section
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title_es", "title_en")
    inlines = [SectionInline]


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ("number", "title_es", "title_en", "course")
    list_filter = ("course",)


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title_es", "section", "order", "current_version", "is_published")
    list_filter = ("section", "is_published")
    list_editable = ("is_published",)
    search_fields = ("slug", "title_es", "title_en")


@admin.register(GraderVersion)
class GraderVersionAdmin(admin.ModelAdmin):
    list_display = ("exercise", "number", "state", "source", "created_at", "created_by")
    list_filter = ("exercise", "state", "source")
    readonly_fields = ("content_hash", "created_at")
