from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenRefreshView,
    TokenVerifyView,
)

from taller.api import views
from taller.similarity.api import CohortSimilarityView
from taller.web import converters  # noqa: F401 — registers <id:...>

app_name = "api"

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/token/verify/", TokenVerifyView.as_view(), name="token-verify"),
    path("auth/logout/", TokenBlacklistView.as_view(), name="token-logout"),
    path("me/", views.MeView.as_view(), name="me"),
    path("exercises/", views.ExerciseListView.as_view(), name="exercise-list"),
    path("exercises/<slug:slug>/", views.ExerciseDetailView.as_view(), name="exercise-detail"),
    path("submissions/", views.SubmissionListCreateView.as_view(), name="submission-list"),
    path(
        "submissions/<id:submission_id>/",
        views.SubmissionDetailView.as_view(),
        name="submission-detail",
    ),
    path(
        "submissions/<id:submission_id>/regrade/",
        views.SubmissionRegradeView.as_view(),
        name="submission-regrade",
    ),
    path("cohorts/", views.CohortListView.as_view(), name="cohort-list"),
    path("cohorts/<id:cohort_id>/", views.CohortDetailView.as_view(), name="cohort-detail"),
    path(
        "cohorts/<id:cohort_id>/enrollments/",
        views.CohortEnrollmentsView.as_view(),
        name="cohort-enrollments",
    ),
    path(
        "cohorts/<id:cohort_id>/gradebook/",
        views.CohortGradebookView.as_view(),
        name="cohort-gradebook",
    ),
    path(
        "cohorts/<id:cohort_id>/submissions/",
        views.CohortSubmissionsView.as_view(),
        name="cohort-submissions",
    ),
    path(
        "cohorts/<id:cohort_id>/similarity/",
        CohortSimilarityView.as_view(),
        name="cohort-similarity",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Last: whatever else under /api/v1/ is a JSON 404.
    re_path(r"^.*$", views.api_not_found, name="not-found"),
]
