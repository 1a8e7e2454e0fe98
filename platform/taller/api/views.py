"""API views: thin. Read through selectors, write through services, ask roles who may."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView

from taller.accounts import roles
from taller.accounts.models import User
from taller.api import serializers as s
from taller.api.permissions import IsStaffMember
from taller.cohorts import selectors as cohort_selectors
from taller.cohorts.models import Cohort
from taller.cohorts.services import EnrollmentError, enrollment_create
from taller.courses import selectors as course_selectors
from taller.courses.models import Exercise
from taller.grading.selectors import submission_snapshot, viewer_for
from taller.submissions import selectors as submission_selectors
from taller.submissions.models import Submission
from taller.submissions.services import submission_create, submission_regrade
from taller.web.middleware import accepted_language

# Primary keys are 64-bit; a longer number in a URL is simply not there (not a 500).
MAX_ID = 2**63 - 1
LANGUAGES = ("es", "en")

LANG_PARAMETER = OpenApiParameter(
    "lang",
    OpenApiTypes.STR,
    enum=list(LANGUAGES),
    description="Language of titles and statement; else Accept-Language; else Spanish.",
)


def _bounded(pk: int) -> int:
    if pk > MAX_ID:
        raise NotFound
    return pk


def _requested_language(request: Request) -> str:
    if "lang" in request.query_params:
        chosen = request.query_params["lang"]
        if chosen not in LANGUAGES:
            # The schema lists the languages; one it does not list is a client's mistake.
            raise serializers.ValidationError(
                {
                    "lang": [
                        _("Idioma no disponible: %(lang)r; usa es o en.") % {"lang": chosen[:20]}
                    ]
                }
            )
        return chosen
    # Accept-Language in order of preference; the site's pages ignore it on purpose
    # (see CourseLanguageMiddleware), but a script asking for English should get it.
    return accepted_language(request.headers.get("Accept-Language", "")) or "es"


class LanguageMixin:
    """Titles and statements in the requested language for the whole request."""

    language = "es"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.language = _requested_language(request)
        translation.activate(self.language)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response["Content-Language"] = self.language
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


# --- tokens ---------------------------------------------------------------------------


class TokenObtainView(TokenObtainPairView):
    """Takes a user name and password and returns an access and a refresh token.

    After repeated failed attempts for one user name from one address, answers 429 with
    Retry-After until the lockout ends, as the sign-in form does.
    """

    # SimpleJWT's view answered 401 there, as for a wrong password: django-axes marks the
    # request it was given, which is DRF's wrapper, not the Django request its middleware
    # looks at afterwards.

    def handle_exception(self, exc: Exception) -> Response:
        request = self.request
        locked = getattr(request, "axes_locked_out", False)
        if not locked:
            return super().handle_exception(exc)
        cool_off = get_cool_off(request)
        retry_after = max(1, int(cool_off.total_seconds())) if cool_off else 3600
        response = Response(
            {
                "detail": _(
                    "Demasiados intentos fallidos con este usuario desde esta dirección; "
                    "vuelve a intentarlo en %(seconds)s s."
                )
                % {"seconds": retry_after},
                "retry_after": retry_after,
            },
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        response["Retry-After"] = str(retry_after)
        return response


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any path under the API that matches no endpoint (an id beyond 18 digits, a typo):
    JSON, as every other answer of the API, not the site's HTML 404 page."""
    return JsonResponse({"detail": _("No existe ese recurso de la API.")}, status=404)


# --- who am I -------------------------------------------------------------------------


class MeView(APIView):
    @extend_schema(responses=s.MeSerializer, summary="The signed-in account and its roles")
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated
        return Response(s.MeSerializer(user).data)


# --- exercises ------------------------------------------------------------------------


class ExerciseListView(LanguageMixin, generics.ListAPIView[Exercise]):
    serializer_class = s.ExerciseSerializer
    pagination_class = None  # one course: a few dozen exercises at most

    def get_queryset(self) -> QuerySet[Exercise]:
        return course_selectors.published_exercises().select_related("section")

    @extend_schema(parameters=[LANG_PARAMETER], summary="Published exercises, in course order")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ExerciseDetailView(LanguageMixin, APIView):
    @extend_schema(
        parameters=[LANG_PARAMETER],
        responses={200: s.ExerciseDetailSerializer, 404: s.ErrorSerializer},
        summary="An exercise's statement and starter files",
    )
    def get(self, request: Request, slug: str) -> Response:
        exercise = course_selectors.exercise_get(slug)
        if exercise is None:
            raise NotFound(_("No existe ese ejercicio."))
        data = s.ExerciseDetailSerializer(exercise, context={"language": self.language}).data
        return Response(data)


