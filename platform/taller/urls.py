from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from taller.teaching import views as teaching
from taller.web import join, views

urlpatterns = [
    path("", views.home, name="home"),
    path("curso/", views.course_view, name="course"),
    path("ejercicios/<slug:slug>/", views.exercise_view, name="exercise"),
    path(
        "envios/<int:submission_id>/estado/",
        views.submission_status,
        name="submission-status",
    ),
    path("docencia/", teaching.exercises_view, name="teaching"),
    path("docencia/estado/", teaching.status_view, name="teaching-status"),
    path("docencia/cohortes/", teaching.cohorts_view, name="teaching-cohorts"),
    path("docencia/cohortes/<int:cohort_id>/", teaching.cohort_view, name="teaching-cohort"),
    path("unirse/<str:code>/", join.join_view, name="join"),
    path(
        "cuenta/activar/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/activate.html", success_url="/entrar/"
        ),
        name="activate",
    ),
    path("docencia/<slug:slug>/", teaching.exercise_versions_view, name="teaching-exercise"),
    path(
        "docencia/<slug:slug>/versiones/<int:number>/publicar/",
        teaching.publish_view,
        name="teaching-publish",
    ),
    path(
        "entrar/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("taller.api.urls")),
]
