from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from taller.accounts.views import LoginView
from taller.similarity import views as similarity
from taller.teaching import cohort_admin, editing, regrade, reports
from taller.teaching import views as teaching
from taller.web import (
    converters,  # noqa: F401 — registers <id:...>
    join,
    views,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("curso/", views.course_view, name="course"),
    path("ejercicios/<slug:slug>/", views.exercise_view, name="exercise"),
    path(
        "envios/<id:submission_id>/estado/",
        views.submission_status,
        name="submission-status",
    ),
    path("docencia/", teaching.exercises_view, name="teaching"),
    path("docencia/estado/", teaching.status_view, name="teaching-status"),
    path("docencia/plantilla.zip", teaching.template_bundle_view, name="teaching-template-bundle"),
    path("docencia/cohortes/", teaching.cohorts_view, name="teaching-cohorts"),
    path("docencia/cohortes/<id:cohort_id>/", teaching.cohort_view, name="teaching-cohort"),
    path(
        "docencia/cohortes/<id:cohort_id>/calificaciones/",
        reports.gradebook_view,
        name="teaching-gradebook",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/calificaciones.csv",
        reports.gradebook_csv_view,
        name="teaching-gradebook-csv",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/panel/",
        reports.dashboard_view,
        name="teaching-dashboard",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/estudiantes/<id:user_id>/",
        reports.student_view,
        name="teaching-student",
    ),
    path(
        "docencia/cohortes/nueva/", cohort_admin.cohort_create_view, name="teaching-cohort-create"
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/editar/",
        cohort_admin.cohort_edit_view,
        name="teaching-cohort-edit",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/plazos/",
        cohort_admin.cohort_deadlines_view,
        name="teaching-cohort-deadlines",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/inscribir/",
        cohort_admin.cohort_enrol_view,
        name="teaching-cohort-enrol",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/estudiantes/<id:student_id>/baja/",
        cohort_admin.cohort_unenrol_view,
        name="teaching-cohort-unenrol",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/recalificaciones/",
        regrade.cohort_regrades_view,
        name="teaching-regrades",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/recalificaciones/<id:batch_id>/",
        regrade.regrade_batch_view,
        name="teaching-regrade",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/recalificaciones/<id:batch_id>/estado/",
        regrade.regrade_batch_status,
        name="teaching-regrade-status",
    ),
    path("docencia/cohortes/<id:cohort_id>/similitud/", similarity.report_view, name="similarity"),
    path(
        "docencia/cohortes/<id:cohort_id>/similitud/<id:report_id>/estado/",
        similarity.report_status,
        name="similarity-status",
    ),
    path(
        "docencia/cohortes/<id:cohort_id>/similitud/<id:report_id>/pares/<id:pair_id>/",
        similarity.pair_view,
        name="similarity-pair",
    ),
    path(
        "docencia/envios/<id:submission_id>/",
        regrade.staff_submission_view,
        name="teaching-submission",
    ),
    path(
        "docencia/envios/<id:submission_id>/recalificar/",
        regrade.submission_regrade_view,
        name="teaching-submission-regrade",
    ),
    path("unirse/<str:code>/", join.join_view, name="join"),
    path(
        "cuenta/activar/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/activate.html", success_url="/entrar/"
        ),
        name="activate",
    ),
    path("docencia/<slug:slug>/", teaching.exercise_versions_view, name="teaching-exercise"),
    path("docencia/<slug:slug>/editar/", editing.exercise_edit_view, name="teaching-edit"),
    path(
        "docencia/<slug:slug>/versiones/<id:number>/",
        teaching.version_view,
        name="teaching-version",
    ),
    path(
        "docencia/<slug:slug>/versiones/<id:number>/estado/",
        teaching.validation_status_view,
        name="teaching-version-status",
    ),
    path(
        "docencia/<slug:slug>/versiones/<id:number>/paquete.zip",
        teaching.version_download_view,
        name="teaching-version-download",
    ),
    path(
        "docencia/<slug:slug>/versiones/<id:number>/publicar/",
        teaching.publish_view,
        name="teaching-publish",
    ),
    path(
        "entrar/",
        LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("taller.api.urls")),
    path("lti/", include("taller.lti.urls")),
]
