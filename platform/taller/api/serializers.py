"""What goes over the wire. Reads are built from selectors' objects; writes are validated
here for shape only, and by the services for meaning."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from taller.accounts.models import User
from taller.cohorts.models import Cohort, Enrollment
from taller.courses.models import Exercise
from taller.submissions.models import Submission


class UserSerializer(serializers.ModelSerializer[User]):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, user: User) -> str:
        return user.get_full_name()


class MeSerializer(UserSerializer):
    roles = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "email", "roles"]

    def get_roles(self, user: User) -> list[str]:
        return sorted(user.groups.values_list("name", flat=True))


class SectionSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField()
    title = serializers.CharField()


class ExerciseSerializer(serializers.ModelSerializer[Exercise]):
    title = serializers.CharField()
    section = SectionSerializer()

    class Meta:
        model = Exercise
        fields = ["slug", "title", "section", "order"]


class LimitsSerializer(serializers.Serializer[Any]):
    time_limit_seconds = serializers.FloatField(allow_null=True)
    memory_limit_mb = serializers.IntegerField(allow_null=True)


class ExerciseDetailSerializer(ExerciseSerializer):
    """Statement and starter files; never the grader suite (hidden tests live there)."""

    language = serializers.SerializerMethodField()
    statement = serializers.CharField(source="current_version.statement")
    starter_files = serializers.DictField(
        child=serializers.CharField(), source="current_version.starter_files"
    )
    entry_files = serializers.ListField(
        child=serializers.CharField(), source="current_version.entry_files"
    )
    limits = serializers.SerializerMethodField()
    grader_version = serializers.IntegerField(source="current_version.number")

    class Meta(ExerciseSerializer.Meta):
        fields = [
            *ExerciseSerializer.Meta.fields,
            "language",
            "statement",
            "starter_files",
            "entry_files",
            "limits",
            "grader_version",
        ]

    def get_language(self, exercise: Exercise) -> str:
        return str(self.context.get("language", "es"))

    @extend_schema_field(LimitsSerializer)
    def get_limits(self, exercise: Exercise) -> dict[str, Any]:
        if exercise.current_version is None:
            return {"time_limit_seconds": None, "memory_limit_mb": None}
        run = exercise.current_version.run_spec
        return {
            "time_limit_seconds": run.time_limit_seconds,
            "memory_limit_mb": run.memory_limit_mb,
        }


class FilesField(serializers.DictField):
    """{path: text}. Content is kept byte for byte (no trimming); paths and sizes are
    the service's to judge, with messages a student can act on."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.CharField(trim_whitespace=False, allow_blank=True), **kwargs
        )

    def to_internal_value(self, data: Any) -> dict[str, str]:
        # DRF would turn 3 into "3"; a file's content is text, nothing else.
        if isinstance(data, dict):
            for name, text in data.items():
                if not isinstance(text, str):
                    raise serializers.ValidationError(
                        gettext("%(name)s: el contenido debe ser texto.") % {"name": name}
                    )
        value: dict[str, str] = super().to_internal_value(data)
        for name in value:
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise serializers.ValidationError(
                    gettext("Nombre de archivo no permitido: %(name)r.") % {"name": name}
                ) from None
        return value


class SubmissionCreateSerializer(serializers.Serializer[Any]):
    exercise = serializers.SlugField(help_text="The exercise's slug.")
    files = FilesField(help_text='{path: text}, e.g. {"server.js": "..."}.')


class RegradeSerializer(serializers.Serializer[Any]):
    grader_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The grader version's number to grade with (valid or published); "
        "the exercise's current version when left out.",
    )


class SubmissionSerializer(serializers.ModelSerializer[Submission]):
    exercise: serializers.SlugRelatedField[Exercise] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    student = UserSerializer(read_only=True)
    url = serializers.SerializerMethodField()
    ws_path = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "exercise",
            "student",
            "attempt",
            "status",
            "score",
            "max_score",
            "regrade_of",
            "submitted_at",
            "finished_at",
            "url",
            "ws_path",
        ]
        read_only_fields = fields

    def get_url(self, submission: Submission) -> str:
        return reverse("api:submission-detail", args=[submission.pk])

    def get_ws_path(self, submission: Submission) -> str:
        return f"/ws/submissions/{submission.pk}/"


class HttpRequestSerializer(serializers.Serializer[Any]):
    method = serializers.CharField()
    path = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.CharField(allow_blank=True)


class HttpResponseSerializer(serializers.Serializer[Any]):
    status = serializers.IntegerField()
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.CharField(allow_blank=True)
    time = serializers.FloatField()


class ExchangeSerializer(serializers.Serializer[Any]):
    """One HTTP request a failed test made, its answer (null: none) and a curl command
    that sends it again to the student's own server."""

    request = HttpRequestSerializer(allow_null=True)
    response = HttpResponseSerializer(allow_null=True)
    curl = serializers.CharField(allow_blank=True)
    description = serializers.CharField(required=False)


class CheckSerializer(serializers.Serializer[Any]):
    """A message as data (docs/results.md): a test's standard check that failed, or why
    a run was not graded; its code and parameters."""

    code = serializers.CharField()
    params = serializers.DictField()


class TestResultSerializer(serializers.Serializer[Any]):
    number = serializers.CharField()
    name = serializers.CharField()
    score = serializers.FloatField()
    max_score = serializers.FloatField()
    status = serializers.ChoiceField(choices=["passed", "failed"])
    output = serializers.CharField(allow_blank=True)
    visibility = serializers.ChoiceField(choices=["visible", "hidden"])
    # Present only when there is something to say (never for a student's hidden test).
    name_en = serializers.CharField(required=False)
    check = CheckSerializer(required=False)
    exchanges = ExchangeSerializer(many=True, required=False)
    stdout = serializers.CharField(required=False)
    stderr = serializers.CharField(required=False)


