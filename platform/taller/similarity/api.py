"""The similarity report in the REST API, for the cohort's staff: thin, as every API view."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from taller.accounts.models import User
from taller.api.permissions import IsStaffMember
from taller.api.serializers import ErrorSerializer
from taller.api.views import LanguageMixin, _cohort
from taller.cohorts.models import Cohort
from taller.courses.models import Exercise
from taller.similarity import selectors
from taller.similarity.models import SimilarityReport
from taller.similarity.services import similarity_request
from taller.similarity.views import failure_text


class _Choice(serializers.Serializer[Any]):
    exercise = serializers.SlugField(help_text="The exercise's slug (one of the cohort's course).")
    earlier = serializers.BooleanField(
        default=False,
        help_text="Compare with the same exercise's submissions from earlier cohorts too.",
    )

    def validate_exercise(self, slug: str) -> Exercise:
        exercise = selectors.cohort_exercises(self.context["cohort"]).filter(slug=slug).first()
        if exercise is None:
            raise serializers.ValidationError(_("No existe ese ejercicio en el curso del cohorte."))
        return exercise


class SimilarityQuerySerializer(_Choice):
    threshold = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text="Pairs at or above this similarity (0 to 1); default "
        f"{settings.TALLER_SIMILARITY_THRESHOLD}. Pairs below "
        f"{settings.TALLER_SIMILARITY_FLOOR} are never kept.",
    )


class SpanSerializer(serializers.Serializer[Any]):
    path = serializers.CharField()
    start = serializers.IntegerField(help_text="First line, from 1.")
    end = serializers.IntegerField(help_text="Last line, included.")


class FragmentSerializer(serializers.Serializer[Any]):
    kgrams = serializers.IntegerField()
    left = SpanSerializer(many=True)
    right = SpanSerializer(many=True)


class SideSerializer(serializers.Serializer[Any]):
    submission = serializers.IntegerField(source="submission_id")
    student = serializers.IntegerField(source="student_id")
    username = serializers.CharField()
    name = serializers.CharField()
    cohort = serializers.CharField(source="cohort_name")
    earlier = serializers.BooleanField(help_text="From an earlier cohort.")


class PairSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    similarity = serializers.FloatField()
    longest = serializers.IntegerField(help_text="Longest shared fragment, in k-grams.")
    longest_lines = serializers.IntegerField(help_text="Longest shared fragment, in lines.")
    overlap = serializers.IntegerField(help_text="Shared k-grams, both sides together.")
    left = SideSerializer()
    right = SideSerializer()
    left_covered = serializers.IntegerField()
    left_total = serializers.IntegerField()
    right_covered = serializers.IntegerField()
    right_total = serializers.IntegerField()
    fragments = FragmentSerializer(many=True)


class ClusterSerializer(serializers.Serializer[Any]):
    members = SideSerializer(many=True)
    pairs = serializers.IntegerField()
    top = serializers.FloatField()
    mean = serializers.FloatField()


class ProgressSerializer(serializers.Serializer[Any]):
    stage = serializers.CharField(required=False)
    done = serializers.IntegerField(required=False)
    total = serializers.IntegerField(required=False)


class ReportSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=SimilarityReport.State.choices)
    progress = ProgressSerializer()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    compared = serializers.IntegerField(help_text="Submissions compared.")
    earlier_compared = serializers.IntegerField(help_text="Of them, from earlier cohorts.")
    engine = serializers.DictField(help_text="The engine (Dolos), its version and options.")
    error_code = serializers.CharField(
        help_text="Why it failed: engine-missing, engine-failed, timeout, bad-output, lost, "
        "internal; empty otherwise."
    )
    error = serializers.CharField(help_text="The failure in words.")
    pairs = PairSerializer(many=True, help_text="Most similar first; empty until done.")
    clusters = ClusterSerializer(many=True, help_text="Students joined by those pairs.")


class SimilaritySerializer(serializers.Serializer[Any]):
    exercise = serializers.SlugField()
    earlier = serializers.BooleanField()
    threshold = serializers.FloatField()
    current = serializers.BooleanField(
        help_text="False when a submission changed since the report: POST to analyse again."
    )
    report = ReportSerializer(allow_null=True, help_text="The latest report; null if none.")


def _document(
    cohort: Cohort, exercise: Exercise, earlier: bool, threshold: float
) -> dict[str, Any]:
    report = selectors.latest_report(cohort, exercise, include_earlier=earlier)
    current = report is not None and report.inputs_key == selectors.current_inputs_key(
        cohort, exercise, include_earlier=earlier
    )
    body: dict[str, Any] = {
        "exercise": exercise.slug,
        "earlier": earlier,
        "threshold": threshold,
        "current": current,
        "report": None,
    }
    if report is None:
        return body
    rows = selectors.report_pairs(report, threshold) if report.state == "done" else []
    fragments = dict(
        report.pairs.filter(pk__in=[r.pair.pk for r in rows]).values_list("id", "fragments")
    )
    body["report"] = {
        "id": report.pk,
        "state": report.state,
        "progress": report.progress or {},
        "created_at": report.created_at,
        "finished_at": report.finished_at,
        "compared": len(report.entries),
        "earlier_compared": sum(1 for e in report.entries if e.get("earlier")),
        "engine": report.engine,
        "error_code": report.error_code,
        "error": failure_text(report.error_code) if report.error_code else "",
        "pairs": [
            {
                "id": r.pair.pk,
                "similarity": r.pair.similarity,
                "longest": r.pair.longest,
                "longest_lines": r.pair.longest_lines,
                "overlap": r.pair.overlap,
                "left": r.left,
                "right": r.right,
                "left_covered": r.pair.left_covered,
                "left_total": r.pair.left_total,
                "right_covered": r.pair.right_covered,
                "right_total": r.pair.right_total,
                "fragments": fragments.get(r.pair.pk, []),
            }
            for r in rows
        ],
        "clusters": selectors.clusters(rows),
    }
    return body


class CohortSimilarityView(LanguageMixin, APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        parameters=[SimilarityQuerySerializer],
        responses={200: SimilaritySerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        summary="Similar submissions of a cohort for one exercise (staff)",
        description=(
            "The latest similarity report (Dolos) of the cohort's students' latest "
            "submissions to the exercise; the starter code and the reference solution "
            "are left out of the matches. `report` is null until one is asked for with "
            "POST; `current` is false once a submission changed since."
        ),
    )
    def get(self, request: Request, cohort_id: int) -> Response:
        cohort = _cohort(request, cohort_id)
        query = SimilarityQuerySerializer(data=request.query_params, context={"cohort": cohort})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        threshold = data.get("threshold", settings.TALLER_SIMILARITY_THRESHOLD)
        document = _document(cohort, data["exercise"], data["earlier"], threshold)
        return Response(SimilaritySerializer(document).data)

    @extend_schema(
        request=_Choice,
        responses={
            200: OpenApiResponse(SimilaritySerializer, description="Nothing changed: that report"),
            202: OpenApiResponse(SimilaritySerializer, description="Analysis queued"),
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
        summary="Ask for a similarity report (staff); analysed on the heavy queue",
    )
    def post(self, request: Request, cohort_id: int) -> Response:
        cohort = _cohort(request, cohort_id)
        body = _Choice(data=request.data, context={"cohort": cohort})
        body.is_valid(raise_exception=True)
        user = request.user
        assert isinstance(user, User)  # IsStaffMember
        exercise, earlier = body.validated_data["exercise"], body.validated_data["earlier"]
        outcome = similarity_request(
            cohort=cohort, exercise=exercise, include_earlier=earlier, requested_by=user
        )
        document = _document(cohort, exercise, earlier, settings.TALLER_SIMILARITY_THRESHOLD)
        return Response(
            SimilaritySerializer(document).data,
            status=status.HTTP_202_ACCEPTED if outcome.created else status.HTTP_200_OK,
        )