# --- submissions ----------------------------------------------------------------------


class SubmissionFilterSerializer(serializers.Serializer[Any]):
    exercise = serializers.SlugField(required=False, help_text="An exercise's slug.")
    status = serializers.ChoiceField(choices=Submission.Status.choices, required=False)


class CohortSubmissionFilterSerializer(SubmissionFilterSerializer):
    student = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


def _filtered(
    request: Request, queryset: QuerySet[Submission], filters: type[serializers.Serializer[Any]]
) -> QuerySet[Submission]:
    params = filters(data=request.query_params)
    params.is_valid(raise_exception=True)
    return submission_selectors.submissions_filter(queryset, **params.validated_data)


def _detail(request: Request, submission: Submission) -> dict[str, Any]:
    viewer = viewer_for(request.user, submission.pk)
    if viewer is None:
        raise NotFound
    snapshot = submission_snapshot(submission.pk, viewer)
    return dict(s.SubmissionDetailSerializer(submission, context={"snapshot": snapshot}).data)


class SubmissionListCreateView(generics.ListAPIView[Submission]):
    serializer_class = s.SubmissionSerializer

    def get_queryset(self) -> QuerySet[Submission]:
        user = self.request.user
        assert isinstance(user, User)
        return _filtered(
            self.request, submission_selectors.own_submissions(user), SubmissionFilterSerializer
        )

    @extend_schema(
        parameters=[SubmissionFilterSerializer],
        summary="One's own submissions, newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.SubmissionCreateSerializer,
        responses={
            202: s.SubmissionSerializer,
            400: OpenApiResponse(s.ErrorSerializer, description="Invalid files"),
            404: s.ErrorSerializer,
            413: OpenApiResponse(s.ErrorSerializer, description="Request too large"),
            429: OpenApiResponse(
                s.RateLimitedSerializer, description="Too many submissions; see Retry-After"
            ),
        },
        summary="Submit files for grading",
        description="Grading is asynchronous: follow `ws_path` (WebSocket) or poll `url`.",
    )
    def post(self, request: Request) -> Response:
        payload = s.SubmissionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        exercise = course_selectors.exercise_get(payload.validated_data["exercise"])
        if exercise is None:
            raise NotFound(_("No existe ese ejercicio."))
        user = request.user
        assert isinstance(user, User)
        # A refusal (SubmissionRefused) is answered by api/exceptions.py: 400 or 429.
        submission = submission_create(
            student=user, exercise=exercise, files=payload.validated_data["files"]
        )
        response = Response(s.SubmissionSerializer(submission).data, status=202)
        response["Location"] = s.SubmissionSerializer().get_url(submission)
        return response


class SubmissionDetailView(APIView):
    @extend_schema(
        responses={200: s.SubmissionDetailSerializer, 404: s.ErrorSerializer},
        summary="A submission, its files and results (hidden tests filtered for students)",
    )
    def get(self, request: Request, submission_id: int) -> Response:
        submission = (
            Submission.objects.select_related("exercise", "student")
            .filter(pk=_bounded(submission_id))
            .first()
        )
        if submission is None:
            raise NotFound
        return Response(_detail(request, submission))