class ResultsSerializer(serializers.Serializer[Any]):
    """The results document of docs/results.md, as the viewer may see it."""

    version = serializers.IntegerField(required=False)
    exercise = serializers.CharField()
    status = serializers.CharField()
    score = serializers.FloatField()
    max_score = serializers.FloatField()
    execution_time = serializers.FloatField()
    output = serializers.CharField(allow_blank=True)
    # Why the run was not graded, as a code (docs/results.md); absent when not known.
    reason = CheckSerializer(required=False)
    stdout = serializers.CharField(allow_blank=True)
    stderr = serializers.CharField(allow_blank=True)
    tests = TestResultSerializer(many=True)


class SubmissionDetailSerializer(SubmissionSerializer):
    """A submission with its files and what is known of its grading, filtered for the
    viewer (a student never sees a hidden test's name or output)."""

    files = serializers.DictField(child=serializers.CharField(), read_only=True)
    queue_position = serializers.SerializerMethodField()
    test_count = serializers.IntegerField(read_only=True, allow_null=True)
    tests = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()

    class Meta(SubmissionSerializer.Meta):
        fields = [
            *SubmissionSerializer.Meta.fields,
            "files",
            "queue_position",
            "test_count",
            "tests",
            "results",
        ]
        read_only_fields = fields

    def _snapshot(self) -> dict[str, Any]:
        return dict(self.context["snapshot"])

    def get_queue_position(self, submission: Submission) -> int | None:
        value = self._snapshot()["queue_position"]
        return int(value) if value is not None else None

    @extend_schema_field(TestResultSerializer(many=True))
    def get_tests(self, submission: Submission) -> list[dict[str, Any]]:
        return list(self._snapshot()["tests"])

    @extend_schema_field(ResultsSerializer(allow_null=True))
    def get_results(self, submission: Submission) -> dict[str, Any] | None:
        results = self._snapshot()["results"]
        return dict(results) if results is not None else None


class CohortSerializer(serializers.ModelSerializer[Cohort]):
    course: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    instructors = UserSerializer(many=True, read_only=True)
    students = serializers.IntegerField(source="enrollments.count", read_only=True)

    class Meta:
        model = Cohort
        fields = [
            "id",
            "name",
            "course",
            "starts_on",
            "ends_on",
            "instructors",
            "students",
            "late_penalty_percent_per_day",
            "late_days_accepted",
        ]
        read_only_fields = fields


class EnrollmentSerializer(serializers.ModelSerializer[Enrollment]):
    student = UserSerializer(read_only=True)

    class Meta:
        model = Enrollment
        fields = ["id", "student", "enrolled_at"]
        read_only_fields = fields


class EnrollmentCreateSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)


class GradebookColumnSerializer(serializers.Serializer[Any]):
    exercise = serializers.CharField(source="exercise.slug")
    title = serializers.CharField(source="exercise.title")
    deadline = serializers.DateTimeField(allow_null=True)


class GradebookCellSerializer(serializers.Serializer[Any]):
    best_score = serializers.FloatField(
        allow_null=True,
        help_text=(
            "The cell's value: the best score over the graded attempts once the cohort's "
            "late policy is applied to each (null without a graded attempt)."
        ),
    )
    max_score = serializers.FloatField(allow_null=True)
    attempts = serializers.IntegerField()
    late = serializers.BooleanField(
        allow_null=True,
        help_text="The attempt that counts was late (null without a deadline or a score).",
    )
    raw_score = serializers.FloatField(
        allow_null=True, help_text="What the attempt that counts earned before the late policy."
    )
    days_late = serializers.IntegerField(
        help_text="Started days after the deadline of the attempt that counts (a regrade's: "
        "its original attempt's)."
    )
    penalty_percent = serializers.FloatField(
        help_text="Percentage of the raw score taken off (100 when not accepted)."
    )
    accepted = serializers.BooleanField(
        help_text="False when the attempt came more days late than the cohort accepts."
    )
    best_raw_score = serializers.FloatField(
        allow_null=True, help_text="The best score of any graded attempt, late or not."
    )


class GradebookRowSerializer(serializers.Serializer[Any]):
    student = UserSerializer()
    scores = serializers.DictField(child=GradebookCellSerializer(), source="cells")
    total = serializers.FloatField()


class GradebookSerializer(serializers.Serializer[Any]):
    cohort = CohortSerializer()
    exercises = GradebookColumnSerializer(many=True, source="columns")
    students = GradebookRowSerializer(many=True, source="rows")


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    code = serializers.CharField(
        required=False,
        help_text="For a refused submission or regrade: why, as a code "
        "(taller.submissions.messages); `detail` says it in the reader's language.",
    )


class RateLimitedSerializer(ErrorSerializer):
    retry_after = serializers.IntegerField()


class TokenObtainSerializer(TokenObtainPairSerializer):
    """SimpleJWT's, with bounded fields: an over-long user name would reach django-axes'
    log of failed attempts (255 characters) and fail there instead of being refused."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        max_username = User._meta.get_field("username").max_length
        self.fields[self.username_field] = serializers.CharField(
            write_only=True, max_length=max_username
        )
        # Not trimmed, as the sign-in form does not trim it either.
        self.fields["password"] = serializers.CharField(
            write_only=True,
            max_length=4096,
            trim_whitespace=False,
            style={"input_type": "password"},
        )