class SubmissionRegradeView(APIView):
    @extend_schema(
        request=s.RegradeSerializer,
        responses={
            202: s.SubmissionSerializer,
            400: s.ErrorSerializer,
            403: s.ErrorSerializer,
            404: s.ErrorSerializer,
            409: s.ErrorSerializer,
        },
        summary="Grade a submission again, with the current grader or a chosen version (staff)",
    )
    def post(self, request: Request, submission_id: int) -> Response:
        submission = Submission.objects.filter(pk=_bounded(submission_id)).first()
        if submission is None or not roles.can_view_submission(request.user, submission):
            raise NotFound
        if not roles.can_regrade(request.user, submission):
            raise PermissionDenied(_("Solo el equipo docente del cohorte puede recalificar."))
        body = s.RegradeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = None
        number = body.validated_data.get("grader_version")
        if number is not None:
            versions = submission_selectors.regrade_versions(submission.exercise)
            version = versions.filter(number=number).first()
            if version is None:
                return Response(
                    {
                        "detail": _("La versión %(number)s no existe o no es válida ni publicada.")
                        % {"number": number}
                    },
                    status=status.HTTP_409_CONFLICT,
                )
        # A refusal (NotRegradable) is answered by api/exceptions.py: 409.
        regrade = submission_regrade(original=submission, version=version)
        return Response(s.SubmissionSerializer(regrade).data, status=202)


# --- cohorts (staff) ------------------------------------------------------------------


def _cohort(request: Request, cohort_id: int) -> Cohort:
    """A cohort this person manages; any other is, for them, not there."""
    cohort = roles.staff_cohorts(request.user).filter(pk=_bounded(cohort_id)).first()
    if cohort is None:
        raise NotFound(_("No existe ese cohorte."))
    return cohort


class CohortListView(generics.ListAPIView[Cohort]):
    serializer_class = s.CohortSerializer
    permission_classes = [IsStaffMember]

    def get_queryset(self) -> QuerySet[Cohort]:
        return (
            roles.staff_cohorts(self.request.user)
            .select_related("course")
            .prefetch_related("instructors")
            .order_by("-starts_on", "name", "pk")
        )


class CohortDetailView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(responses={200: s.CohortSerializer, 404: s.ErrorSerializer})
    def get(self, request: Request, cohort_id: int) -> Response:
        return Response(s.CohortSerializer(_cohort(request, cohort_id)).data)


class CohortEnrollmentsView(generics.ListAPIView[Any]):
    serializer_class = s.EnrollmentSerializer
    permission_classes = [IsStaffMember]

    def get_queryset(self) -> Any:
        return cohort_selectors.cohort_enrollments(_cohort(self.request, self.kwargs["cohort_id"]))

    @extend_schema(summary="A cohort's students")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.EnrollmentCreateSerializer,
        responses={201: s.EnrollmentSerializer, 400: s.ErrorSerializer, 403: s.ErrorSerializer},
        summary="Enroll a student (admins)",
    )
    def post(self, request: Request, cohort_id: int) -> Response:
        cohort = _cohort(request, cohort_id)
        if not roles.can_enroll(request.user, cohort):
            raise PermissionDenied(_("Solo un administrador puede inscribir estudiantes."))
        payload = s.EnrollmentCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        student = User.objects.filter(username=payload.validated_data["username"]).first()
        if student is None:
            return Response({"detail": _("No existe ese usuario.")}, status=400)
        try:
            enrollment = enrollment_create(cohort=cohort, student=student)
        except EnrollmentError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(s.EnrollmentSerializer(enrollment).data, status=201)


class CohortGradebookView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        responses={200: s.GradebookSerializer, 404: s.ErrorSerializer},
        summary="Best score per student per exercise",
        description=(
            "Each cell is the best score with the cohort's late policy applied: an attempt "
            "after the deadline loses the cohort's percentage per started day late, and "
            "counts 0 beyond the days accepted; a regrade counts at its original attempt's "
            "time. The raw score and the penalty of the attempt that counts are included."
        ),
    )
    def get(self, request: Request, cohort_id: int) -> Response:
        gradebook = cohort_selectors.cohort_gradebook(_cohort(request, cohort_id))
        return Response(s.GradebookSerializer(gradebook).data)


class CohortSubmissionsView(generics.ListAPIView[Submission]):
    serializer_class = s.SubmissionSerializer
    permission_classes = [IsStaffMember]

    def get_queryset(self) -> QuerySet[Submission]:
        cohort = _cohort(self.request, self.kwargs["cohort_id"])
        return _filtered(
            self.request,
            submission_selectors.cohort_submissions(cohort),
            CohortSubmissionFilterSerializer,
        )

    @extend_schema(
        parameters=[CohortSubmissionFilterSerializer],
        summary="Every submission of a cohort, newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
